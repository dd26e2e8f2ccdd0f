"""Shared views of the results rows used by the figure and the report."""

import collections

import numpy as np

from medadv_jax import cell_data


def truth(value):
  """True / False / None from a JSON bool or its CSV spelling ('True', 'False', '')."""
  if isinstance(value, str):
    return {'True': True, 'False': False}.get(value)
  return value


def size_label(row) -> str:
  """Human name of a model size, e.g. 'cnn w=0.5' or 'resnet d=20 w=1'."""
  depth = '' if row.get('depth') is None else f' d={row["depth"]}'
  return f'{row["model"]}{depth} w={row["width"]:g}'


def size_key(row):
  return (row['model'], row.get('depth') or 0, row['width'])


def is_ensemble(row) -> bool:
  """A per-image worst case over attacks: the paper attacks' ensemble, or the
  strong attack (which includes it)."""
  return row['attack'] in ('ensemble', 'strong')


def is_strong(row) -> bool:
  return row['attack'] == 'strong'


def is_linf(row) -> bool:
  """An L-inf row (the paper's norm; the verdicts use these)."""
  return row['norm'] == 'linf'


def curves(rows):
  """{(attack label, train mode): {size label: (eps_255, mean, low, high)}}.

  Over several seeds the band is mean +- std across seeds; for one seed it is the
  95 % Wilson interval.
  """
  grouped = collections.defaultdict(lambda: collections.defaultdict(list))
  order = {}
  for row in rows:
    grouped[(cell_data.attack_label(row), row['train_mode'])][size_label(row)].append(row)
    order[size_label(row)] = size_key(row)
  result = {}
  for panel, by_size in grouped.items():
    result[panel] = {}
    for label in sorted(by_size, key=order.get):
      by_eps = collections.defaultdict(list)
      for row in by_size[label]:
        by_eps[row['eps_255']].append(row)
      eps = np.array(sorted(by_eps))
      stats = [_band(by_eps[e]) for e in eps]
      result[panel][label] = (eps, *map(np.array, zip(*stats)))
  return result


def _band(rows):
  accuracies = np.array([r['accuracy'] for r in rows])
  mean = accuracies.mean()
  if len(rows) > 1:
    std = accuracies.std(ddof=1)
    return mean, mean - std, mean + std
  return mean, rows[0]['ci_low'], rows[0]['ci_high']


MODE_ORDER = ('standard', 'pgd', 'fgsm_rs', 'trades')


def mode_rank(mode: str):
  """Sort key of a training mode: standard first, then the adversarial ones, then others."""
  return (MODE_ORDER.index(mode) if mode in MODE_ORDER else len(MODE_ORDER), mode)


def ordered_modes(modes) -> list[str]:
  return sorted(set(modes), key=mode_rank)


HEADLINE_EPS_255 = (0.5, 1.0, 2.0, 4.0, 8.0)


def headline_eps(rows) -> list[float]:
  """The radii (x 1/255) the report and figures single out: those of
  HEADLINE_EPS_255 in the grid, else the grid's largest three."""
  grid = sorted({r['eps_255'] for r in rows})
  return [e for e in HEADLINE_EPS_255 if e in grid] or grid[-3:]


def sizes(rows) -> list:
  """The size keys present, smallest first."""
  return sorted({size_key(r) for r in rows})


def sizes_by_params(rows) -> list:
  """The size keys present, fewest parameters first (families may interleave)."""
  return sorted(sizes(rows), key=lambda s: (first(rows, s)['params'], s))


def first(rows, size, mode=None):
  """The first row of a model size (and training mode)."""
  return next(r for r in rows if size_key(r) == size
              and (mode is None or r['train_mode'] == mode))


def per_seed(rows, size, mode, column) -> list[float]:
  """One value of a per-model `column` (e.g. clean_test_accuracy) per seed."""
  by_seed = {r['seed']: float(r[column]) for r in rows
             if size_key(r) == size and r['train_mode'] == mode}
  return [by_seed[s] for s in sorted(by_seed)]


def seed_error(mean: float, per_seed_values, low: float, high: float) -> tuple[float, float]:
  """(below, above) error-bar lengths: +-std over seeds (ddof 1) with two or more
  seeds, else the given interval (e.g. 95 % Wilson) of the single seed."""
  if len(per_seed_values) > 1:
    std = float(np.std(per_seed_values, ddof=1))
    return std, std
  return max(0.0, mean - low), max(0.0, high - mean)
