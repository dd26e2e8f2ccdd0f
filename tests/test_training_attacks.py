"""Training attacks on a linear model, where the maximiser is known, and the TRADES step."""

import jax
import jax.numpy as jnp
import numpy as np
import optax

from medadv_jax.attacks import norms
from medadv_jax.data import augment as augment_lib
from medadv_jax.runtime import devices
from medadv_jax.training import attacks, steps, train_state
from training_helpers import MODEL, synthetic_dataset, train_config

EPS = 0.05
W = jnp.array([1.0, -2.0, 0.5, -0.25]).reshape(1, 2, 2, 1)


def _linear_logits(x):
  """Class-1 logit w.x, class-0 logit 0: the loss of label 0 grows along +w."""
  score = jnp.sum(x * W, axis=(1, 2, 3))
  return jnp.stack([jnp.zeros_like(score), score], axis=-1)


def _images(n=3):
  # Away from 0 and 1, so the eps-ball is not clipped.
  return jax.random.uniform(jax.random.key(0), (n, 2, 2, 1), minval=0.2, maxval=0.8)


def test_madry_pgd_ends_at_the_corner_that_maximises_the_loss():
  x, y = _images(), jnp.zeros(3, jnp.int32)
  x_adv = attacks.madry_pgd(_linear_logits, x, y, EPS, jax.random.key(1), steps=4,
                            step_size_frac=0.5)
  np.testing.assert_array_equal(
      x_adv, norms.project(x + 2 * EPS * jnp.sign(W), x, EPS, 'linf'))


def test_fgsm_rs_moves_each_pixel_at_least_a_quarter_eps_uphill_and_stays_in_the_ball():
  x, y = _images(64), jnp.zeros(64, jnp.int32)
  x_adv = attacks.fgsm_rs(_linear_logits, x, y, EPS, jax.random.key(2), step_size_frac=1.25)
  assert jnp.all(jnp.abs(x_adv - x) <= EPS + 1e-7)
  # Start anywhere in [-eps, eps], step 1.25 eps uphill: at least 0.25 eps uphill.
  assert jnp.all((x_adv - x) * jnp.sign(W) >= 0.25 * EPS - 1e-6)
  # The random start matters: not every image lands on the corner.
  assert not jnp.allclose(x_adv, x + EPS * jnp.sign(W))


def test_trades_attack_ends_on_a_corner_along_w():
  # KL to the clean prediction grows with |w.(x' - x)| in either direction.
  x = _images()
  x_adv = attacks.trades_kl_attack(_linear_logits, x, EPS, jax.random.key(3), steps=5,
                                   step_size_frac=0.5)
  delta_sign = jnp.sign(jnp.sum((x_adv - x) * W, axis=(1, 2, 3)))
  expected = x + EPS * delta_sign[:, None, None, None] * jnp.sign(W)
  np.testing.assert_allclose(x_adv, expected, atol=1e-7)
  assert jnp.all(delta_sign != 0)


def test_trades_with_beta_zero_takes_the_standard_step():
  # With beta = 0 only CE on the clean batch is left: same gradient, same parameters
  # (the running BatchNorm statistics differ, having also seen the attacked batch).
  config = train_config(1, adv__trades_beta=0.0)
  data, mesh = synthetic_dataset(), devices.data_mesh()
  schedule = optax.constant_schedule(3e-3)
  params = {}
  for mode in ('standard', 'trades'):
    state = train_state.create_train_state(MODEL, optax.adam(schedule), (8, 8, 1),
                                           jax.random.key(0))
    step = steps.make_train_step(mode, config, schedule, mesh, steps_per_epoch=6)
    state, _ = step(devices.replicate(state, mesh), data.train_images[:16],
                    data.train_labels[:16], jax.random.key(4))
    params[mode] = state.params
  for a, b in zip(jax.tree_util.tree_leaves(params['standard']),
                  jax.tree_util.tree_leaves(params['trades']), strict=True):
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_bn_mode_decides_whether_examples_see_each_other_while_attacked():
  state = train_state.create_train_state(MODEL, optax.adam(1e-3), (8, 8, 1),
                                         jax.random.key(0))
  x = synthetic_dataset().train_images[:8]
  for bn_mode, independent in (('running', True), ('batch', False)):
    logits_fn = steps.attack_logits_fn(state, bn_mode)
    alone, in_batch = logits_fn(x[:2]), logits_fn(x)[:2]
    assert np.allclose(alone, in_batch, atol=1e-6) == independent, bn_mode


def _one_step_params(images, labels, augment_settings):
  config, mesh = train_config(1), devices.data_mesh()
  schedule = optax.constant_schedule(3e-3)
  state = train_state.create_train_state(MODEL, optax.adam(schedule), (8, 8, 1),
                                         jax.random.key(0))
  step = steps.make_train_step('pgd', config, schedule, mesh, steps_per_epoch=6,
                               augment=augment_settings)
  state, _ = step(devices.replicate(state, mesh), images, labels, jax.random.key(4))
  return jax.tree_util.tree_leaves(state.params)


def test_train_step_trains_and_attacks_the_augmented_batch():
  data = synthetic_dataset()
  images, labels = data.train_images[:16], data.train_labels[:16]
  mirrored = np.concatenate([images[:, :, :4], images[:, :, 3::-1]], axis=2)
  flips = augment_lib.AugmentSettings(shift_frac=0.0, hflip=True)
  plain = augment_lib.AugmentSettings()
  # Left-right symmetric images are their own flips: flipping changes nothing ...
  for a, b in zip(_one_step_params(mirrored, labels, flips),
                  _one_step_params(mirrored, labels, plain), strict=True):
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
  # ... while on the others the step sees (and attacks) different images.
  assert any(not np.allclose(a, b) for a, b in zip(
      _one_step_params(images, labels, flips), _one_step_params(images, labels, plain)))
