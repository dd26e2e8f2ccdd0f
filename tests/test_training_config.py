"""config.train validation: every mode and optimiser selectable, bad values named."""

import pytest

from medadv_jax.errors import ConfigError
from medadv_jax.study import config_validation
from training_helpers import default_config


def _with(**fields):
  config = default_config('smoke')
  for name, value in fields.items():
    *path, leaf = name.split('__')
    parent = config.train
    for part in path:
      parent = parent[part]
    parent[leaf] = value
  return config


@pytest.mark.parametrize('fields', [
    dict(modes=('standard', 'pgd', 'fgsm_rs', 'trades')),
    dict(optimizer='sgd', momentum=0.9, nesterov=True, schedule='cosine', weight_decay=5e-4),
    # The paper's recipe.
    dict(epochs=100, batch_size=32, schedule='step', decay_epochs=(80,), plateau__patience=5,
         early_stopping_patience=20),
])
def test_every_mode_optimiser_and_schedule_is_selectable(fields):
  config_validation.validate(_with(**fields))


@pytest.mark.parametrize('field, value, allowed', [
    ('modes', ('standard', 'mart'), 'standard, pgd, fgsm_rs, trades'),
    ('optimizer', 'rmsprop', 'adam, sgd'),
    ('schedule', 'linear', 'constant, step, cosine'),
    ('decay_epochs', (3, 1), 'strictly ascending'),
    ('decay_epochs', (2,), 'epochs in [1, 1]'),  # Smoke trains 2 epochs.
    ('weight_decay', -1e-4, '>= 0'),
    ('keep_checkpoints', 0, 'integer >= 1'),
    ('checkpoint_every_steps', -5, 'integer >= 0'),
    ('checkpoint_min_steps', -1, 'integer >= 0'),
    ('plateau__factor', 1.5, '(0, 1)'),
    ('adv__trades_beta', -1.0, '>= 0'),
    ('adv__overfit_drop', 1.0, '[0, 1)'),
    ('adv__bn_mode', 'frozen', 'batch, running'),
    ('min_steps', -1, 'integer >= 0'),
    ('patience_steps', -3, 'integer >= 0'),
])
def test_bad_train_value_is_reported_with_field_and_allowed_values(field, value, allowed):
  with pytest.raises(ConfigError) as error:
    config_validation.validate(_with(**{field: value}))
  assert error.value.field == 'train.' + field.replace('__', '.')
  assert allowed in str(error.value)


def test_step_schedule_needs_decay_epochs():
  with pytest.raises(ConfigError, match=r"train.decay_epochs.*schedule 'step'"):
    config_validation.validate(_with(schedule='step'))


def test_a_step_length_needs_a_cap_at_least_its_minimum_and_no_epoch_schedule():
  with pytest.raises(ConfigError, match=r'train.max_steps.*integer >= 300'):
    config_validation.validate(_with(min_steps=300, max_steps=200))
  with pytest.raises(ConfigError, match=r"train.schedule.*'constant' or 'cosine'"):
    config_validation.validate(_with(min_steps=300, max_steps=600, schedule='step',
                                     decay_epochs=(1,)))
  config_validation.validate(_with(min_steps=300, max_steps=600, schedule='cosine'))


@pytest.mark.parametrize('field, value, allowed', [
    ('max_class_share', 1.5, '(0, 1]'), ('improving_window', 0, '(0, 1]'),
    ('chance_margin', -0.1, '[0, 1)'), ('improving_delta', -0.1, '>= 0')])
def test_bad_fitness_thresholds_are_named(field, value, allowed):
  config = default_config('smoke')
  config.fitness[field] = value
  with pytest.raises(ConfigError, match=rf'fitness\.{field}') as error:
    config_validation.validate(config)
  assert allowed in str(error.value)
