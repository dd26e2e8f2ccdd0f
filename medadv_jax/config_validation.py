"""Checks a study config at the boundary, before any work starts.

Each check raises `ConfigError` naming the field, the value and what is allowed.
"""

import numbers

from medadv_jax.attacks import linf, objectives
from medadv_jax.data import medmnist_source
from medadv_jax.errors import ConfigError
from medadv_jax.models import registry
from medadv_jax.training import loop, steps


def validate(config) -> None:
  """Raises ConfigError for the first invalid field of `config`."""
  _non_empty_ints('seeds', config.seeds, minimum=0)
  _validate_data(config.data)
  _validate_model(config.model)
  _validate_train(config.train)
  _validate_attack(config.attack)


def _validate_data(data) -> None:
  info = medmnist_source.subset_info(data.name)
  if data.size not in info.md5_by_size:
    raise ConfigError('data.size', data.size, f'{sorted(info.md5_by_size)} for {data.name}')
  _int_at_least('data.train_limit', data.train_limit, 0)
  _int_at_least('data.attack_per_class', data.attack_per_class, 0)
  for field in ('download', 'verify_md5'):
    if not isinstance(data[field], bool):
      raise ConfigError(f'data.{field}', data[field], 'True or False')


def _validate_model(model) -> None:
  names = _non_empty_sequence('model.names', model.names)
  widths = _non_empty_sequence('model.widths', model.widths)
  depths = tuple(model.depths) or (None,)
  # Building the (uninitialised) modules is cheap and checks every name, width
  # and depth with the registry's own rules.
  for name in names:
    for width in widths:
      for depth in depths:
        registry.get_model(name, num_classes=2, width=width, depth=depth,
                           field='model.names')


def _validate_train(train) -> None:
  for mode in _non_empty_sequence('train.modes', train.modes):
    if mode not in loop.TRAIN_MODES:
      raise ConfigError('train.modes', mode, ', '.join(loop.TRAIN_MODES))
  for field in ('epochs', 'batch_size', 'eval_batch_size'):
    _int_at_least(f'train.{field}', train[field], 1)
  _positive('train.learning_rate', train.learning_rate)
  if not _is_number(train.l2_coeff) or train.l2_coeff < 0:
    raise ConfigError('train.l2_coeff', train.l2_coeff, 'a number >= 0')
  _positive('train.adv.eps_255', train.adv.eps_255)
  _int_at_least('train.adv.steps', train.adv.steps, 1)
  _positive('train.adv.step_size_frac', train.adv.step_size_frac)
  if train.adv.bn_mode not in steps.BN_MODES:
    raise ConfigError('train.adv.bn_mode', train.adv.bn_mode, ', '.join(steps.BN_MODES))


def _validate_attack(attack) -> None:
  for name in _non_empty_sequence('attack.names', attack.names):
    if name not in linf.ATTACK_NAMES:
      raise ConfigError('attack.names', name, ', '.join(linf.ATTACK_NAMES))
  for target in _non_empty_sequence('attack.targets', attack.targets):
    if target not in objectives.TARGET_MODES:
      raise ConfigError('attack.targets', target, ', '.join(objectives.TARGET_MODES))
  grid = _non_empty_sequence('attack.eps_255', attack.eps_255)
  if not all(_is_number(e) and 0 <= e <= 255 for e in grid):
    raise ConfigError('attack.eps_255', tuple(grid), 'numbers in [0, 255] (units of 1/255)')
  if list(grid) != sorted(set(grid)) or grid[0] != 0:
    raise ConfigError('attack.eps_255', tuple(grid),
                      'strictly ascending values starting at 0 (clean accuracy)')
  _int_at_least('attack.pgd_steps', attack.pgd_steps, 1)
  _positive('attack.pgd_step_size_frac', attack.pgd_step_size_frac)
  if not isinstance(attack.random_start, bool):
    raise ConfigError('attack.random_start', attack.random_start, 'True or False')
  _int_at_least('attack.max_images_per_program', attack.max_images_per_program, 1)


def _is_number(value) -> bool:
  return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _non_empty_sequence(field, value):
  if isinstance(value, str) or not hasattr(value, '__len__') or len(value) == 0:
    raise ConfigError(field, value, 'a non-empty tuple, e.g. (a, b)')
  return value


def _non_empty_ints(field, value, minimum):
  for item in _non_empty_sequence(field, value):
    _int_at_least(field, item, minimum)


def _int_at_least(field, value, minimum) -> None:
  if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
    raise ConfigError(field, value, f'an integer >= {minimum}')


def _positive(field, value) -> None:
  if not _is_number(value) or value <= 0:
    raise ConfigError(field, value, 'a number > 0')
