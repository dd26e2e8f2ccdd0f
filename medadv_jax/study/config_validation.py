"""Checks a study config at the boundary, before any work starts.

Each check raises `ConfigError` naming the field, the value and what is allowed.
"""

import math
import numbers

from medadv_jax.attacks import objectives, registry as attack_registry, schedules
from medadv_jax.data import augment, dataset as data_lib, image_folder, medmnist_source, splits as data_splits
from medadv_jax.errors import ConfigError
from medadv_jax.models import registry as model_registry
from medadv_jax.study import cells, groups as groups_lib, plan_checks
from medadv_jax.training import loop, optim, steps


def validate(config) -> None:
  """Raises ConfigError for the first invalid field of `config`."""
  _non_empty_ints('seeds', config.seeds, minimum=0, maximum=MAX_SEED)
  _distinct('seeds', config.seeds)
  _int_at_least('cell', config.cell, -1)
  _one_of('seed_groups', config.seed_groups, groups_lib.SETTINGS)
  if not isinstance(config.compilation_cache_dir, str):
    raise ConfigError('compilation_cache_dir', config.compilation_cache_dir,
                      "a folder path, or '' for no cache")
  _validate_data(config.data)
  _validate_model(config.model)
  _validate_train(config.train)
  _validate_fitness(config.fitness)
  _validate_report(config.report)
  _validate_attack(config.attack)
  _validate_task(config)
  _validate_cell_names(config)
  plan_checks.validate(config)


# Seeds become jax.random.key(seed) and numpy generators: a uint32.
MAX_SEED = 2**32 - 1


MAX_EMBEDDING_IMAGES = 1000


def _validate_report(report) -> None:
  # The figure's t-SNE has exact gradients: quadratic in the points (2 per image).
  _int_at_least('report.embedding_images', report.embedding_images, 0, MAX_EMBEDDING_IMAGES)
  if not _is_number(report.embedding_eps_255) or not report.embedding_eps_255 > 0:
    raise ConfigError('report.embedding_eps_255', report.embedding_eps_255,
                      'a radius above 0 (x 1/255; the grid\'s nearest is used)')


def _validate_data(data) -> None:
  task, _ = data_lib.describe(data.name)
  if data.name in image_folder.FOLDER_DATASETS:
    _int_at_least('data.size', data.size, 8)
    if not data.dir:
      raise ConfigError('data.dir', data.dir, f'the image folder of {data.name}')
  else:
    info = medmnist_source.subset_info(data.name)
    if data.size not in info.md5_by_size:
      raise ConfigError('data.size', data.size, f'{sorted(info.md5_by_size)} for {data.name}')
  if not _is_number(data.augment.shift_frac) or not 0 <= data.augment.shift_frac < 0.5:
    raise ConfigError('data.augment.shift_frac', data.augment.shift_frac,
                      'a number in [0, 0.5) (fraction of the image side; 0 = no shifts)')
  _one_of('data.augment.hflip', data.augment.hflip, augment.HFLIP_CHOICES)
  _int_at_least('data.train_limit', data.train_limit, 0)
  _int_at_least('data.attack_per_class', data.attack_per_class, 0)
  for field in ('download', 'verify_md5', 'grey_to_rgb'):
    if not isinstance(data[field], bool):
      raise ConfigError(f'data.{field}', data[field], 'True or False')
  _one_of('data.split', data.split, data_splits.PROTOCOLS)
  if data.tfds_dir and data.size not in (28, 64, 128, 224):
    raise ConfigError('data.size', data.size,
                      '28, 64, 128 or 224 (the tfds builder configs) with data.tfds_dir')
  fractions = data.split_fractions
  if (isinstance(fractions, str) or not hasattr(fractions, '__len__') or len(fractions) != 3
      or not all(_is_number(f) and 0 < f < 1 for f in fractions)
      or abs(sum(fractions) - 1) > 1e-6):
    raise ConfigError('data.split_fractions', fractions,
                      '(train, val, test) fractions in (0, 1) summing to 1, e.g. '
                      '(0.71, 0.145, 0.145)')


def _validate_model(model) -> None:
  names = _non_empty_sequence('model.names', model.names)
  widths = _non_empty_sequence('model.widths', model.widths)
  for width in widths:
    if not _is_number(width) or width <= 0:
      raise ConfigError('model.widths', width, 'finite positive numbers')
  depths = tuple(model.depths) or (None,)
  for field, values in (('model.names', names), ('model.widths', widths),
                        ('model.depths', depths)):
    _distinct(field, values)
  # Building the (uninitialised) modules is cheap and checks every name, width
  # and depth with the registry's own rules.
  for name in names:
    for width in widths:
      for depth in depths:
        model_registry.get_model(name, num_classes=2, width=width, depth=depth,
                           field='model.names')


