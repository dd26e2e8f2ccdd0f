"""Descriptive paired differences between two models (one size against another, a
trained mode against standard): every model of one seed is measured on the same
images, so each seed's difference is paired; across seeds, the seeds are the
replicates and get a t-interval. With one seed only the images vary: Newcombe's
hybrid score interval for paired proportions, on the per-image verdicts."""

import math
from typing import Callable, NamedTuple, Optional

import numpy as np

from medadv_jax.intervals import wilson_interval
from medadv_jax.reporting.statistics import size_slope

# (seed) -> (a, b): bool (N,) verdicts of both models on that seed's images, or None.
ImageVerdicts = Callable[[object], Optional[tuple]]


class Difference(NamedTuple):
  """A minus B with its 95 % interval (NaN where there is none) and the seeds it
  rests on; with one seed the interval is over that seed's images only."""
  estimate: float
  low: float
  high: float
  seeds: int

  @property
  def images_only(self) -> bool:
    return self.seeds == 1


def over_seeds(a: dict, b: dict, images: Optional[ImageVerdicts] = None) -> Difference:
  """A minus B from per-seed values ({seed: accuracy}, each on that seed's images),
  over the seeds both have: the mean of the per-seed differences with a 95 %
  t-interval for two seeds or more; with one, `newcombe_paired` on `images(seed)`
  (no interval where `images` is None or gives None)."""
  seeds = sorted(set(a) & set(b))
  differences = np.array([a[s] - b[s] for s in seeds], float)
  if len(seeds) == 1:
    verdicts = None if images is None else images(seeds[0])
    if verdicts is None:
      return Difference(float(differences[0]), math.nan, math.nan, 1)
    return Difference(*newcombe_paired(*verdicts), 1)
  mean, low, high = (float(v) for v in size_slope.t_interval(differences))
  return Difference(mean, max(low, -1.0), min(high, 1.0), len(seeds))


def interval_text(d: Difference, digits: int = 2, mark_one_seed: bool = True) -> str:
  """'[+0.05, +0.19]', with ' (1 seed: images only)' where so (unless a table
  says it once), or 'n/a (why)'."""
  if math.isnan(d.low):
    return 'n/a (no seed with both)' if d.seeds == 0 else 'n/a (1 seed, no per-image data)'
  text = f'[{d.low:+.{digits}f}, {d.high:+.{digits}f}]'
  return text + ' (1 seed: images only)' if d.images_only and mark_one_seed else text


def newcombe_paired(a, b, z: float = 1.959964) -> tuple[float, float, float]:
  """(share of A right minus share of B right, low, high) on n paired items (a, b:
  bool (n,)): Newcombe's square-and-add interval for paired data (1998, method 10),
  Wilson intervals of both shares joined through the pairs' correlation, that
  correlation shrunk by n / 2 as Fagerland, Lydersen and Laake (2017) recommend
  (the plain one under-covers for strongly agreeing models). Sensible with no
  discordant pair, unlike a t-interval on the per-item differences ([0, 0])."""
  a, b = np.asarray(a, bool), np.asarray(b, bool)
  n = a.size
  both, only_a, only_b = int(np.sum(a & b)), int(np.sum(a & ~b)), int(np.sum(~a & b))
  neither = n - both - only_a - only_b
  right_a, right_b = both + only_a, both + only_b
  p_a, p_b = right_a / n, right_b / n
  low_a, high_a = wilson_interval(right_a, n, z)
  low_b, high_b = wilson_interval(right_b, n, z)
  spread = right_a * (n - right_a) * right_b * (n - right_b)
  agreement = both * neither - only_a * only_b
  if spread == 0 or 0 <= agreement <= n / 2:
    phi = 0.0
  else:
    phi = (agreement - n / 2 if agreement > 0 else agreement) / math.sqrt(spread)
  below = (p_a - low_a) ** 2 - 2 * phi * (p_a - low_a) * (high_b - p_b) + (high_b - p_b) ** 2
  above = (high_a - p_a) ** 2 - 2 * phi * (high_a - p_a) * (p_b - low_b) + (p_b - low_b) ** 2
  d = p_a - p_b
  return d, max(-1.0, d - math.sqrt(max(below, 0.0))), min(1.0, d + math.sqrt(max(above, 0.0)))
