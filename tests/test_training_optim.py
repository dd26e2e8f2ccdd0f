"""Optimisers, schedules and reduce-on-plateau against hand-computed values."""

import jax.numpy as jnp
import numpy as np
import optax
import pytest

from medadv_jax.training import optim
from medadv_jax.training.train_state import TrainState
from training_helpers import train_config

PARAMS = {'conv': {'kernel': jnp.array([1.0, -2.0]), 'bias': jnp.array([0.5])}}
GRADS = {'conv': {'kernel': jnp.array([0.1, 0.2]), 'bias': jnp.array([-0.3])}}


def _first_update(config, grads=GRADS):
  tx = optim.make_optimizer(config, optim.learning_rate_schedule(config, 10, config.epochs))
  updates, _ = tx.update(grads, tx.init(PARAMS), PARAMS)
  return updates['conv']


def test_sgd_with_weight_decay_decays_kernels_only():
  update = _first_update(train_config(1, optimizer='sgd', learning_rate=0.1, momentum=0.0,
                                      weight_decay=0.01))
  np.testing.assert_allclose(update['kernel'], -0.1 * (GRADS['conv']['kernel'] +
                                                       0.01 * PARAMS['conv']['kernel']))
  np.testing.assert_allclose(update['bias'], -0.1 * GRADS['conv']['bias'])


def test_sgd_momentum_accumulates():
  config = train_config(1, optimizer='sgd', learning_rate=0.1, momentum=0.9)
  tx = optim.make_optimizer(config, optim.learning_rate_schedule(config, 10, config.epochs))
  state = tx.init(PARAMS)
  _, state = tx.update(GRADS, state, PARAMS)
  second, _ = tx.update(GRADS, state, PARAMS)
  np.testing.assert_allclose(second['conv']['kernel'], -0.1 * 1.9 * GRADS['conv']['kernel'],
                             rtol=1e-6)


def test_adamw_decay_is_decoupled_and_on_kernels_only():
  zero = {'conv': {'kernel': jnp.zeros(2), 'bias': jnp.zeros(1)}}
  update = _first_update(train_config(1, learning_rate=1e-3, weight_decay=0.1), zero)
  np.testing.assert_allclose(update['kernel'], -1e-3 * 0.1 * PARAMS['conv']['kernel'],
                             rtol=1e-6)
  np.testing.assert_array_equal(update['bias'], [0.0])


def test_step_schedule_decays_after_the_given_epochs():
  config = train_config(100, schedule='step', decay_epochs=(80, 90), decay_factor=0.1)
  schedule = optim.learning_rate_schedule(config, steps_per_epoch=10, epochs=config.epochs)
  lr = config.learning_rate
  np.testing.assert_allclose([schedule(799), schedule(800), schedule(899), schedule(900)],
                             [lr, lr * 0.1, lr * 0.1, lr * 0.01], rtol=1e-6)


def test_cosine_schedule_falls_from_the_rate_to_zero_over_the_run():
  config = train_config(4, schedule='cosine', learning_rate=0.2)
  schedule = optim.learning_rate_schedule(config, steps_per_epoch=5, epochs=config.epochs)
  np.testing.assert_allclose([schedule(0), schedule(10), schedule(20)], [0.2, 0.1, 0.0],
                             atol=1e-7)


def test_plateau_multiplies_by_factor_after_patience_epochs_and_stops_at_the_floor():
  config = train_config(1, learning_rate=1e-3, plateau__patience=2, plateau__factor=0.5,
                        plateau__min_delta=0.01, plateau__min_learning_rate=2e-4)
  plateau = optim.make_plateau(config)
  state = plateau.init(PARAMS)
  scales = []
  # 1.0 sets the best; 0.995 is within min_delta, so it is no improvement.
  for value in (1.0, 0.995, 0.999, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6):
    _, state = plateau.update({}, state, value=value)
    scales.append(float(state.scale))
  assert scales == pytest.approx([1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.2, 0.2, 0.2])


def test_train_state_scales_updates_by_the_plateau_scale():
  tx = optax.sgd(0.1)
  plateau = optim.make_plateau(train_config(1)).init(PARAMS)
  state = TrainState(step=jnp.zeros((), jnp.int32), params=PARAMS, batch_stats={},
                     opt_state=tx.init(PARAMS), plateau=plateau._replace(scale=jnp.array(0.5)),
                     apply_fn=None, tx=tx)
  new = state.apply_gradients(GRADS, {})
  np.testing.assert_allclose(new.params['conv']['kernel'],
                             PARAMS['conv']['kernel'] - 0.05 * GRADS['conv']['kernel'])
  assert int(new.step) == 1
