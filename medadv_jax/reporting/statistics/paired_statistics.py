"""Paired, hierarchical statistics for the report: intervals that respect how the
study's numbers were measured.

Every model of one training seed is attacked on the same test images, so the
verdicts of two models on one image are paired, and the seeds themselves are a
sample. `statistics` bootstraps each model's accuracy as an independent Binomial,
which ignores the pairing: two models that differ on a handful of images look no
more different than two that differ on half the test set. Here a bootstrap
replicate draws seeds with replacement and, within each drawn seed, images with
replacement, the same images for every model, so that shared image difficulty
cancels out of paired comparisons while the seed-to-seed spread stays in.

On top of that: the matched set (images every model gets right when clean) and
log fooling radii. These intervals are descriptive; the claims' verdicts come
from the planned analysis (`claims/`).

Inputs are numpy arrays, one per seed, of shape (M models, N_s images); the M
models are the same, in the same order, in every seed, N_s may differ. Radii are
in the study's grid units (x 1/255) unless stated; only their ratios matter here.
"""

import dataclasses
import math
from typing import Callable, NamedTuple, Sequence

import numpy as np

from medadv_jax.reporting.statistics import bootstrap as per_model

# (Resample, model, image) elements handled at once: bounds memory for large test sets.
_CHUNK_ELEMENTS = 1 << 22

Statistic = Callable[[np.ndarray], np.ndarray]


class Estimate(NamedTuple):
  """A point estimate with its bootstrap interval (NaN where undefined)."""
  estimate: float
  low: float
  high: float


@dataclasses.dataclass(frozen=True, eq=False)
class Paired:
  """Per-image results of one study arm, paired across models within each seed.

  Lists are accepted and stored as tuples of arrays, checked for matching shapes
  (no equality or hash: arrays have neither).

  Attributes:
    min_eps: per seed, float (M, N_s): the smallest grid radius that fools each
      model on each image; 0 (the grid's first radius) for an image wrong when
      clean, NaN for one never fooled within the grid.
    clean_correct: per seed, bool (M, N_s): each model right on the clean image.
  """
  min_eps: tuple[np.ndarray, ...]
  clean_correct: tuple[np.ndarray, ...]

  def __post_init__(self):
    min_eps = tuple(np.asarray(m, float) for m in self.min_eps)
    clean = tuple(np.asarray(c, bool) for c in self.clean_correct)
    _check_per_seed(min_eps, 'min_eps')
    if len(clean) != len(min_eps) or any(c.shape != m.shape for c, m in zip(clean, min_eps)):
      raise ValueError(f'clean_correct: shapes {[c.shape for c in clean]} must match '
                       f'min_eps {[m.shape for m in min_eps]}, seed by seed')
    object.__setattr__(self, 'min_eps', min_eps)
    object.__setattr__(self, 'clean_correct', clean)

  @property
  def n_models(self) -> int:
    return self.min_eps[0].shape[0]


def _check_per_seed(per_seed: Sequence[np.ndarray], name: str) -> None:
  """Raises a ValueError unless `per_seed` is a non-empty list of 2-D arrays with
  the same number of rows (models) and at least one column (image) each."""
  if len(per_seed) == 0:
    raise ValueError(f'{name}: needs at least one seed, got none')
  shapes = [np.shape(v) for v in per_seed]
  if any(len(s) != 2 for s in shapes) or len({s[0] for s in shapes}) != 1:
    raise ValueError(f'{name}: per seed an array (models, images) with the same number '
                     f'of models in every seed; got shapes {shapes}')
  if any(s[1] == 0 for s in shapes):
    raise ValueError(f'{name}: every seed needs at least one image; got shapes {shapes}')


def correct_at(min_eps: np.ndarray, eps: float) -> np.ndarray:
  """bool, shape of `min_eps`: the model is right at radius `eps` (same units),
  i.e. never fooled within the grid (NaN) or first fooled at a larger radius."""
  min_eps = np.asarray(min_eps, float)
  return np.isnan(min_eps) | (min_eps > eps)


def correct_per_seed(paired: Paired, eps: float) -> list[np.ndarray]:
  """Per seed, float 0/1 (M, N_s): correctness at radius `eps`, ready to bootstrap."""
  return [correct_at(m, eps).astype(float) for m in paired.min_eps]


def matched_set(clean_correct: Sequence[np.ndarray]) -> list[np.ndarray]:
  """Per seed, bool (N_s,): images every model gets right when clean.

  Comparing accuracy under attack on these alone keeps a model's clean errors
  from counting as robustness failures, and gives every model the same images.
  """
  return [np.asarray(c, bool).all(axis=0) for c in clean_correct]


