"""The verdict words and how an interval, or a range of radii, earns one.

Shared by `verdict` (the claims) and `claim_views` (claim (a) seen three
ways), so both judge intervals by the same rules.
"""

from typing import Optional

from medadv_jax.reporting import paired_statistics

AGREES, DISAGREES, INCONCLUSIVE = 'agrees', 'disagrees', 'inconclusive'
EQUIVALENT = paired_statistics.EQUIVALENT
# Verdicts that a range's verdict may not meet at any radius: a direction is not
# undone by radii where no size effect is large enough to matter, but "no effect"
# is by a radius with one.
_CONTRARY = {AGREES: (DISAGREES,), DISAGREES: (AGREES,), EQUIVALENT: (AGREES, DISAGREES)}


def side(low: float, high: float) -> int:
  """-1 if an interval lies below 0, +1 if above, 0 if it contains 0 or is NaN."""
  if high < 0:
    return -1
  if low > 0:
    return 1
  return 0


def classify(low, high, margin: Optional[float], claimed_sign: int) -> str:
  """The verdict of one interval: its side of 0, else 'equivalent' inside the
  margin (None: no margin, never equivalent), else inconclusive."""
  found = {claimed_sign: AGREES, -claimed_sign: DISAGREES}.get(side(low, high))
  if found:
    return found
  if margin is not None and -margin < low and high < margin:
    return EQUIVALENT
  return INCONCLUSIVE


def overall(by_eps: dict) -> str:
  """One verdict over the eps range: the one reached at more than half of the
  radii, a contrary one at none; else inconclusive. Each radius has its own 95 %
  interval, so one radius out of several can fall on a side by chance."""
  verdicts = list(by_eps.values())
  for verdict, contrary in _CONTRARY.items():
    if verdicts.count(verdict) * 2 > len(verdicts) and not set(contrary) & set(verdicts):
      return verdict
  return INCONCLUSIVE


def detail(by_eps: dict) -> str:
  """' (agrees at eps 2, 4; inconclusive at eps 0.5)': each verdict's radii."""
  parts = []
  for verdict in (AGREES, DISAGREES, EQUIVALENT, INCONCLUSIVE):
    radii = [f'{e:g}' for e, v in by_eps.items() if v == verdict]
    if radii:
      parts.append(f'{verdict} at eps {", ".join(radii)}')
  return f' ({"; ".join(parts)})'
