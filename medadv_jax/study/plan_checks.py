"""Checks the analysis plan (config.analysis) at the boundary: one ConfigError
naming the field, the value and what is allowed."""

import numbers

from medadv_jax.errors import ConfigError
from medadv_jax.reporting.claims import plan as plan_lib
from medadv_jax.training import steps


def validate(config) -> None:
  """Raises ConfigError for the first field of `config.analysis` that is not a
  valid plan for this study's grid, modes and seeds."""
  a = config.analysis
  if not isinstance(a.name, str) or not a.name or not a.name.replace('_', '').isalnum():
    raise ConfigError('analysis.name', a.name, 'a non-empty name of letters, digits and _')
  _int('analysis.min_seeds', a.min_seeds, 1)
  _int('analysis.min_sizes', a.min_sizes, 3)
  if not _number(a.alpha) or not 0 < a.alpha < 0.5:
    raise ConfigError('analysis.alpha', a.alpha, 'a number in (0, 0.5)')
  _one_of('analysis.exclusion', a.exclusion, plan_lib.EXCLUSION_RULES)
  _one_of('analysis.cross_study_holm', a.cross_study_holm, plan_lib.CROSS_STUDY_FAMILIES)
  for name in a.secondary:
    _one_of('analysis.secondary', name, plan_lib.SECONDARY)
  models = a.get('models', ())
  if (isinstance(models, str) or not isinstance(models, (tuple, list))
      or not all(isinstance(m, str) and m for m in models)):
    raise ConfigError('analysis.models', models,
                      'a tuple of model names (of model.names), or () for every model')
  unknown = [m for m in models if m not in tuple(config.model.names)]
  if unknown:
    raise ConfigError('analysis.models', tuple(models),
                      f'names of model.names {tuple(config.model.names)} (not in it: '
                      f'{", ".join(unknown)}), or () for every model')
  if len(config.seeds) < a.min_seeds:
    raise ConfigError('seeds', tuple(config.seeds),
                      f'at least analysis.min_seeds = {a.min_seeds} seeds, the plan\'s '
                      'minimum for a verdict (or a plan with a lower minimum)')
  grid = [float(e) for e in config.attack.eps_255]
  _one_of('analysis.size.endpoint', a.size.endpoint, plan_lib.SIZE_ENDPOINTS)
  _one_of('analysis.size.mode', a.size.mode, steps.TRAIN_MODES)
  _band('analysis.size.band_255', a.size.band_255, grid)
  if not _number(a.size.floor) or not 0 <= a.size.floor < 1:
    raise ConfigError('analysis.size.floor', a.size.floor, 'a number in [0, 1)')
  _margin('analysis.size.margin', a.size.margin)
  t = a.training
  _one_of('analysis.training.endpoint', t.endpoint, plan_lib.TRAINING_ENDPOINTS)
  _one_of('analysis.training.mode', t.mode, steps.TRAIN_MODES)
  _one_of('analysis.training.baseline', t.baseline, steps.TRAIN_MODES)
  if t.mode == t.baseline:
    raise ConfigError('analysis.training.baseline', t.baseline,
                      f'a mode other than analysis.training.mode ({t.mode!r})')
  _band('analysis.training.band_255', t.band_255, grid)
  _margin('analysis.training.margin', t.margin)
  _one_of('analysis.training.holm', t.holm, plan_lib.HOLM_FAMILIES)


def _number(value) -> bool:
  return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _int(field, value, minimum) -> None:
  if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
    raise ConfigError(field, value, f'an integer >= {minimum}')


def _one_of(field, value, allowed) -> None:
  if value not in allowed:
    raise ConfigError(field, value, ', '.join(allowed))


def _margin(field, value) -> None:
  if not _number(value) or not 0 < value < 1:
    raise ConfigError(field, value, 'a number in (0, 1): robust accuracy, fraction of images')


def _band(field, band, grid) -> None:
  """A band is (low, high) x 1/255 with low <= high that holds a positive grid radius."""
  ok = (not isinstance(band, str) and hasattr(band, '__len__') and len(band) == 2
        and all(_number(e) for e in band) and 0 <= band[0] <= band[1])
  if not ok or not any(band[0] <= e <= band[1] for e in grid if e > 0):
    positive = [f'{e:g}' for e in grid if e > 0]
    raise ConfigError(field, band, '(low, high) x 1/255 with low <= high holding at least '
                      f'one radius of attack.eps_255 > 0 ({", ".join(positive[:3])} ... '
                      f'{positive[-1] if positive else "none"})')
