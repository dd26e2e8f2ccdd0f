"""Attack parts: projections, random starts, per-example keys, losses, success levels."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from medadv_jax.attacks import best_iterate, norms, objectives


def _images(n, shape, seed, low=0.0, high=1.0):
  return jax.random.uniform(jax.random.key(seed), (n, *shape), minval=low, maxval=high)


def test_l2_projection_is_the_nearest_ball_point_and_stays_in_the_box():
  x = _images(6, (3, 3, 1), seed=0, low=0.4, high=0.6)
  delta = jax.random.normal(jax.random.key(1), x.shape)
  eps = jnp.array([0.0, 0.05, 0.1, 0.2, 5.0, 0.3])  # Per-example radii.
  projected = norms.project(x + delta, x, eps, 'l2')
  lengths = np.asarray(norms.l2_norm(projected - x)).ravel()
  assert np.all(lengths <= np.asarray(eps) + 1e-6)
  assert float(jnp.min(projected)) >= 0.0 and float(jnp.max(projected)) <= 1.0
  # Small radii keep x + delta inside the box: the projection is eps * delta / |delta|.
  expected = x + eps[:, None, None, None] * delta / norms.l2_norm(delta)
  np.testing.assert_allclose(np.asarray(projected[:4]), np.asarray(expected[:4]), atol=1e-6)
  # A point already inside the ball is left where it is (up to box clipping).
  inside = x + 0.01 * delta / norms.l2_norm(delta)
  np.testing.assert_allclose(np.asarray(norms.project(inside, x, 0.1, 'l2')),
                             np.asarray(inside), atol=1e-7)


@pytest.mark.parametrize('norm', norms.NORMS)
def test_random_start_is_inside_ball_and_box_and_moves(norm):
  x = _images(16, (4, 4, 1), seed=2)
  eps = 0.1
  keys = norms.example_keys(jax.random.key(3), 16)
  start = norms.random_start(x, eps, keys, norm)
  size = (norms.l2_norm(start - x).ravel() if norm == 'l2'
          else jnp.max(jnp.abs(start - x), axis=(1, 2, 3)))
  assert float(jnp.max(size)) <= eps + 1e-6
  assert float(jnp.min(start)) >= 0.0 and float(jnp.max(start)) <= 1.0
  assert float(jnp.min(jnp.max(jnp.abs(start - x), axis=(1, 2, 3)))) > 0.0
  np.testing.assert_array_equal(np.asarray(norms.random_start(x, 0.0, keys, norm)),
                                np.asarray(x))


def test_an_examples_key_does_not_depend_on_the_batch_size():
  key = jax.random.key(4)
  draw = lambda keys: jax.vmap(lambda k: jax.random.uniform(k, (3,)))(keys)
  np.testing.assert_array_equal(np.asarray(draw(norms.example_keys(key, 7)))[:3],
                                np.asarray(draw(norms.example_keys(key, 3))))
  per_example = norms.example_keys(key, 5)
  assert norms.example_keys(per_example, 5) is per_example


def test_dlr_is_invariant_to_logit_shift_and_scale():
  logits = jax.random.normal(jax.random.key(5), (8, 5))
  y = jnp.arange(8) % 5
  targets = (y + 2) % 5
  for mode, labels in (('untargeted', y), ('least_likely', targets)):
    base = objectives.dlr_objective(logits, y, labels, mode)
    moved = objectives.dlr_objective(3.0 * logits + 7.0, y, labels, mode)
    np.testing.assert_allclose(np.asarray(moved), np.asarray(base), rtol=1e-4, atol=1e-6)


def test_dlr_matches_its_formula_and_falls_back_to_the_margin_when_undefined():
  logits = jnp.array([[4.0, 1.0, 3.0, 0.0]])
  y, target = jnp.array([0]), jnp.array([3])
  # Untargeted: -(z_y - max other) / (z1 - z3) = -(4 - 3) / (4 - 1).
  np.testing.assert_allclose(objectives.dlr_objective(logits, y, y, 'untargeted'), [-1 / 3])
  # Targeted: -(z_y - z_t) / (z1 - (z3 + z4) / 2) = -(4 - 0) / (4 - 0.5).
  np.testing.assert_allclose(objectives.dlr_objective(logits, y, target, 'least_likely'),
                             [-4 / 3.5], rtol=1e-6)
  binary = jnp.array([[2.0, -1.0]])
  np.testing.assert_allclose(objectives.dlr_objective(binary, y, y, 'untargeted'),
                             objectives.margin_objective(binary, y, 'untargeted'))
  three = logits[:, :3]
  np.testing.assert_allclose(
      objectives.dlr_objective(three, y, jnp.array([1]), 'least_likely'),
      objectives.margin_objective(three, jnp.array([1]), 'least_likely'))


def test_margin_is_positive_exactly_when_the_attack_has_succeeded():
  logits = jax.random.normal(jax.random.key(6), (64, 4))
  y = jnp.arange(64) % 4
  targets = (y + 1) % 4
  fooled = np.asarray(jnp.argmax(logits, -1) != y)
  hit = np.asarray(jnp.argmax(logits, -1) == targets)
  np.testing.assert_array_equal(
      np.asarray(objectives.margin_objective(logits, y, 'untargeted') > 0), fooled)
  np.testing.assert_array_equal(
      np.asarray(objectives.margin_objective(logits, targets, 'least_likely') > 0), hit)
  levels = np.asarray(objectives.success_level(logits, y, targets, 'least_likely'))
  np.testing.assert_array_equal(levels, fooled.astype(int) + (fooled & hit).astype(int))


def test_multilabel_correct_needs_every_label_right():
  logits = jnp.array([[2.0, -1.0, 0.5], [2.0, 1.0, 0.5], [-2.0, -1.0, -0.5]])
  y = jnp.array([[1, 0, 1], [1, 0, 1], [0, 0, 0]])
  np.testing.assert_array_equal(np.asarray(objectives.correct(logits, y)), [True, False, True])
  with pytest.raises(ValueError, match='untargeted'):
    objectives.attack_labels(lambda x: x, logits, y, 'least_likely')


def test_best_iterate_keeps_the_first_of_the_highest_level():
  x0 = jnp.zeros((3, 1))
  best = best_iterate.init(x0)
  best = best_iterate.update(best, x0 + 1, jnp.array([1, 0, 2]))
  best = best_iterate.update(best, x0 + 2, jnp.array([1, 1, 1]))
  best = best_iterate.update(best, x0 + 3, jnp.array([2, 1, 2]))
  # Example 0: level 2 first at iterate 3; example 1: level 1 first at 2; example 2:
  # level 2 at iterate 1 (later ties are ignored).
  out = best_iterate.result(best, x0 + 9)
  np.testing.assert_array_equal(np.asarray(out).ravel(), [3, 2, 1])
  never = best_iterate.result(best_iterate.init(x0), x0 + 9)
  np.testing.assert_array_equal(np.asarray(never).ravel(), [9, 9, 9])
