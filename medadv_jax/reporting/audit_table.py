"""The audit in the report: is the study's worst case as strong for every size?

From the cells' audit.json (evaluation/audit.py, as plain records): the
shortfall per size (images the study calls robust that the audit fooled),
pooled over seeds, with an exact (Clopper-Pearson) interval; its slope on
log2(parameters) per training mode and radius, with a t-interval over seeds
(one seed: over sizes, the least-squares slope's own). The size verdict of a
mode is withheld ("may be an attack artefact") when a slope's interval
excludes 0 in the direction of the size finding, or a size's shortfall
exceeds the tolerance. FAB-T's per-image smallest radii are compared with the
study's smallest fooling grid radius.
"""

import collections
import dataclasses
import math
import pathlib
from typing import Optional

import numpy as np
from scipy import stats

from medadv_jax import atomic_files, cell_data
from medadv_jax.reporting import grouping

LEVEL = 0.95


def load(workdir: pathlib.Path, rows) -> list[dict]:
  """One plain record per cell of `rows` with an audit.json: {'size', 'params',
  'mode', 'seed', 'audit'} (cells finished before the audit are left out)."""
  out, seen = [], set()
  for r in rows:
    key = (grouping.size_key(r), r['train_mode'], r['seed'])
    path = (pathlib.Path(workdir) / 'cells' / cell_data.Cell.from_row(r).name
            / cell_data.AUDIT_FILE)
    if key in seen or not path.exists():
      continue
    seen.add(key)
    out.append({'size': grouping.size_label(r), 'params': int(r['params']),
                'mode': r['train_mode'], 'seed': r['seed'],
                'audit': atomic_files.read_json(path)})
  return out


@dataclasses.dataclass(frozen=True)
class Analysis:
  eps_255: list  # The audit radii.
  # {(mode, size): (params, [(shortfall, audited, low, high) per radius])}.
  shortfall: dict
  slopes: dict  # {(mode, eps): (slope per doubling, low, high)}; low/high None: no interval.
  withheld: dict  # {mode: reason}, for the modes whose size verdict is withheld.
  agreement: dict  # {mode: {'agree', 'study_later', 'fab_weaker', 'images'}}.
  budget: str
  tolerance: float


def analyse(records, tolerance: float, directions: Optional[dict] = None) -> Analysis:
  """The audit's per-size shortfall, slopes, withheld modes and FAB agreement.

  `directions`: {mode: +1 if robust accuracy rises with size, -1 if it falls};
  a mode without one counts a slope excluding 0 either way.
  """
  records = [r for r in records if r['audit'].get('eps_255')]
  if not records:
    return Analysis([], {}, {}, {}, {}, '', tolerance)
  eps = records[0]['audit']['eps_255']
  pooled = collections.defaultdict(lambda: np.zeros((len(eps), 2), int))
  params = {}
  for r in records:
    a = r['audit']
    pooled[(r['mode'], r['size'])] += np.stack(
        [a['shortfall'], [a['audited']] * len(eps)], axis=1)
    params[(r['mode'], r['size'])] = r['params']
  shortfall = {key: (params[key], [(int(k), int(n), *clopper_pearson(int(k), int(n)))
                                   for k, n in counts])
               for key, counts in pooled.items()}
  slopes, withheld = {}, {}
  for mode in dict.fromkeys(r['mode'] for r in records):
    mine = [r for r in records if r['mode'] == mode]
    for e, radius in enumerate(eps):
      slopes[(mode, radius)] = shortfall_slope(mine, e)
    reasons = _reasons(mode, eps, slopes, shortfall, tolerance,
                       (directions or {}).get(mode))
    if reasons:
      withheld[mode] = '; '.join(reasons)
  return Analysis(eps, shortfall, slopes, withheld, fab_agreement(records),
                  records[0]['audit'].get('budget', ''), tolerance)


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


