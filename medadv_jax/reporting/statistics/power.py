"""Seeds needed, from a fitted model rather than a scaled interval: a per-seed
effect is the true mean plus a seed random effect plus the mean of its images'
contributions, each with the variance the study's own seeds and images show."""

import dataclasses

import numpy as np

from medadv_jax.reporting.statistics import size_slope

# Power the seeds-needed answers aim at, and how many simulated studies decide it.
TARGET_POWER = 0.8
STUDIES = 4000
MAX_SEEDS = 40


@dataclasses.dataclass(frozen=True)
class Variances:
  """A per-seed effect's variance split in two: between seeds beyond what the
  images explain, and the sampling variance of one seed's mean over its images."""
  seed: float
  image: float


def fit_variances(per_image_contrasts) -> Variances:
  """From each seed's per-image contributions to its effect ((n_s,) arrays: an
  image's slope contrast, or its paired gain), whose means are the seeds'
  effects: image = mean of var / n; seed = var of the means minus that, >= 0."""
  arrays = [np.asarray(a, float) for a in per_image_contrasts if len(a) > 1]
  if len(arrays) < 2:
    return Variances(float('nan'), float('nan'))
  image = float(np.mean([a.var(ddof=1) / len(a) for a in arrays]))
  effects = np.array([a.mean() for a in arrays])
  return Variances(max(0.0, float(effects.var(ddof=1)) - image), image)


def seeds_needed(mean: float, variances: Variances, margin: float, goal: str,
                 seed: int = 0) -> int | None:
  """Fewest seeds (2..MAX_SEEDS) at which the 95 % t-interval excludes 0
  (goal 'exclude_zero') or the TOST finds the mean inside +-margin (goal
  'inside_margin') in TARGET_POWER of simulated studies whose true mean is
  `mean`; None if no count up to MAX_SEEDS reaches it or the inputs are NaN."""
  if not np.isfinite([mean, variances.seed, variances.image]).all():
    return None
  rng = np.random.default_rng(seed)
  total_sd = np.sqrt(variances.seed + variances.image)
  for seeds in range(2, MAX_SEEDS + 1):
    effects = mean + rng.normal(0, total_sd, (STUDIES, seeds))
    if goal == 'exclude_zero':
      _, low, high = size_slope.t_interval(effects)
      hit = (low > 0) | (high < 0)
    else:
      hit, _ = size_slope.tost(effects, margin)
    if hit.mean() >= TARGET_POWER:
      return seeds
  return None