def _validate_train(train) -> None:
  for mode in _non_empty_sequence('train.modes', train.modes):
    if mode not in loop.TRAIN_MODES:
      raise ConfigError('train.modes', mode, ', '.join(loop.TRAIN_MODES))
  _distinct('train.modes', train.modes)
  for field in ('epochs', 'batch_size', 'eval_batch_size', 'keep_checkpoints'):
    _int_at_least(f'train.{field}', train[field], 1)
  for field in ('early_stopping_patience', 'checkpoint_every_steps', 'checkpoint_min_steps',
                'log_every_steps', 'min_steps', 'patience_steps'):
    _int_at_least(f'train.{field}', train[field], 0)
  if train.min_steps:
    _int_at_least('train.max_steps', train.max_steps, train.min_steps)
    if train.schedule == 'step':
      # decay_epochs count epochs, whose number then depends on the data.
      raise ConfigError('train.schedule', train.schedule,
                        "'constant' or 'cosine' when train.min_steps > 0 (the length is "
                        "set in steps); 'step' needs train.min_steps = 0")
  _one_of('train.optimizer', train.optimizer, optim.OPTIMIZERS)
  _one_of('train.schedule', train.schedule, optim.SCHEDULES)
  _positive('train.learning_rate', train.learning_rate)
  for field in ('l2_coeff', 'weight_decay', 'momentum'):
    if not _is_number(train[field]) or train[field] < 0:
      raise ConfigError(f'train.{field}', train[field], 'a number >= 0')
  _bool('train.nesterov', train.nesterov)
  _bool('train.robust_val_standard', train.robust_val_standard)
  epochs = train.decay_epochs
  if (isinstance(epochs, str) or not hasattr(epochs, '__len__')
      or not all(isinstance(e, int) and not isinstance(e, bool) and 0 < e < train.epochs
                 for e in epochs) or list(epochs) != sorted(set(epochs))):
    raise ConfigError('train.decay_epochs', epochs,
                      f'a strictly ascending tuple of epochs in [1, {train.epochs - 1}]')
  if train.schedule == 'step' and not epochs:
    raise ConfigError('train.decay_epochs', epochs, "at least one epoch for schedule 'step'")
  _fraction('train.decay_factor', train.decay_factor)
  _int_at_least('train.plateau.patience', train.plateau.patience, 0)
  _fraction('train.plateau.factor', train.plateau.factor)
  _positive('train.plateau.min_delta', train.plateau.min_delta)
  _positive('train.plateau.min_learning_rate', train.plateau.min_learning_rate)
  if train.plateau.patience > 0 and train.plateau.min_learning_rate > train.learning_rate:
    # Reduce-on-plateau's floor would raise the learning rate, not lower it.
    raise ConfigError('train.plateau.min_learning_rate', train.plateau.min_learning_rate,
                      f'a number <= train.learning_rate ({train.learning_rate:g}) when '
                      'train.plateau.patience > 0')
  _positive('train.adv.eps_255', train.adv.eps_255)
  _int_at_least('train.adv.steps', train.adv.steps, 1)
  _positive('train.adv.step_size_frac', train.adv.step_size_frac)
  _positive('train.adv.fgsm_step_frac', train.adv.fgsm_step_frac)
  if not _is_number(train.adv.trades_beta) or train.adv.trades_beta < 0:
    raise ConfigError('train.adv.trades_beta', train.adv.trades_beta, 'a number >= 0')
  if not _is_number(train.adv.overfit_drop) or not 0 <= train.adv.overfit_drop < 1:
    raise ConfigError('train.adv.overfit_drop', train.adv.overfit_drop,
                      'a number in [0, 1) (0 = never stop)')
  _one_of('train.adv.bn_mode', train.adv.bn_mode, steps.BN_MODES)


def _validate_fitness(fitness) -> None:
  for field in ('max_class_share', 'improving_window'):
    value = fitness[field]
    if not _is_number(value) or not 0 < value <= 1:
      raise ConfigError(f'fitness.{field}', value, 'a number in (0, 1]')
  if not _is_number(fitness.chance_margin) or not 0 <= fitness.chance_margin < 1:
    raise ConfigError('fitness.chance_margin', fitness.chance_margin, 'a number in [0, 1)')
  if not _is_number(fitness.improving_delta) or fitness.improving_delta < 0:
    raise ConfigError('fitness.improving_delta', fitness.improving_delta, 'a number >= 0')


