"""Interval bounds: exact on affine maps, sound on every model family, and the cascade
that skips certified examples keeps every verdict."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import bounds_helpers
from medadv_jax.attacks import interval_bounds, registry as attack_registry, schedules
from medadv_jax.models.eval_apply import EvalApply

pytestmark = pytest.mark.numerics


class _Linear(nn.Module):
  @nn.compact
  def __call__(self, x, train=False):
    return nn.Dense(3)(x.reshape(x.shape[0], -1))


class _Sine(nn.Module):
  @nn.compact
  def __call__(self, x, train=False):
    return nn.Dense(2)(jnp.sin(x).reshape(x.shape[0], -1))


def _images(n, shape=(8, 8, 1), seed=0):
  return jnp.asarray(np.random.default_rng(seed).uniform(size=(n,) + shape), jnp.float32)


def test_bounds_of_an_affine_model_are_the_exact_extremes_over_the_clipped_box():
  model, x, eps = _Linear(), _images(4), 0.05
  variables = model.init(jax.random.key(0), x)
  lo, hi = interval_bounds.logit_bounds(lambda z: model.apply(variables, z), x, eps)
  w = np.asarray(variables['params']['Dense_0']['kernel'])
  b = np.asarray(variables['params']['Dense_0']['bias'])
  box_lo = np.clip(np.asarray(x) - eps, 0, 1).reshape(4, -1)
  box_hi = np.clip(np.asarray(x) + eps, 0, 1).reshape(4, -1)
  # Each logit is smallest where every pixel sits at the end its weight prefers.
  expected_lo = np.where(w > 0, box_lo[:, :, None], box_hi[:, :, None])
  expected_lo = np.einsum('npk,pk->nk', expected_lo, w) + b
  expected_hi = np.einsum('npk,pk->nk', np.where(w > 0, box_hi[:, :, None],
                                                   box_lo[:, :, None]), w) + b
  np.testing.assert_allclose(lo, expected_lo, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(hi, expected_hi, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('name, shape', [('cnn', (12, 12, 1)), ('cbr_tiny', (16, 16, 3)),
                                         ('resnet8', (16, 16, 3)),
                                         ('resnet18', (32, 32, 3))])
def test_every_point_of_the_ball_lands_inside_the_bounds(name, shape):
  apply_fn = bounds_helpers.perturbed_model(name, shape)
  x = _images(2, shape)
  eps = 0.02
  lo, hi = jax.jit(lambda z: interval_bounds.logit_bounds(apply_fn, z, eps))(x)
  rng = np.random.default_rng(2)
  draws = 20
  # Random points and random corners of the (clipped) ball, all in one batch:
  # eval-mode models treat each example on its own.
  delta = rng.choice([-eps, eps], size=(draws,) + x.shape) * rng.uniform(
      0.5, 1, size=(draws,) + x.shape)
  points = jnp.clip(x[None] + delta, 0, 1).reshape((-1,) + x.shape[1:])
  logits = np.asarray(jax.jit(apply_fn)(points)).reshape((draws,) + lo.shape)
  assert np.all(logits >= lo - 1e-4) and np.all(logits <= hi + 1e-4)
  assert np.all(hi - lo > 0)


def test_unsupported_operations_are_refused():
  model = _Sine()
  x = _images(2)
  variables = model.init(jax.random.key(0), x)
  with pytest.raises(interval_bounds.UnsupportedModel, match='sin'):
    interval_bounds.logit_bounds(lambda z: model.apply(variables, z), x, 0.01)


def _trained_linear():
  """A linear classifier on 8x8 images whose class is the brighter half: clear margins."""
  rng = np.random.default_rng(0)
  labels = (np.arange(64) % 2).astype(np.int32)
  images = rng.uniform(0, 0.5, (64, 8, 8, 1)).astype(np.float32)
  images[labels == 1, :, 4:] += 0.5
  images[labels == 0, :, :4] += 0.5
  model = _Linear()
  w = np.zeros((64, 3), np.float32)
  w[:, 1] = np.tile(np.r_[-np.ones(4), np.ones(4)], 8) / 8
  w[:, 0] = -w[:, 1]
  w[:, 2] = -1.0
  variables = {'params': {'Dense_0': {'kernel': jnp.asarray(w),
                                      'bias': jnp.zeros(3)}}}
  return model, variables, images, labels


def test_certified_examples_are_robust_and_the_cascade_keeps_every_verdict(monkeypatch):
  model, variables, images, labels = _trained_linear()
  apply_fn = EvalApply(model)
  eps = np.array([0.0, 0.01, 0.05, 0.2, 0.4, 0.6], np.float32)
  spec = attack_registry.AttackSpec('pgd', 'untargeted', steps=10, step_size_frac=0.25)
  attacked = []
  correct_at = schedules.correct_at
  monkeypatch.setattr(schedules, 'correct_at', lambda *args: (
      attacked.append(args[5].size), correct_at(*args))[1])
  key = jax.random.key(3)
  with_bounds = schedules.evaluate_cascade(spec, apply_fn, variables, images, labels, eps,
                                           key, 64, certify=True)
  attacked_with_bounds, attacked[:] = sum(attacked), []
  without = schedules.evaluate_cascade(spec, apply_fn, variables, images, labels, eps, key,
                                       64, certify=False)
  looped = schedules.evaluate_looped(spec, apply_fn, variables, images, labels, eps, key, 64)
  np.testing.assert_array_equal(with_bounds, without)
  np.testing.assert_array_equal(with_bounds, np.logical_and.accumulate(looped, axis=0))
  # The curve falls from all correct to none, and the bounds saved real work.
  assert with_bounds[0].all() and not with_bounds[-1].any()
  assert attacked_with_bounds < sum(attacked)
  proven = schedules.certified_at(apply_fn, variables, images, labels,
                                  np.arange(64), 0.05, 64)
  assert proven.mean() > 0.5 and with_bounds[2][proven].all()


def test_cascade_attacks_everything_when_the_model_is_not_covered():
  model = _Sine()
  images, labels = np.asarray(_images(16)), np.zeros(16, np.int32)
  variables = model.init(jax.random.key(0), images)
  spec = attack_registry.AttackSpec('pgd', 'untargeted', steps=3)
  eps = np.array([0.0, 0.01, 0.1], np.float32)
  key = jax.random.key(0)
  assert schedules.certified_at(EvalApply(model), variables, images, labels,
                                np.arange(16), 0.01, 16) is None
  np.testing.assert_array_equal(
      schedules.evaluate_cascade(spec, EvalApply(model), variables, images, labels, eps,
                                 key, 16),
      schedules.evaluate_cascade(spec, EvalApply(model), variables, images, labels, eps,
                                 key, 16, certify=False))
