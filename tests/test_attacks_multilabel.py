"""Multi-label (sigmoid) attacks on a logistic model with a closed-form answer.

Label l depends only on row l of a 3x3 image: z_l = w_l . x_l + b_l. The summed
binary cross-entropy then separates by row, so the worst L-inf point moves row l by
eps against the sign of its label's signed logit (2 y_l - 1) z_l, lowering it by
eps ||w_l||_1; the image is fooled (some label flips) once eps exceeds
min_l (2 y_l - 1) z_l / ||w_l||_1.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from medadv_jax.attacks import eps_grid, objectives
from medadv_jax.attacks.registry import AttackSpec

Y = jnp.array([1, 0, 1])  # Every example's labels.
SIGNS = 2.0 * Y - 1.0


def _logistic(signed_margins):
  """Block-diagonal logistic model; `signed_margins` (3,) are (2y - 1) z at x = 0.5."""
  w_rows = jax.random.normal(jax.random.key(0), (3, 3))
  weights = jax.scipy.linalg.block_diag(*[row[:, None] for row in w_rows])  # (9, 3)
  bias = SIGNS * jnp.asarray(signed_margins) - 0.5 * jnp.sum(w_rows, axis=1)
  logits_fn = lambda x: x.reshape(x.shape[0], -1) @ weights + bias
  return logits_fn, w_rows


def _images(n, seed):
  return jax.random.uniform(jax.random.key(seed), (n, 3, 3, 1), minval=0.45, maxval=0.55)


def test_sigmoid_attack_reaches_the_separable_optimum():
  attack = AttackSpec('pgd', steps=20, step_size_frac=0.1)  # The paper's PGD.
  logits_fn, w_rows = _logistic([6.0, 6.0, 6.0])  # Far from flipping: go all the way.
  x = _images(8, seed=1)
  y = jnp.broadcast_to(Y, (8, 3))
  eps = 0.05
  x_adv = jax.jit(lambda x, y: attack(logits_fn, x, y, eps, jax.random.key(2)))(x, y)
  optimum = x - eps * (SIGNS[:, None] * jnp.sign(w_rows))[None, :, :, None]
  np.testing.assert_allclose(np.asarray(x_adv), np.asarray(optimum), atol=1e-6)
  assert bool(jnp.all(objectives.correct(logits_fn(x_adv), y)))


# From the clean image (no random start): the verdict is then a function of eps alone.
@pytest.mark.parametrize('attack', [
    AttackSpec('pgd', steps=10, step_size_frac=0.2, random_start=False),
    AttackSpec('apgd_ce', steps=10, random_start=False)], ids=str)
def test_sigmoid_attack_fools_exactly_above_the_analytic_radius(attack):
  logits_fn, w_rows = _logistic([0.3, 0.6, 0.9])
  x = _images(32, seed=3)
  y = jnp.broadcast_to(Y, (32, 3))
  signed = objectives.signed_logits(logits_fn(x), y)  # (N, 3)
  threshold = np.asarray(jnp.min(signed / jnp.sum(jnp.abs(w_rows), axis=1), axis=1))
  eps = np.linspace(0.0, 1.5 * threshold.max(), 12).astype(np.float32)
  correct = np.asarray(jax.jit(eps_grid.correct_over_eps, static_argnums=(0, 1))(
      attack, logits_fn, x, y, eps, jax.random.key(4)))
  expected = eps[:, None] < threshold[None, :]
  clear = np.abs(eps[:, None] - threshold[None, :]) > 0.02 * threshold[None, :]
  np.testing.assert_array_equal(correct[clear], expected[clear])
  assert correct[0].all() and not correct[-1].any()


def test_square_attacks_sigmoid_outputs_too():
  logits_fn, _ = _logistic([0.3, 0.6, 0.9])
  x = _images(16, seed=5)
  y = jnp.broadcast_to(Y, (16, 3))
  attack = AttackSpec('square', steps=200)
  x_adv = jax.jit(lambda x, y: attack(logits_fn, x, y, 0.3, jax.random.key(6)))(x, y)
  assert float(jnp.max(jnp.abs(x_adv - x))) <= 0.3 + 1e-6
  assert not bool(jnp.any(objectives.correct(logits_fn(x_adv), y)))
