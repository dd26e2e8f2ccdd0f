"""Config validation: every bad field gets one message naming field, value, allowed."""

import importlib.util
import pathlib

import pytest

from medadv_jax.errors import ConfigError
from medadv_jax.study import config_validation

CONFIG_FILE = pathlib.Path(__file__).resolve().parent.parent / 'configs' / 'default.py'


def _load_default(arg=''):
  spec = importlib.util.spec_from_file_location('default_config', CONFIG_FILE)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(arg)


@pytest.mark.parametrize('arg', ['', 'smoke'])
def test_shipped_configs_are_valid(arg):
  config_validation.validate(_load_default(arg))


def test_default_grid_is_the_papers_29_values():
  grid = _load_default().attack.eps_255
  assert len(grid) == 29 and grid[0] == 0 and grid[-1] == 10
  assert grid[1:4] == (0.01, 0.02, 0.03) and 0.9 in grid and 9.0 in grid


@pytest.mark.parametrize('field, value, allowed', [
    ('seeds', (), 'non-empty'),
    ('seeds', (0, 1, 0), 'distinct values (0 given more than once)'),
    ('seeds', (2**32,), 'an integer in [0, 4294967295]'),
    ('data.name', 'chestxray', 'pneumoniamnist'),
    ('data.size', 32, '[28, 64, 128, 224]'),
    ('data.attack_per_class', -1, 'integer >= 0'),
    ('model.names', ('cnn', 'vgg'), 'resnet20'),
    ('model.widths', (0.5, 0.0), 'positive'),
    ('model.widths', (float('inf'),), 'finite positive'),
    ('model.widths', (0.5, 1.0, 0.5), 'distinct values'),
    ('model.widths', (0.5, 0.5000001), 'would share the folder'),
    ('train.learning_rate', float('nan'), 'a finite number > 0'),
    ('model.depths', (20,), 'no depth knob'),
    ('train.modes', ('standard', 'mart'), 'standard, pgd'),
    ('train.modes', ('pgd', 'pgd'), 'distinct values'),
    ('train.epochs', 0, 'integer >= 1'),
    ('train.adv.bn_mode', 'frozen', 'batch, running'),
    ('attack.names', ('pgd', 'cw'), 'fgsm, pgd'),
    ('attack.names', ('pgd_l2',), 'at least one L-inf attack (fgsm, pgd'),
    ('attack.eps_255', (0.0, 2.0, 1.0), 'strictly ascending'),
    ('attack.eps_255', (1.0, 2.0), 'starting at 0'),
    ('attack.eps_255', (0.0,), 'at least one radius above 0'),
    ('attack.pgd_steps', 0, 'integer >= 1'),
    ('attack.targets', ('untargeted', 'untargeted'), 'distinct values'),
    ('attack.names', ('apgd',), 'apgd_ce, apgd_dlr, square'),
    ('attack.restarts', 0, 'integer >= 1'),
    ('attack.square_queries', 0, 'integer >= 1'),
    ('attack.square_p_init', 1.5, '(0, 1]'),
    ('attack.l2_eps_scale', -1.0, '>= 0'),
    ('attack.schedule', 'bisect', 'auto, vmap, loop, cascade, min_eps'),
    ('attack.sanity.tolerance', 2.0, '[0, 1]'),
    ('attack.sanity.large_eps_255', 5.0, '0 (skip the check) or a number in (10, 255]'),
    ('attack.sanity.more_steps_eps_255', (0.0,), '(0, 255]'),
    ('analysis.size.margin', 0.0, '(0, 1)'),
    ('analysis.training.margin', 1.5, '(0, 1)'),
    ('report.embedding_images', -1, 'an integer in [0, 1000]'),
    ('report.embedding_images', 1001, 'an integer in [0, 1000]'),
    ('report.embedding_eps_255', 0.0, 'a radius above 0'),
])
def test_bad_value_is_reported_with_field_and_allowed_values(field, value, allowed):
  config = _load_default('smoke')
  with config.unlocked():
    parent = config
    *path, leaf = field.split('.')
    for part in path:
      parent = parent[part]
    parent[leaf] = value
  with pytest.raises(ConfigError) as error:
    config_validation.validate(config)
  assert error.value.field == field
  assert allowed in str(error.value)


def test_invalid_resnet_depth_is_caught_before_any_work():
  config = _load_default('smoke')
  config.model.names = ('resnet',)
  config.model.depths = (8, 21)
  with pytest.raises(ConfigError, match=r'model.depths.*21.*6n\+2'):
    config_validation.validate(config)


def test_a_plateau_floor_above_the_learning_rate_is_refused():
  # optax's reduce_on_plateau would raise the learning rate to its floor.
  config = _load_default('smoke')
  config.train.learning_rate = 1e-7
  config.train.plateau.min_learning_rate = 5e-7
  config_validation.validate(config)  # No plateau, so the floor is never used.
  config.train.plateau.patience = 3
  with pytest.raises(ConfigError, match=r'train.plateau.min_learning_rate.*<= '
                     r'train.learning_rate \(1e-07\)'):
    config_validation.validate(config)


def test_a_grid_up_to_255_blames_the_grid_and_says_how_to_skip_the_check():
  config = _load_default('smoke')
  config.attack.eps_255 = (0.0, 8.0, 255.0)
  config.attack.strong.eps_255 = (8.0,)
  with pytest.raises(ConfigError) as error:
    config_validation.validate(config)
  assert error.value.field == 'attack.eps_255'
  assert 'below attack.sanity.large_eps_255' in str(error.value)
  assert '--config.attack.sanity.large_eps_255=0' in str(error.value)
  assert '(255, 255]' not in str(error.value)
  # The check off, the grid is fine, and so is a plan whose band is on it.
  config.attack.sanity.large_eps_255 = 0
  config.analysis.size.band_255 = config.analysis.training.band_255 = (8.0, 8.0)
  config_validation.validate(config)


def test_a_strong_radius_outside_the_grid_is_refused_naming_it():
  config = _load_default('smoke')
  config.attack.eps_255 = (0.0, 1.0, 2.0, 8.0)
  with pytest.raises(ConfigError) as error:
    config_validation.validate(config)
  assert str(error.value) == (
      'config field `attack.strong.eps_255` is (0.5, 1.0, 2.0, 4.0, 8.0); allowed: radii '
      'of attack.eps_255 (not in it: 0.5, 4), e.g. (1.0, 2.0, 8.0), or () to turn the '
      'strong attack off.')
  config.attack.strong.eps_255 = (1.0, 2.0, 8.0)
  config_validation.validate(config)