def _validate_task(config) -> None:
  """Settings that depend on the dataset's task type."""
  task, _ = data_lib.describe(config.data.name)
  if task == 'multi-label' and 'least_likely' in config.attack.targets:
    raise ConfigError('attack.targets', tuple(config.attack.targets),
                      f"('untargeted',) for the multi-label {config.data.name}: a "
                      'least-likely target needs one class per image')
  if task == 'multi-label' and 'fab' in config.attack.names:
    raise ConfigError('attack.names', tuple(config.attack.names),
                      f"attacks other than 'fab' for the multi-label {config.data.name}: "
                      'FAB crosses the boundary between two classes of one label')


def _validate_cell_names(config) -> None:
  """Each cell needs a folder of its own: two sizes printed alike (widths 0.5 and
  0.5000001 are both w0.5) would share one, and its checkpoints."""
  seen = {}
  for cell in cells.expand_cells(config):
    if cell.name in seen and seen[cell.name] != cell:
      raise ConfigError('model.widths', tuple(config.model.widths),
                        f'widths that differ in their first 6 significant digits (two '
                        f'cells would share the folder {cell.name})')
    seen[cell.name] = cell


def _distinct(field, values) -> None:
  """Repeated values would repeat cells (counted twice in means over seeds) or rows."""
  values = tuple(values)
  repeated = sorted({str(v) for i, v in enumerate(values) if v in values[:i]})
  if repeated:
    raise ConfigError(field, values, f'distinct values ({", ".join(repeated)} '
                      'given more than once)')


def _one_of(field, value, allowed) -> None:
  if value not in allowed:
    raise ConfigError(field, value, ', '.join(allowed))


def _bool(field, value) -> None:
  if not isinstance(value, bool):
    raise ConfigError(field, value, 'True or False')


def _fraction(field, value) -> None:
  if not _is_number(value) or not 0 < value < 1:
    raise ConfigError(field, value, 'a number in (0, 1)')


def _validate_attack(attack) -> None:
  _bool('attack.skip_binary_least_likely', attack.skip_binary_least_likely)
  for name in _non_empty_sequence('attack.names', attack.names):
    if name not in attack_registry.ATTACK_NAMES:
      raise ConfigError('attack.names', name, ', '.join(attack_registry.ATTACK_NAMES))
  _distinct('attack.names', attack.names)
  linf = [n for n in attack_registry.ATTACK_NAMES if attack_registry.AttackSpec(n).norm == 'linf']
  if not any(name in linf for name in attack.names):
    # The report's tables, figures and verdicts are about L-inf robustness.
    raise ConfigError('attack.names', tuple(attack.names),
                      f'at least one L-inf attack ({", ".join(linf)})')
  for target in _non_empty_sequence('attack.targets', attack.targets):
    if target not in objectives.TARGET_MODES:
      raise ConfigError('attack.targets', target, ', '.join(objectives.TARGET_MODES))
  _distinct('attack.targets', attack.targets)
  grid = _non_empty_sequence('attack.eps_255', attack.eps_255)
  if not all(_is_number(e) and 0 <= e <= 255 for e in grid):
    raise ConfigError('attack.eps_255', tuple(grid), 'numbers in [0, 255] (units of 1/255)')
  if list(grid) != sorted(set(grid)) or grid[0] != 0 or len(grid) < 2:
    raise ConfigError('attack.eps_255', tuple(grid),
                      'strictly ascending values starting at 0 (clean accuracy), '
                      'with at least one radius above 0')
  for field in ('pgd_steps', 'restarts', 'apgd_steps', 'square_queries',
                'max_images_per_program'):
    _int_at_least(f'attack.{field}', attack[field], 1)
  _positive('attack.pgd_step_size_frac', attack.pgd_step_size_frac)
  if not isinstance(attack.random_start, bool):
    raise ConfigError('attack.random_start', attack.random_start, 'True or False')
  if not _is_number(attack.square_p_init) or not 0 < attack.square_p_init <= 1:
    raise ConfigError('attack.square_p_init', attack.square_p_init, 'a number in (0, 1]')
  if not _is_number(attack.l2_eps_scale) or attack.l2_eps_scale < 0:
    raise ConfigError('attack.l2_eps_scale', attack.l2_eps_scale,
                      'a number >= 0 (0: sqrt of the image size)')
  if attack.schedule not in schedules.SCHEDULES:
    raise ConfigError('attack.schedule', attack.schedule, ', '.join(schedules.SCHEDULES))
  sanity = attack.sanity
  if not _is_number(sanity.tolerance) or not 0 <= sanity.tolerance <= 1:
    raise ConfigError('attack.sanity.tolerance', sanity.tolerance, 'a number in [0, 1]')
  large = sanity.large_eps_255
  if large != 0 and grid[-1] >= 255:
    # No radius of the check can lie above such a grid: the grid is at fault.
    raise ConfigError('attack.eps_255', tuple(grid),
                      f'radii below attack.sanity.large_eps_255 ({large}), the radius '
                      'of the sanity check that every attack fools at a large eps; or '
                      'turn that check off with --config.attack.sanity.large_eps_255=0')
  if not _is_number(large) or not (large == 0 or grid[-1] < large <= 255):
    raise ConfigError('attack.sanity.large_eps_255', large,
                      f'0 (skip the check) or a number in ({grid[-1]:g}, 255], above the '
                      'largest attack.eps_255 radius')
  more = sanity.more_steps_eps_255
  if (isinstance(more, str) or not hasattr(more, '__len__')
      or not all(_is_number(e) and 0 < e <= 255 for e in more)):
    raise ConfigError('attack.sanity.more_steps_eps_255', more,
                      'a tuple of numbers in (0, 255], or () to skip the check')
  _int_at_least('attack.sanity.certificate_sample', sanity.certificate_sample, 0)
  _validate_strong(attack.strong, grid)
  if 'audit' in attack:
    _validate_audit(attack.audit)


