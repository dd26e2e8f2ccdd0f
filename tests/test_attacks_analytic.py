"""Every evaluation attack on cases with known answers: constraints, closed-form optima
of linear models under L-inf and L2, and targets reached exactly where reachable."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from medadv_jax.attacks import apgd, norms, pgd
from medadv_jax.attacks.registry import AttackSpec

pytestmark = pytest.mark.numerics

SHAPE = (3, 3, 1)
# FGSM and PGD are checked in test_attacks_fgsm_pgd.py; restarts return one of their
# runs' outputs (test_restarts_never_make_an_attack_weaker).
CONSTRAINED = [
    AttackSpec('pgd_l2', 'least_likely', steps=10, step_size_frac=0.25, eps_scale=2.0),
    AttackSpec('apgd_ce', 'untargeted', steps=8),
    AttackSpec('apgd_dlr', 'least_likely', steps=8),
    AttackSpec('square', 'least_likely', steps=30),
    AttackSpec('fab', 'top2', steps=10),
]
# Attacks that must reach the L-inf optimum of a linear model exactly (FGSM and the
# paper's PGD are checked on the same case in test_attacks_fgsm_pgd.py).
LINF_OPTIMAL = [
    AttackSpec('apgd_ce', steps=10),
    AttackSpec('apgd_dlr', steps=10),  # Binary: the margin loss.
    AttackSpec('square', steps=400),
]


def _jit(attack, logits_fn):
  """One compiled program per attack and model; eps and key are traced arguments."""
  return jax.jit(lambda x, y, eps, key: attack(logits_fn, x, y, eps, key))


def _images(n, seed, low=0.45, high=0.55):
  return jax.random.uniform(jax.random.key(seed), (n, *SHAPE), minval=low, maxval=high)


def _mlp(num_classes=3, seed=0):
  """A small nonlinear classifier, so the attacks do not all take one path."""
  k1, k2 = jax.random.split(jax.random.key(seed))
  w1 = jax.random.normal(k1, (int(np.prod(SHAPE)), 8))
  w2 = jax.random.normal(k2, (8, num_classes))
  return lambda x: jnp.tanh(4.0 * (x.reshape(x.shape[0], -1) - 0.5) @ w1) @ w2


@pytest.mark.parametrize('attack', CONSTRAINED, ids=str)
def test_every_attack_stays_in_its_ball_and_the_box_and_is_exact_at_eps_zero(attack):
  logits_fn = _mlp()
  x = _images(12, seed=1, low=0.0, high=1.0)
  y = jnp.argmax(logits_fn(x), -1)
  eps = jnp.array([0.0, 0.05, 0.3, 1.0])
  x_adv = jax.jit(jax.vmap(lambda e: attack(logits_fn, x, y, e, jax.random.key(2))))(eps)
  delta = x_adv - x[None]
  if attack.norm == 'l2':
    size = jnp.sqrt(jnp.sum(delta ** 2, axis=(2, 3, 4)))
  else:
    size = jnp.max(jnp.abs(delta), axis=(2, 3, 4))
  radius = attack.eps_scale * eps[:, None]
  assert bool(jnp.all(size <= radius + 1e-6))
  assert float(jnp.min(x_adv)) >= 0.0 and float(jnp.max(x_adv)) <= 1.0
  np.testing.assert_array_equal(np.asarray(x_adv[0]), np.asarray(x))
  assert float(jnp.mean(jnp.argmax(logits_fn(x_adv[-1]), -1) == y)) < 1.0  # It attacks.


def _linear_binary(seed=6, margin=10.0):
  """Logits of a linear 2-class model whose margin z_0 - z_1 is `margin` at x = 0.5:
  large enough that no point of a small ball is misclassified (so the attack has to go
  all the way to the optimum), small enough that the softmax gradient is not zero."""
  w = jax.random.normal(jax.random.key(seed), (int(np.prod(SHAPE)), 2))
  g = w[:, 0] - w[:, 1]
  bias = jnp.array([margin - 0.5 * float(jnp.sum(g)), 0.0])
  logits_fn = lambda x: x.reshape(x.shape[0], -1) @ w + bias
  margin_fn = lambda x: logits_fn(x)[:, 0] - logits_fn(x)[:, 1]
  return logits_fn, margin_fn, g.reshape(SHAPE)


@pytest.mark.parametrize('attack', LINF_OPTIMAL, ids=str)
def test_linear_model_linf_optimum_is_reached_exactly(attack):
  # The worst point of the L-inf ball moves every pixel by eps against the sign of
  # the margin's gradient, lowering the margin by eps * ||g||_1.
  logits_fn, margin_fn, g = _linear_binary()
  x = _images(10, seed=7)
  y = jnp.zeros(10, jnp.int32)
  eps = 0.05
  x_adv = _jit(attack, logits_fn)(x, y, eps, jax.random.key(8))
  np.testing.assert_allclose(np.asarray(x_adv), np.asarray(x - eps * jnp.sign(g)), atol=1e-6)
  np.testing.assert_allclose(np.asarray(margin_fn(x_adv)),
                             np.asarray(margin_fn(x) - eps * jnp.sum(jnp.abs(g))), rtol=1e-4)


def test_linear_model_l2_optimum_is_reached():
  # Under L2 the worst point is x - eps g / ||g||_2, lowering the margin by eps ||g||_2.
  # A margin of 3 keeps the softmax gradient's direction exact in float32 (at 10, the
  # rounding of 1 - p moves the L2 step's direction by ~1e-3).
  logits_fn, margin_fn, g = _linear_binary(margin=3.0)
  x = _images(10, seed=9)
  y = jnp.zeros(10, jnp.int32)
  eps = 0.05
  optimum = x - eps * g / jnp.linalg.norm(g)
  exact = {
      'fgm': jax.jit(lambda x, y: pgd.fgsm(logits_fn, x, y, eps, jax.random.key(0),
                                           norm='l2'))(x, y),
      'pgd_l2': _jit(AttackSpec('pgd_l2', steps=20, step_size_frac=0.1, random_start=False),
                     logits_fn)(x, y, eps, jax.random.key(0)),
  }
  for name, x_adv in exact.items():
    np.testing.assert_allclose(np.asarray(x_adv), np.asarray(optimum), atol=1e-6, err_msg=name)
  # APGD from a random start: its large early steps rotate onto the optimum.
  x_adv = jax.jit(lambda x, y: apgd.apgd(logits_fn, x, y, eps, jax.random.key(1), steps=20,
                                         norm='l2'))(x, y)
  np.testing.assert_allclose(np.asarray(margin_fn(x_adv)),
                             np.asarray(margin_fn(optimum)), rtol=1e-4)
  assert float(jnp.max(norms.l2_norm(x_adv - x))) <= eps + 1e-6


def _one_movable_class():
  """4 classes; only the least likely one (3) depends on x: z_3 = w . (x - 0.5) - 0.5,
  the others are constants 1, 0.5, 0.25. The target is reached exactly when
  eps ||w||_1 > 1.5 - w . (x - 0.5), which also is the only way to fool the model."""
  w = jax.random.normal(jax.random.key(11), (int(np.prod(SHAPE)),))
  def logits_fn(x):
    moving = (x.reshape(x.shape[0], -1) - 0.5) @ w - 0.5
    return jnp.stack([jnp.full_like(moving, 1.0), jnp.full_like(moving, 0.5),
                      jnp.full_like(moving, 0.25), moving], axis=-1)
  threshold = lambda x: (1.5 - (x.reshape(x.shape[0], -1) - 0.5) @ w) / jnp.sum(jnp.abs(w))
  return logits_fn, threshold


@pytest.mark.parametrize('attack', [
    AttackSpec('pgd', 'least_likely', steps=20, step_size_frac=0.1),
    AttackSpec('apgd_ce', 'least_likely', steps=10),
    AttackSpec('apgd_dlr', 'least_likely', steps=10),  # 4 classes: the targeted DLR.
    AttackSpec('square', 'least_likely', steps=400),
], ids=str)
def test_targeted_attack_reaches_the_least_likely_class_exactly_when_reachable(attack):
  logits_fn, threshold = _one_movable_class()
  x = _images(10, seed=12)
  y = jnp.zeros(10, jnp.int32)
  assert bool(jnp.all(jnp.argmin(logits_fn(x), -1) == 3))
  limits = threshold(x)
  run = _jit(attack, logits_fn)
  above = run(x, y, 1.05 * jnp.max(limits), jax.random.key(13))
  below = run(x, y, 0.95 * jnp.min(limits), jax.random.key(13))
  np.testing.assert_array_equal(np.asarray(jnp.argmax(logits_fn(above), -1)), 3)
  np.testing.assert_array_equal(np.asarray(jnp.argmax(logits_fn(below), -1)), 0)


def test_restarts_never_make_an_attack_weaker():
  # Restart 0 reuses the attack's own keys, so k restarts contain the single run.
  logits_fn = _mlp(seed=3)
  x = _images(64, seed=14, low=0.0, high=1.0)
  y = jnp.argmax(logits_fn(x), -1)
  fooled = {}
  for restarts in (1, 4):
    attack = AttackSpec('pgd', steps=3, step_size_frac=0.3, restarts=restarts)
    x_adv = _jit(attack, logits_fn)(x, y, 0.08, jax.random.key(15))
    fooled[restarts] = np.asarray(jnp.argmax(logits_fn(x_adv), -1) != y)
  assert np.all(fooled[4] >= fooled[1])
  assert fooled[4].sum() > fooled[1].sum()  # Here restarts find more.
