"""The audit in the analysis: is the study's worst case as strong for every size?

From the cells' audit.json records (inputs/audits.py) of the models fit to
attack: the shortfall per size (images the study calls robust that the audit
fooled), pooled over seeds, with an exact interval; its slope on
log2(parameters) per training mode and radius. A mode's size verdict is
withheld ("may be an attack artefact") when a slope's interval excludes 0 in
the direction of the size finding, or a size's shortfall exceeds the tolerance.
"""

import collections
import dataclasses
import math
from typing import Optional

import numpy as np

from medadv_jax.reporting.inputs import result_rows
from medadv_jax.reporting.statistics import audit_shortfall
from medadv_jax.reporting.tables import fitness_table


@dataclasses.dataclass(frozen=True)
class Audit:
  eps_255: list  # The audit radii.
  # {(mode, size): (params, [(shortfall, audited, low, high) per radius])}.
  shortfall: dict
  slopes: dict  # {(mode, eps): (slope per doubling, low, high)}; low/high None: no interval.
  withheld: dict  # {mode: reason}, for the modes whose size verdict is withheld.
  agreement: dict  # {mode: {'agree', 'study_later', 'fab_weaker', 'images'}}.
  budget: str
  tolerance: float
  unfit_only: bool = False  # Audits exist, but none of a model fit to attack.


def of_study(rows, records, directions: dict) -> Audit:
  """The audit of the models of `rows` fit to attack, at the rows' sanity
  tolerance; `directions` as in `analyse`."""
  fit_keys = {(result_rows.size_label(r), r['train_mode'], r['seed'])
              for r in fitness_table.fit_rows(rows)}
  mine = [a for a in records or () if (a['size'], a['mode'], a['seed']) in fit_keys]
  tolerance = next((float(r['sanity_tolerance']) for r in rows
                    if r.get('sanity_tolerance') not in (None, '')), math.inf)
  audit = analyse(mine, tolerance, directions)
  return dataclasses.replace(audit, unfit_only=bool(records) and not audit.eps_255)


def analyse(records, tolerance: float, directions: Optional[dict] = None) -> Audit:
  """The audit's per-size shortfall, slopes, withheld modes and FAB agreement.

  `directions`: {mode: +1 if robust accuracy rises with size, -1 if it falls};
  a mode without one counts a slope excluding 0 either way.
  """
  records = [r for r in records if r['audit'].get('eps_255')]
  if not records:
    return Audit([], {}, {}, {}, {}, '', tolerance)
  eps = records[0]['audit']['eps_255']
  pooled = collections.defaultdict(lambda: np.zeros((len(eps), 2), int))
  params = {}
  for r in records:
    a = r['audit']
    pooled[(r['mode'], r['size'])] += np.stack(
        [a['shortfall'], [a['audited']] * len(eps)], axis=1)
    params[(r['mode'], r['size'])] = r['params']
  shortfall = {key: (params[key], [(int(k), int(n),
                                    *audit_shortfall.clopper_pearson(int(k), int(n)))
                                   for k, n in counts])
               for key, counts in pooled.items()}
  slopes, withheld = {}, {}
  for mode in dict.fromkeys(r['mode'] for r in records):
    mine = [r for r in records if r['mode'] == mode]
    for e, radius in enumerate(eps):
      slopes[(mode, radius)] = audit_shortfall.shortfall_slope(mine, e)
    reasons = _reasons(mode, eps, slopes, shortfall, tolerance,
                       (directions or {}).get(mode))
    if reasons:
      withheld[mode] = '; '.join(reasons)
  return Audit(eps, shortfall, slopes, withheld, audit_shortfall.fab_agreement(records),
               records[0]['audit'].get('budget', ''), tolerance)


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
