"""Linear bounds: exact on affine models and at radius 0, sound on every family they
cover, at least as strong as intervals, and used by the cascade only where they pay."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import bounds_helpers
from medadv_jax.attacks import (interval_bounds, linear_bounds, registry as attack_registry,
                                schedules)
from medadv_jax.models.eval_apply import EvalApply

pytestmark = pytest.mark.numerics


class _Linear(nn.Module):
  @nn.compact
  def __call__(self, x, train=False):
    return nn.Dense(3)(x.reshape(x.shape[0], -1))


def _images(n, shape, seed=0):
  return jnp.asarray(np.random.default_rng(seed).uniform(size=(n,) + shape), jnp.float32)


def _margins(logits, specs):
  return jnp.einsum('nsk,nk->ns', specs, logits)


def test_an_affine_model_gets_the_exact_smallest_margin_where_intervals_are_loose():
  model, x, eps = _Linear(), _images(4, (6, 6, 1)), 0.05
  variables = model.init(jax.random.key(0), x)
  apply_fn = lambda z: model.apply(variables, z)
  y = jnp.argmax(apply_fn(x), -1)
  specs = linear_bounds.margin_specs(y, 3)
  lower = linear_bounds.margin_lower_bounds(apply_fn, x, specs, eps)
  # The margin (w_y - w_j) . x + b_y - b_j is smallest with every pixel at the end
  # of the clipped box its weight dislikes.
  w = np.asarray(variables['params']['Dense_0']['kernel'])
  b = np.asarray(variables['params']['Dense_0']['bias'])
  direction = np.einsum('nsk,pk->nsp', np.asarray(specs), w)
  box_lo = np.clip(np.asarray(x) - eps, 0, 1).reshape(4, 1, -1)
  box_hi = np.clip(np.asarray(x) + eps, 0, 1).reshape(4, 1, -1)
  expected = (np.sum(np.where(direction > 0, box_lo, box_hi) * direction, -1)
              + np.einsum('nsk,k->ns', np.asarray(specs), b))
  np.testing.assert_allclose(lower, expected, rtol=1e-5, atol=1e-5)
  # Intervals bound the two logits separately: strictly looser on the margin.
  lo, hi = interval_bounds.logit_bounds(apply_fn, x, eps)
  others = (np.asarray(y)[:, None] + 1 + np.arange(2)) % 3
  by_intervals = (np.take_along_axis(np.asarray(lo), np.asarray(y)[:, None], 1)
                  - np.take_along_axis(np.asarray(hi), others, 1))
  assert np.all(by_intervals < expected - 1e-3)


def test_multi_label_specs_bound_each_signed_logit_exactly_on_an_affine_model():
  model, x, eps = _Linear(), _images(4, (6, 6, 1), seed=3), 0.05
  variables = model.init(jax.random.key(1), x)
  apply_fn = lambda z: model.apply(variables, z)
  labels = (apply_fn(x) > 0).astype(jnp.int32)  # (N, L): every label right at x.
  lower = linear_bounds.margin_lower_bounds(apply_fn, x, linear_bounds.margin_specs(labels, 3),
                                            eps)
  # sign * logit_l is smallest with each pixel at the end its signed weight dislikes.
  w = np.asarray(variables['params']['Dense_0']['kernel'])
  b = np.asarray(variables['params']['Dense_0']['bias'])
  sign = np.where(np.asarray(labels) > 0, 1.0, -1.0)  # (N, L)
  direction = sign[:, None, :] * w[None]  # (N, P, L)
  box_lo = np.clip(np.asarray(x) - eps, 0, 1).reshape(4, -1, 1)
  box_hi = np.clip(np.asarray(x) + eps, 0, 1).reshape(4, -1, 1)
  expected = np.sum(np.where(direction > 0, box_lo, box_hi) * direction, 1) + sign * b
  np.testing.assert_allclose(lower, expected, rtol=1e-5, atol=1e-5)
  proven = np.asarray(linear_bounds.certified(apply_fn, x, labels, eps))
  assert np.all(np.all(expected > 0, -1)[proven])  # Never where a label can flip.


# cnn on 6 x 6 images: its last 3 x 3 convolution sees a 1 x 1 map, which
# fast_conv_gradient pads explicitly behind an optimisation barrier.
@pytest.mark.parametrize('name, shape', [('reference', (28, 28, 1)), ('cnn', (12, 12, 1)),
                                         ('cnn', (6, 6, 1)), ('resnet8', (16, 16, 3))])
def test_bounds_are_exact_at_radius_zero_and_below_every_point_of_the_ball(name, shape):
  apply_fn = bounds_helpers.perturbed_model(name, shape)
  x = _images(2, shape, seed=5)
  y = jnp.argmax(apply_fn(x), -1)
  specs = linear_bounds.margin_specs(y, 3)
  bound = jax.jit(lambda z, e: linear_bounds.margin_lower_bounds(apply_fn, z, specs, e))
  # A ball of radius 0 is one point: every relaxation is exact there, so any
  # error in a transpose or a sign would show.
  np.testing.assert_allclose(bound(x, 0.0), _margins(apply_fn(x), specs),
                             rtol=1e-4, atol=1e-4)
  eps = 0.02
  lower = np.asarray(bound(x, eps))
  rng = np.random.default_rng(2)
  draws = 20
  delta = rng.choice([-eps, eps], size=(draws,) + x.shape) * rng.uniform(
      0.5, 1, size=(draws,) + x.shape)
  points = jnp.clip(x[None] + delta, 0, 1).reshape((-1,) + x.shape[1:])
  sampled = _margins(jax.jit(apply_fn)(points), jnp.tile(specs, (draws, 1, 1)))
  sampled = np.asarray(sampled).reshape((draws,) + lower.shape)
  assert np.all(sampled >= lower - 1e-4)
  # A PGD attack on each margin gets closer to the minimum than random points,
  # and still never below the bound.
  attack = attack_registry.AttackSpec('pgd', 'untargeted', steps=20, step_size_frac=0.1)
  x_adv = attack(apply_fn, x, y, eps, jax.random.key(0))
  assert np.all(np.asarray(_margins(apply_fn(x_adv), specs)) >= lower - 1e-4)


def test_certificates_include_every_interval_certificate_and_more():
  apply_fn = bounds_helpers.perturbed_model('reference', (28, 28, 1), classes=2)
  x = _images(16, (28, 28, 1), seed=7)
  y = jnp.argmax(apply_fn(x), -1)
  counts = []
  for eps in (0.0005, 0.002, 0.01):
    by_intervals = np.asarray(interval_bounds.certified(apply_fn, x, y, eps))
    both = np.asarray(linear_bounds.certified(apply_fn, x, y, eps))
    assert np.all(both[by_intervals])
    counts.append((by_intervals.sum(), both.sum()))
  assert any(linear > intervals for intervals, linear in counts), counts


def test_models_with_uncovered_operations_fall_back_to_intervals():
  # CBR pools over overlapping 3x3 windows, which has no linear rule here.
  apply_fn = bounds_helpers.perturbed_model('cbr_tiny', (16, 16, 3))
  x = _images(4, (16, 16, 3), seed=1)
  y = jnp.argmax(apply_fn(x), -1)
  specs = linear_bounds.margin_specs(y, 3)
  with pytest.raises(interval_bounds.UnsupportedModel, match='reduce_window_max'):
    linear_bounds.margin_lower_bounds(apply_fn, x, specs, 0.001)
  np.testing.assert_array_equal(linear_bounds.certified(apply_fn, x, y, 0.001),
                                interval_bounds.certified(apply_fn, x, y, 0.001))


def test_certifying_is_worth_it_only_where_the_bisection_costs_little():
  # 29 radii: 5 bisection passes x 3.5 steps = 17.5 steps per example, at most
  # 1/8 of the attack steps of the whole curve.
  spec = attack_registry.AttackSpec
  assert schedules.worth_certifying(spec('pgd', steps=20), 29)
  assert schedules.worth_certifying(spec('pgd', steps=5), 29)  # 17.5 <= 18.1
  assert not schedules.worth_certifying(spec('pgd', steps=4), 29)  # 17.5 > 14.5
  assert not schedules.worth_certifying(spec('fgsm'), 29)
  assert schedules.worth_certifying(spec('pgd', steps=1, restarts=5), 29)
  assert not schedules.worth_certifying(spec('pgd', steps=1, restarts=4), 29)


def test_bisection_finds_the_largest_certified_radius_when_bounds_are_monotone():
  # On an affine model the bound is exact, so certification is monotone in the
  # radius and bisection must agree with trying every radius.
  model, x = _Linear(), _images(24, (6, 6, 1), seed=4)
  variables = model.init(jax.random.key(2), x)
  apply_fn = EvalApply(model)
  labels = np.asarray(jnp.argmax(apply_fn(variables, x), -1)).astype(np.int32)
  radii = np.linspace(0, 0.1, 21).astype(np.float32)
  indices = np.arange(24)
  every = np.stack([schedules.certified_at(apply_fn, variables, np.asarray(x), labels,
                                           indices, r, 32) for r in radii])
  expected = np.where(every.any(0), radii.size - 1 - np.argmax(every[::-1], 0), -1)
  assert np.all(every[0]) and 0 < every.mean() < 1  # Some proven far, some not.
  reach = schedules.certified_reach(apply_fn, variables, np.asarray(x), labels, indices,
                                    radii, 32)
  np.testing.assert_array_equal(reach, expected)


def test_bisection_pads_every_pass_to_one_shape_that_fits_all_examples(monkeypatch):
  # One compiled shape for every pass, however few examples a pass has left:
  # 37 examples at most 32 per program go as 2 chunks of 32; with room for all,
  # as one call of 48, not three of 16 (and 523 examples as one call of 528,
  # not three of 256: 245 padded examples certified in vain).
  model, x = _Linear(), _images(37, (6, 6, 1), seed=5)
  variables = model.init(jax.random.key(3), x)
  apply_fn = EvalApply(model)
  labels = np.asarray(jnp.argmax(apply_fn(variables, x), -1)).astype(np.int32)
  sizes, certify = [], schedules._certified_jit
  monkeypatch.setattr(schedules, '_certified_jit',
                      lambda *args: sizes.append(args[2].shape[0]) or certify(*args))
  schedules.certified_reach(apply_fn, variables, np.asarray(x), labels, np.arange(37),
                            np.linspace(0, 0.1, 21).astype(np.float32), 32)
  assert len(sizes) > 2 and set(sizes) == {32}
  sizes.clear()
  schedules.certified_reach(apply_fn, variables, np.asarray(x), labels, np.arange(37),
                            np.linspace(0, 0.1, 21).astype(np.float32), 1024)
  assert set(sizes) == {48}  # 37 rounded up to a multiple of MIN_BUCKET (16).