def restrict(per_seed_values: Sequence[np.ndarray],
             masks: Sequence[np.ndarray]) -> list[np.ndarray]:
  """Per seed, the columns (images) of `per_seed_values` where `masks` is True."""
  return [np.asarray(v)[:, np.asarray(m, bool)] for v, m in zip(per_seed_values, masks)]


# --- The hierarchical bootstrap -------------------------------------------------

def _weighted_mean(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
  """(D, M): each model's mean over D resamples given as image counts (D, N)."""
  return counts @ values.T / values.shape[1]


def _weighted_median(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
  """(D, M): each model's median over D resamples given as image counts (D, N),
  equal to np.median of the drawn values, from one sort per model rather than
  one per resample."""
  n_images = values.shape[1]
  orders = np.argsort(values, axis=1, kind='stable')  # (M, N)
  ranked = np.take_along_axis(values, orders, axis=1)
  filled = np.cumsum(counts[:, orders], axis=2)  # (D, M, N): drawn values <= each.
  # Position k of a sorted resample holds the first value whose running count exceeds k.
  halves = [np.count_nonzero(filled <= k, axis=2) for k in
            ((n_images - 1) // 2, n_images // 2)]  # Both middles, for even N.
  models = np.arange(values.shape[0])
  return (ranked[models, halves[0]] + ranked[models, halves[1]]) / 2


_REDUCERS = {'mean': (np.mean, _weighted_mean), 'median': (np.median, _weighted_median)}


def _seed_values(per_seed_values, reduce: str) -> np.ndarray:
  """(M,): each model's per-seed `reduce` over images, averaged over seeds."""
  return np.mean([_REDUCERS[reduce][0](v, axis=1) for v in per_seed_values], axis=0)


def _replicate_values(per_seed_values, reduce: str, replicates: int,
                      rng: np.random.Generator) -> np.ndarray:
  """(replicates, M): the bootstrap distribution of `_seed_values`.

  Drawing a seed k times in a replicate means k independent image resamples of
  it, so each seed's draws over all replicates are made in one batch, as counts
  per image shared by every model (that is the pairing), and summed back into
  their replicates.
  """
  n_seeds, n_models = len(per_seed_values), per_seed_values[0].shape[0]
  picks = rng.integers(0, n_seeds, size=(replicates, n_seeds))
  totals = np.zeros((replicates, n_models))
  for s, values in enumerate(per_seed_values):
    owners = np.nonzero(picks == s)[0]  # A replicate once per draw of seed s.
    n_images = values.shape[1]
    chunk = max(1, _CHUNK_ELEMENTS // (n_images * n_models))
    for start in range(0, owners.size, chunk):
      rows = owners[start:start + chunk]
      images = rng.integers(0, n_images, size=(rows.size, n_images))
      flat = (np.arange(rows.size)[:, None] * n_images + images).ravel()
      counts = np.bincount(flat, minlength=rows.size * n_images)
      counts = counts.reshape(rows.size, n_images).astype(np.int32)
      np.add.at(totals, rows, _REDUCERS[reduce][1](values, counts))
  return totals / n_seeds


def hierarchical_bootstrap(per_seed_values: Sequence[np.ndarray], statistic: Statistic,
                           replicates: int = per_model.DEFAULT_REPLICATES,
                           seed: int = 0, level: float = 0.95,
                           reduce: str = 'mean') -> Estimate:
  """A statistic of the models' means, with a seeds-then-images bootstrap interval.

  Each replicate draws the seeds with replacement, then within each drawn seed
  its images with replacement (the same draws for all models), takes each
  model's `reduce` ('mean' or 'median') over the drawn images and averages that
  over the drawn seeds. With one seed this is the image-level paired bootstrap.

  Args:
    per_seed_values: per seed, float (M, N_s), e.g. 0/1 correct or log radii.
    statistic: (R, M) model values -> (R,), vectorised (e.g. `difference(0, 1)`).
    replicates: bootstrap replicates.
    seed: seed of the resampling.
    level: coverage of the percentile interval.
    reduce: 'mean', or 'median' for a per-seed median over images.

  Returns:
    Estimate: the statistic of the original data (per-seed `reduce`, averaged
    over seeds) and the percentile interval; the interval is NaN when over 5 %
    of replicates give NaN.
  """
  values = [np.asarray(v, float) for v in per_seed_values]
  _check_per_seed(values, 'per_seed_values')
  if not all(np.isfinite(v).all() for v in values):
    raise ValueError('per_seed_values: every value must be finite (censor radii with '
                     'log_radius; restrict to the images to compare instead of NaN)')
  if reduce not in _REDUCERS:
    raise ValueError(f'reduce: {reduce!r} is not one of {sorted(_REDUCERS)}')
  if replicates < 1 or not 0 < level < 1:
    raise ValueError(f'replicates {replicates} must be >= 1 and level {level} in (0, 1)')
  point = float(statistic(_seed_values(values, reduce)[None])[0])
  draws = statistic(_replicate_values(values, reduce, replicates,
                                      np.random.default_rng(seed)))
  # Dropping many undefined replicates would leave a falsely narrow interval.
  if np.mean(np.isnan(draws)) > per_model.MAX_UNDEFINED_FRACTION:
    return Estimate(point, float('nan'), float('nan'))
  low, high = per_model._percentile_interval(draws[~np.isnan(draws)], level)
  return Estimate(point, low, high)


# --- Statistics for it: (R, M) -> (R,) -----------------------------------------

def spearman_with(sizes: Sequence[float]) -> Statistic:
  """Spearman's rho between `sizes` (M,) and each row of model values; NaN where a
  row is constant. Average ranks for ties."""
  sizes = np.asarray(sizes, float)

  def rho(values: np.ndarray) -> np.ndarray:
    if values.shape[1] != sizes.size:
      raise ValueError(f'spearman_with: {sizes.size} sizes for {values.shape[1]} models')
    return per_model._row_spearman(sizes, values)
  return rho


def difference(i: int, j: int) -> Statistic:
  """Model i's value minus model j's (e.g. largest minus smallest size)."""
  return lambda values: values[:, i] - values[:, j]


def component(i: int) -> Statistic:
  """Model i's value alone."""
  return lambda values: values[:, i]


# --- Fooling radii ---------------------------------------------------------------

def log_radius(min_eps: np.ndarray, grid_max: float) -> np.ndarray:
  """Natural log of each image's fooling radius, shape of `min_eps`.

  Images never fooled within the grid (NaN) are censored at the grid's largest
  radius `grid_max` (same units): their true radius is at least that, so a mean
  over them is a lower bound (as is a median once over half are censored).
  Radius 0 (wrong when clean) has no log: restrict to the matched set first.
  """
  min_eps = np.asarray(min_eps, float)
  if np.any(min_eps <= 0) or not grid_max > 0:
    raise ValueError('log_radius: radii and grid_max must be > 0; an image fooled at '
                     'radius 0 is wrong when clean, so keep the matched set only')
  return np.log(np.where(np.isnan(min_eps), grid_max, np.minimum(min_eps, grid_max)))


def matched_log_radii(paired: Paired, grid_max: float) -> list[np.ndarray]:
  """Per seed, float (M, N_matched): log fooling radii on the matched set."""
  kept = restrict(paired.min_eps, matched_set(paired.clean_correct))
  return [log_radius(m, grid_max) for m in kept]


def log_radius_centre(paired: Paired, grid_max: float, model: int,
                      reduce: str = 'median', **bootstrap) -> Estimate:
  """One model's median (or mean) log fooling radius over the matched set, with
  its hierarchical interval; `bootstrap` goes to `hierarchical_bootstrap`."""
  return hierarchical_bootstrap(matched_log_radii(paired, grid_max), component(model),
                                reduce=reduce, **bootstrap)


def log_radius_difference(paired: Paired, grid_max: float, i: int, j: int,
                          reduce: str = 'median', **bootstrap) -> Estimate:
  """Model i's median (or mean) log fooling radius minus model j's, on the same
  matched images, with the paired interval: a log ratio of radii, unit-free."""
  return hierarchical_bootstrap(matched_log_radii(paired, grid_max), difference(i, j),
                                reduce=reduce, **bootstrap)


def unpaired_difference_interval(acc_a_per_seed: Sequence[float],
                                 acc_b_per_seed: Sequence[float], n: int,
                                 **bootstrap) -> Estimate:
  """Mean accuracy of A minus B over seeds, bootstrapped as independent Binomials
  on `n` images each (`bootstrap.bootstrap_difference`), for comparison."""
  return Estimate(*per_model.bootstrap_difference(acc_a_per_seed, acc_b_per_seed, n,
                                                   **bootstrap))