def _reasons(mode, eps, slopes, shortfall, tolerance, direction) -> list[str]:
  reasons = []
  for radius in eps:
    slope, low, high = slopes[(mode, radius)]
    if low is None:
      continue
    up, down = low > 0, high < 0
    if (up and direction in (None, 1)) or (down and direction in (None, -1)):
      reasons.append(f'the shortfall {"grows" if up else "falls"} with size at {radius:g}/255 '
                     f'({slope:+.3f} per doubling [{low:+.3f}, {high:+.3f}])')
  for (m, size), (_, per_radius) in shortfall.items():
    worst = max(range(len(eps)), key=lambda e: per_radius[e][0] / max(per_radius[e][1], 1))
    k, n = per_radius[worst][:2]
    if m == mode and n and k / n > tolerance + 1e-12:
      reasons.append(f'{size} has a shortfall of {k}/{n} at {eps[worst]:g}/255, above the '
                     f'tolerance {tolerance:g}')
  return reasons


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


def size_directions(worst, rows, modes, headline) -> dict:
  """{mode: +1 / -1}: the sign of the mean slope of worst-attack accuracy on
  log2(parameters) over the headline radii (`worst`: `grouping.worst_attack_accuracy`
  of `rows`); modes with fewer than 2 sizes left out."""
  out = {}
  for mode in modes:
    slopes = []
    for e in headline:
      points = [(math.log2(grouping.first(rows, size)['params']), value[0])
                for (size, m, radius), value in worst.items() if m == mode and radius == e]
      if len({x for x, _ in points}) >= 2:
        slopes.append(np.polyfit(*zip(*points), 1)[0])
    if slopes and np.mean(slopes) != 0:
      out[mode] = 1 if np.mean(slopes) > 0 else -1
  return out


def section_lines(analysis: Analysis) -> list[str]:
  """The report's audit section."""
  if not analysis.eps_255:
    return ['Not run: no cell has an audit.json (attack.audit.images = 0, or cells '
            'finished before the audit existed).']
  eps = analysis.eps_255
  lines = [f'On a fixed sample of each model\'s attacked images (the same images for every '
           f'size of a seed), the audit ran AutoAttack\'s attacks ({analysis.budget}). '
           'Shortfall: images the study\'s worst case calls robust that the audit fooled, '
           'pooled over seeds, with exact 95 % intervals. A size verdict is withheld when '
           'the shortfall\'s slope on log2(parameters) excludes 0 in the direction of the '
           f'size finding, or a size\'s shortfall exceeds the tolerance ({analysis.tolerance:g}).',
           '', '| model | train mode | ' + ' | '.join(f'{e:g}' for e in eps) + ' |',
           '|---|---|' + '---:|' * len(eps)]
  for (mode, size), (_, per_radius) in sorted(
      analysis.shortfall.items(), key=lambda kv: (grouping.mode_rank(kv[0][0]), kv[1][0])):
    lines.append(f'| {size} | {mode} | ' + ' | '.join(
        f'{k}/{n} [{low:.2f}, {high:.2f}]' for k, n, low, high in per_radius) + ' |')
  lines += ['', '| train mode | ' + ' | '.join(f'slope at {e:g}' for e in eps) + ' |',
            '|---|' + '---:|' * len(eps)]
  for mode in dict.fromkeys(m for m, _ in analysis.shortfall):
    cells = []
    for e in eps:
      slope, low, high = analysis.slopes[(mode, e)]
      cells.append('-' if math.isnan(slope) else f'{slope:+.3f}' if low is None
                   else f'{slope:+.3f} [{low:+.3f}, {high:+.3f}]')
    lines.append(f'| {mode} | ' + ' | '.join(cells) + ' |')
  lines.append('')
  for mode in dict.fromkeys(m for m, _ in analysis.shortfall):
    if mode in analysis.withheld:
      lines.append(f'- **{mode}: size verdict withheld, it may be an attack artefact**: '
                   f'{analysis.withheld[mode]}. Raise the study\'s attack budgets in the '
                   'config, not the tolerance.')
    else:
      lines.append(f'- {mode}: the audit gives no reason to doubt the size verdict.')
  for mode, c in analysis.agreement.items():
    n = c.get('images', 0)
    if n:
      lines.append(f'- FAB-T\'s smallest fooling radius vs the study\'s ({mode}, {n} images): '
                   f'within the study\'s grid step for {c.get("agree", 0)}, below it '
                   f'(the study missed a closer point) for {c.get("study_later", 0)}, above '
                   f'it for {c.get("fab_weaker", 0)}.')
  return lines