def _validate_strong(strong, grid) -> None:
  radii = strong.eps_255
  if (isinstance(radii, str) or not hasattr(radii, '__len__')
      or not all(_is_number(e) and e > 0 for e in radii)
      or list(radii) != sorted(set(radii))):
    raise ConfigError('attack.strong.eps_255', radii,
                      'strictly ascending radii above 0, each in attack.eps_255, or () '
                      'to turn the strong attack off')
  outside = [r for r in radii if r not in set(grid)]
  if outside:
    inside = tuple(r for r in radii if r in set(grid))
    raise ConfigError('attack.strong.eps_255', tuple(radii),
                      f'radii of attack.eps_255 (not in it: '
                      f'{", ".join(f"{r:g}" for r in outside)}), e.g. {inside}, or () to '
                      'turn the strong attack off')
  for field in ('apgd_steps', 'apgd_restarts', 'square_queries', 'square_restarts'):
    _int_at_least(f'attack.strong.{field}', strong[field], 1)
  _int_at_least('attack.strong.target_classes', strong.target_classes, 1,
                len(objectives.RANKED_TARGETS))
  if not _is_number(strong.square_p_init) or not 0 < strong.square_p_init <= 1:
    raise ConfigError('attack.strong.square_p_init', strong.square_p_init,
                      'a number in (0, 1]')


def _validate_audit(audit) -> None:
  radii = audit.eps_255
  if (isinstance(radii, str) or not hasattr(radii, '__len__')
      or not all(_is_number(e) and e > 0 for e in radii)):
    raise ConfigError('attack.audit.eps_255', radii,
                      'a tuple of radii above 0 (those also in attack.eps_255 are audited)')
  _int_at_least('attack.audit.images', audit.images, 0)
  for field in ('apgd_steps', 'apgd_restarts', 'fab_steps', 'square_queries'):
    _int_at_least(f'attack.audit.{field}', audit[field], 1)
  _int_at_least('attack.audit.target_classes', audit.target_classes, 1,
                len(objectives.RANKED_TARGETS))
  if not _is_number(audit.square_p_init) or not 0 < audit.square_p_init <= 1:
    raise ConfigError('attack.audit.square_p_init', audit.square_p_init, 'a number in (0, 1]')


def _is_number(value) -> bool:
  """A finite real number (not a bool, nan or inf)."""
  return (isinstance(value, numbers.Real) and not isinstance(value, bool)
          and math.isfinite(value))


def _non_empty_sequence(field, value):
  if isinstance(value, str) or not hasattr(value, '__len__') or len(value) == 0:
    raise ConfigError(field, value, 'a non-empty tuple, e.g. (a, b)')
  return value


def _non_empty_ints(field, value, minimum, maximum=None):
  for item in _non_empty_sequence(field, value):
    _int_at_least(field, item, minimum, maximum)


def _int_at_least(field, value, minimum, maximum=None) -> None:
  if (not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum
      or (maximum is not None and value > maximum)):
    raise ConfigError(field, value, f'an integer >= {minimum}' if maximum is None
                      else f'an integer in [{minimum}, {maximum}]')


def _positive(field, value) -> None:
  if not _is_number(value) or value <= 0:
    raise ConfigError(field, value, 'a finite number > 0')
