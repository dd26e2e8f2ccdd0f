"""Interval estimates for accuracies measured on small test sets."""

import math


def wilson_interval(correct: int, n: int, z: float = 1.959964) -> tuple[float, float]:
  """Wilson score interval of a binomial proportion (95 % for the default z).

  Unlike the normal approximation it stays inside [0, 1] and is sensible at
  0 and n successes, which robust accuracies often hit. n = 0 gives (0, 1).
  """
  if n == 0:
    return 0.0, 1.0
  p = correct / n
  denom = 1.0 + z * z / n
  centre = (p + z * z / (2 * n)) / denom
  half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
  # At 0 or n successes the bound is exactly 0 or 1; rounding would miss it.
  low = 0.0 if correct == 0 else max(0.0, centre - half)
  high = 1.0 if correct == n else min(1.0, centre + half)
  return low, high
