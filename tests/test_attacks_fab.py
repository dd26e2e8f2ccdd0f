"""FAB (minimum-norm, L-inf) against known answers: its projection against a
linear program solved by scipy, its radii against the closed form of linear
models, and its robust accuracy on a trained cnn against targeted APGD-DLR's."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import optimize

from medadv_jax.attacks import fab, schedules
from medadv_jax.attacks.registry import AttackSpec
from medadv_jax.intervals import wilson_interval

SHAPE = (3, 3, 1)
D = int(np.prod(SHAPE))


def _lp_radius(t, w, b):
  """Smallest r with |d| <= r, w . (t + d) = b, 0 <= t + d <= 1 (variables d, r)."""
  n = t.size
  cost = np.r_[np.zeros(n), 1.0]
  upper = np.block([[np.eye(n), -np.ones((n, 1))], [-np.eye(n), -np.ones((n, 1))]])
  bounds = [(-ti, 1.0 - ti) for ti in t] + [(0, None)]
  result = optimize.linprog(cost, A_ub=upper, b_ub=np.zeros(2 * n),
                            A_eq=np.r_[w, 0.0][None], b_eq=[b - w @ t], bounds=bounds)
  return result.fun if result.status == 0 else None


def test_projection_is_the_smallest_linf_step_to_the_plane_inside_the_box():
  rng = np.random.default_rng(0)
  t = rng.uniform(0, 1, (40, 12))
  w = rng.normal(size=(40, 12)) * (rng.uniform(size=(40, 12)) > 0.2)  # Some zero weights.
  b = (w * t).sum(1) + rng.normal(scale=1.5, size=40)
  d = np.asarray(jax.jit(fab.project_to_hyperplane)(t, w, b))
  assert np.all(t + d >= -1e-6) and np.all(t + d <= 1 + 1e-6)
  reachable = 0
  for i in range(40):
    radius = _lp_radius(t[i], w[i], b[i])
    if radius is None:  # Out of reach: every coordinate at its box side towards the plane.
      gap = b[i] - w[i] @ t[i]
      corner = np.where(np.sign(gap) * w[i] > 0, 1.0, np.where(np.sign(gap) * w[i] < 0, 0.0, t[i]))
      np.testing.assert_allclose(t[i] + d[i], corner, atol=1e-5)
      continue
    reachable += 1
    np.testing.assert_allclose(w[i] @ (t[i] + d[i]), b[i], atol=1e-4)
    np.testing.assert_allclose(np.abs(d[i]).max(), radius, rtol=1e-4, atol=1e-6)
  assert 10 < reachable < 40  # Both branches were tested.


def _linear(num_classes, seed):
  """Linear logits W x + c with clean margins of a few units at x = 0.5."""
  key_w, key_c = jax.random.split(jax.random.key(seed))
  w = jax.random.normal(key_w, (D, num_classes))
  c = jnp.r_[3.0, jax.random.uniform(key_c, (num_classes - 1,), maxval=1.0)]
  c = c - 0.5 * jnp.sum(w, axis=0)
  return lambda x: x.reshape(x.shape[0], -1) @ w + c, w


def _closed_form_radius(w, logits, y):
  """min over j != y of (z_y - z_j) / ||w_y - w_j||_1: the smallest L-inf step that
  lets some class overtake y, where the box does not bind."""
  gaps = logits[:, [y]] - logits
  norms_ = np.abs(w[:, [y]] - w).sum(0)
  ratio = gaps / np.where(norms_ > 0, norms_, np.inf)
  ratio[:, y] = np.inf
  return ratio.min(1)


@pytest.mark.parametrize('num_classes', [2, 4])
def test_smallest_radius_of_a_linear_model_within_one_percent(num_classes):
  logits_fn, w = _linear(num_classes, seed=num_classes)
  x = jax.random.uniform(jax.random.key(5), (16, *SHAPE), minval=0.45, maxval=0.55)
  y = jnp.zeros(16, jnp.int32)
  logits = np.asarray(logits_fn(x))
  assert np.all(logits.argmax(1) == 0)
  exact = _closed_form_radius(np.asarray(w), logits, 0)
  assert np.all(exact < 0.4)  # The box does not bind.
  run = jax.jit(lambda x, y, target: fab.fab(logits_fn, x, y, jax.random.key(0), steps=20,
                                              target_mode=target), static_argnums=2)
  radii = []
  for rank in range(2, num_classes + 1):  # FAB-T: every other class as a target.
    x_adv, radius = run(x, y, f'top{rank}')
    assert bool(jnp.all(jnp.argmax(logits_fn(x_adv), -1) != y))
    np.testing.assert_allclose(np.asarray(jnp.max(jnp.abs(x_adv - x), axis=(1, 2, 3))),
                               np.asarray(radius), rtol=1e-6)
    radii.append(np.asarray(radius))
  found = np.min(radii, axis=0)
  assert np.all(found >= exact * (1 - 1e-4))  # Sound: no point closer than the optimum.
  assert np.all(found <= exact * 1.01)
  _, untargeted = run(x, y, 'untargeted')
  assert np.all(np.asarray(untargeted) <= exact * 1.01)


def test_clean_misclassified_images_have_radius_zero_and_fixed_radius_use_projects():
  logits_fn, _ = _linear(3, seed=1)
  x = jax.random.uniform(jax.random.key(2), (8, *SHAPE), minval=0.45, maxval=0.55)
  y = jnp.r_[jnp.zeros(4, jnp.int32), jnp.ones(4, jnp.int32)]  # The last 4 are wrong.
  x_adv, radius = fab.fab(logits_fn, x, y, jax.random.key(0), steps=10, target_mode='top2')
  np.testing.assert_array_equal(np.asarray(radius[4:]), 0.0)
  np.testing.assert_array_equal(np.asarray(x_adv[4:]), np.asarray(x[4:]))
  spec = AttackSpec('fab', 'top2', steps=10, random_start=False)
  small = 0.5 * np.asarray(radius[:4]).min()
  inside = spec(logits_fn, x, y, small, jax.random.key(0))
  assert float(jnp.max(jnp.abs(inside - x))) <= small + 1e-7


def test_on_a_trained_cnn_fab_t_matches_targeted_apgd_dlr(tmp_path_factory):
  import trained_models  # Trains a model: only this test pays for it.
  dataset, (images, labels) = trained_models.pneumonia()
  apply_fn, variables = trained_models.trained('cnn', 0.25, 'standard', 1,
                                               tmp_path_factory.mktemp('run'), dataset)
  images, labels = images[::2], labels[::2]  # 100 images, both classes.
  radius = np.array([3.0 / 255], np.float32)
  key = jax.random.key(4)
  verdict = {name: schedules.evaluate('loop', spec, apply_fn, variables, images, labels,
                                      radius, key, 128)[0]
             for name, spec in (('fab', AttackSpec('fab', 'top2', steps=30,
                                                   random_start=False)),
                                ('apgd', AttackSpec('apgd_dlr', 'top2', steps=30)))}
  n = labels.size
  low, high = wilson_interval(int(verdict['apgd'].sum()), n)
  accuracy = verdict['fab'].mean()
  assert low - 1e-12 <= accuracy <= high + 1e-12, (accuracy, low, high)
  clean = np.mean(
      np.asarray(apply_fn(variables, images)).argmax(1) == labels)
  assert accuracy < clean - 0.05  # The radius is one where attacks do fool.


def test_fab_on_a_multi_label_study_is_refused_in_one_line():
  from medadv_jax.errors import ConfigError
  from medadv_jax.study import config_validation
  from training_helpers import default_config
  config = default_config('smoke')
  config.data.name, config.attack.targets = 'chestmnist', ('untargeted',)
  config.attack.names = ('pgd', 'fab')
  with pytest.raises(ConfigError) as error:
    config_validation.validate(config)
  assert 'attack.names' in str(error.value) and 'multi-label' in str(error.value)
  config.data.name = 'pneumoniamnist'
  config_validation.validate(config)  # Single-label: allowed.
