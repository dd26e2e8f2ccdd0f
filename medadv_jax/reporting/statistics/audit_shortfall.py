"""The audit's statistics: exact intervals of a shortfall share, the shortfall's
slope on log2(parameters), and FAB-T's radii placed against the study's grid."""

import collections
import math
from typing import Optional

import numpy as np
from scipy import stats

LEVEL = 0.95


def clopper_pearson(k: int, n: int) -> tuple[float, float]:
  """Exact 95 % interval of a binomial share; (0, 1) for n = 0."""
  if n == 0:
    return 0.0, 1.0
  interval = stats.binomtest(k, n).proportion_ci(LEVEL, method='exact')
  return float(interval.low), float(interval.high)


def shortfall_slope(records, e: int) -> tuple[float, Optional[float], Optional[float]]:
  """Slope of the shortfall share at radius index `e` on log2(parameters):
  per seed by least squares, then the seeds' mean with its t-interval; one
  seed: the least-squares slope's t-interval over sizes (none below 3 sizes)."""
  by_seed = collections.defaultdict(list)
  for r in records:
    a = r['audit']
    if a['audited']:
      by_seed[r['seed']].append((math.log2(r['params']), a['shortfall'][e] / a['audited']))
  per_seed = {s: np.array(v) for s, v in by_seed.items() if len({x for x, _ in v}) >= 2}
  if not per_seed:
    return math.nan, None, None
  if len(per_seed) == 1:
    xy = next(iter(per_seed.values()))
    fit = stats.linregress(xy[:, 0], xy[:, 1])
    if xy.shape[0] < 3:
      return float(fit.slope), None, None
    half = stats.t.ppf(0.5 + LEVEL / 2, xy.shape[0] - 2) * fit.stderr
    return float(fit.slope), float(fit.slope - half), float(fit.slope + half)
  values = np.array([stats.linregress(xy[:, 0], xy[:, 1]).slope for xy in per_seed.values()])
  half = stats.t.ppf(0.5 + LEVEL / 2, values.size - 1) * values.std(ddof=1) / math.sqrt(
      values.size)
  return float(values.mean()), float(values.mean() - half), float(values.mean() + half)


def fab_agreement(records) -> dict:
  """Per mode, over every audited image: FAB-T's smallest radius within the
  study's grid step (agree: in (previous grid radius, study radius]; both
  none found also agree), below it (study_later: the study missed a closer
  point), or above it (fab_weaker)."""
  out = {}
  for r in records:
    a = r['audit']
    grid = np.array(a.get('grid_eps_255') or [], float)
    counts = out.setdefault(r['mode'], collections.Counter())
    for fab, study in zip(a.get('fab_min_eps_255', ()), a.get('study_min_eps_255', ())):
      fab = math.inf if fab is None else fab
      study = math.inf if study is None else study
      before = grid[grid < study].max(initial=0.0) if grid.size else 0.0
      if math.isinf(study):
        before = grid.max(initial=0.0)
      counts['images'] += 1
      if fab <= before:
        counts['study_later'] += 1
      elif fab <= study:
        counts['agree'] += 1
      else:
        counts['fab_weaker'] += 1
  return {mode: dict(c) for mode, c in out.items()}
