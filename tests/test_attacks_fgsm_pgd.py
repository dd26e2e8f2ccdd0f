"""L-infinity FGSM and PGD (`AttackSpec`): constraints, analytic optima, eps = 0, targets."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from medadv_jax.attacks.registry import AttackSpec

ATTACKS = [
    AttackSpec('fgsm', 'least_likely'),
    AttackSpec('pgd', 'untargeted', steps=20, step_size_frac=0.1),
    AttackSpec('pgd', 'least_likely', steps=5, step_size_frac=0.5, random_start=False),
]


def _linear_model(num_classes, shape, seed, bias=None):
  w = jax.random.normal(jax.random.key(seed), (int(np.prod(shape)), num_classes))
  b = jnp.zeros(num_classes) if bias is None else jnp.asarray(bias, jnp.float32)
  return lambda x: x.reshape(x.shape[0], -1) @ w + b, w


def _images(n, shape, seed, low=0.0, high=1.0):
  return jax.random.uniform(jax.random.key(seed), (n, *shape), minval=low, maxval=high)


@pytest.mark.parametrize('attack', ATTACKS, ids=str)
def test_output_inside_ball_and_box_and_clean_at_eps_zero(attack):
  logits_fn, _ = _linear_model(3, (4, 4, 1), seed=0)
  x = _images(16, (4, 4, 1), seed=1)
  y = jnp.arange(16) % 3
  eps = jnp.array([0.0, 1 / 255, 0.1, 0.5])
  # One compiled program per attack: every radius at once.
  x_adv = jax.jit(jax.vmap(lambda e: attack(logits_fn, x, y, e, jax.random.key(2))))(eps)
  assert x_adv.shape == (4,) + x.shape
  linf = jnp.max(jnp.abs(x_adv - x[None]), axis=(1, 2, 3, 4))
  assert bool(jnp.all(linf <= eps + 1e-6))
  assert float(jnp.min(x_adv)) >= 0.0 and float(jnp.max(x_adv)) <= 1.0
  np.testing.assert_array_equal(np.asarray(x_adv[0]), np.asarray(x))


@pytest.mark.parametrize('attack', ATTACKS, ids=str)
def test_linear_binary_model_reaches_the_analytic_worst_case(attack):
  # For logits z = x W with 2 classes, the margin z_y - z_other is linear in x, so
  # the worst point of the ball moves every pixel by eps against the sign of the
  # margin's gradient. The bias puts every margin near 10, so each example stays
  # correctly classified (the attack must go all the way to the optimum) while the
  # softmax does not saturate to a zero gradient in float32.
  shape = (5, 5, 1)
  _, w = _linear_model(2, shape, seed=6)
  margin_grad = (w[:, 0] - w[:, 1])
  bias = jnp.array([10.0 - 0.5 * float(jnp.sum(margin_grad)), 0.0])
  logits_fn = lambda x: x.reshape(x.shape[0], -1) @ w + bias
  x = _images(10, shape, seed=7, low=0.45, high=0.55)
  y = jnp.zeros(10, jnp.int32)
  eps = 0.05
  optimum = jnp.clip(x - eps * jnp.sign(margin_grad.reshape(shape)), 0.0, 1.0)
  x_adv = jax.jit(lambda x: attack(logits_fn, x, y, eps, jax.random.key(8)))(x)
  np.testing.assert_allclose(np.asarray(x_adv), np.asarray(optimum), atol=1e-6)
  # The worst-case margin of a linear model is the clean margin minus eps * ||grad||_1.
  margin = lambda images: (logits_fn(images)[:, 0] - logits_fn(images)[:, 1])
  np.testing.assert_allclose(np.asarray(margin(x_adv)),
                             np.asarray(margin(x) - eps * jnp.sum(jnp.abs(margin_grad))),
                             rtol=1e-4)


def test_pgd_returns_the_first_fooling_iterate_when_the_model_is_fooled():
  # Without bias the linear model is fooled inside a large ball; the result must
  # be misclassified even though later iterates are not tracked.
  logits_fn, _ = _linear_model(2, (6, 6, 1), seed=9)
  x = _images(32, (6, 6, 1), seed=10)
  y = jnp.argmax(logits_fn(x), -1)
  attack = AttackSpec('pgd', steps=10, step_size_frac=0.25, random_start=False)
  x_adv = jax.jit(lambda x, y: attack(logits_fn, x, y, 0.5, jax.random.key(11)))(x, y)
  assert float(jnp.mean(jnp.argmax(logits_fn(x_adv), -1) == y)) == 0.0


def test_least_likely_target_is_pulled_towards_on_three_classes():
  # Class 2 is least likely everywhere; targeting it must raise its logit.
  w = jnp.zeros((4, 3)).at[:, 0].set(1.0).at[:, 2].set(-1.0)
  logits_fn = lambda x: x.reshape(x.shape[0], -1) @ w
  x = jnp.full((2, 2, 2, 1), 0.5)
  y = jnp.zeros(2, jnp.int32)
  x_adv = AttackSpec('fgsm', 'least_likely')(logits_fn, x, y, 0.1, jax.random.key(0))
  assert bool(jnp.all(logits_fn(x_adv)[:, 2] > logits_fn(x)[:, 2]))
  np.testing.assert_allclose(np.asarray(x_adv), 0.4, atol=1e-6)
