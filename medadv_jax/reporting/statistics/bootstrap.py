"""Statistics behind the report's claims: rank correlation and differences, with
bootstrap intervals.

Two sources of noise are resampled together: which training seeds were run
(seeds drawn with replacement, when there are several) and which test images
were attacked (each accuracy redrawn as Binomial(n, accuracy) / n, a parametric
bootstrap over the n images). With one seed only the second remains, so an
interval is never narrower than the test set allows.
"""

from typing import Sequence

import numpy as np
from scipy import stats as scipy_stats

DEFAULT_REPLICATES = 2000
MAX_UNDEFINED_FRACTION = 0.05


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
  """Spearman's rho; NaN when either side is constant (no ranking to compare)."""
  x, y = np.asarray(x, float), np.asarray(y, float)
  if x.size < 2 or np.all(x == x[0]) or np.all(y == y[0]):
    return float('nan')
  return float(scipy_stats.spearmanr(x, y).statistic)


def _row_spearman(x: np.ndarray, ys: np.ndarray) -> np.ndarray:
  """Spearman's rho of `x` (K,) with each row of `ys` (R, K), vectorised; NaN where
  a row is constant. Average ranks for ties, as scipy.stats.spearmanr."""
  rx = scipy_stats.rankdata(x)
  ry = scipy_stats.rankdata(ys, axis=1)
  rx, ry = rx - rx.mean(), ry - ry.mean(axis=1, keepdims=True)
  denominator = np.sqrt(np.sum(rx ** 2) * np.sum(ry ** 2, axis=1))
  with np.errstate(invalid='ignore', divide='ignore'):
    return np.where(denominator > 0, ry @ rx / denominator, np.nan)


def _resampled_means(accuracies_by_seed: np.ndarray, n: int, rng: np.random.Generator,
                     replicates: int) -> np.ndarray:
  """(replicates,) bootstrap means of one model's accuracies over seeds."""
  seeds = np.asarray(accuracies_by_seed, float)
  picks = rng.integers(0, seeds.size, size=(replicates, seeds.size))
  redrawn = rng.binomial(n, seeds[picks]) / n
  return redrawn.mean(axis=1)


def _percentile_interval(draws: np.ndarray, level: float) -> tuple[float, float]:
  """The central `level` interval of bootstrap draws (percentile method)."""
  tail = (1 - level) / 2 * 100
  low, high = np.percentile(draws, [tail, 100 - tail])
  return float(low), float(high)


def bootstrap_spearman(sizes: Sequence[float], accuracies: Sequence[Sequence[float]],
                       n: int, seed: int = 0, replicates: int = DEFAULT_REPLICATES,
                       level: float = 0.95):
  """Spearman's rho between model size and mean accuracy, with a bootstrap interval.

  Args:
    sizes: one number per model (e.g. parameter count).
    accuracies: per model, its accuracies over seeds (fractions of n images).
    n: images each accuracy was measured on.

  Returns:
    (rho of the seed means, interval low, interval high); NaN for rho where it is
    undefined, and for the interval where over 5 % of resamples leave it undefined.
  """
  rng = np.random.default_rng(seed)
  means = [np.mean(a) for a in accuracies]
  rho = spearman(sizes, means)
  draws = np.stack([_resampled_means(a, n, rng, replicates) for a in accuracies], axis=1)
  rhos = _row_spearman(np.asarray(sizes, float), draws)
  # Where many resamples tie every model (e.g. all at accuracy 0), dropping them
  # would leave a falsely narrow interval: report none instead.
  if np.mean(np.isnan(rhos)) > MAX_UNDEFINED_FRACTION:
    return rho, float('nan'), float('nan')
  rhos = rhos[~np.isnan(rhos)]
  low, high = _percentile_interval(rhos, level)
  return rho, low, high


def bootstrap_mean(accuracies: Sequence[float], n: int, seed: int = 0,
                   replicates: int = DEFAULT_REPLICATES, level: float = 0.95):
  """Mean accuracy over seeds with a bootstrap interval (seeds and images).

  Returns (mean, interval low, interval high).
  """
  draws = _resampled_means(accuracies, n, np.random.default_rng(seed), replicates)
  low, high = _percentile_interval(draws, level)
  return float(np.mean(accuracies)), low, high


def bootstrap_difference(accuracies_a: Sequence[float], accuracies_b: Sequence[float],
                         n: int, seed: int = 0, replicates: int = DEFAULT_REPLICATES,
                         level: float = 0.95):
  """Mean accuracy of A minus B over seeds, with a bootstrap interval.

  Returns (difference, interval low, interval high).
  """
  rng = np.random.default_rng(seed)
  draws = (_resampled_means(accuracies_a, n, rng, replicates)
           - _resampled_means(accuracies_b, n, rng, replicates))
  low, high = _percentile_interval(draws, level)
  return float(np.mean(accuracies_a) - np.mean(accuracies_b)), low, high
