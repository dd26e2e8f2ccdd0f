"""A generator of per-image outcomes with a known answer: seed random effects,
image noise shared across a seed's cells, and a size slope. Used by the power
calculation and by the coverage tests."""

import numpy as np
from scipy import stats


def size_probabilities(rng, studies: int, seeds: int, log2_params, intercept: float,
                       slope, seed_sd: float, slope_sd: float, size_sd: float) -> np.ndarray:
  """(studies, seeds, K) probability that an image is robust: intercept +
  slope * centred log2 params, plus per seed a random level (seed_sd), a random
  slope (slope_sd) and a random size-by-seed term (size_sd). `slope` may be a
  scalar or a (K,) profile added as is (e.g. a zig-zag)."""
  x = np.asarray(log2_params, float)
  x = x - x.mean()
  shape = (studies, seeds, 1)
  level = intercept + rng.normal(0, seed_sd, shape)
  tilt = rng.normal(0, slope_sd, shape)
  profile = np.asarray(slope, float) * (x if np.ndim(slope) == 0 else 1)
  return level + profile + tilt * x + rng.normal(0, size_sd, (studies, seeds, len(x)))


def outcomes(rng, probability, images: int, image_corr: float) -> np.ndarray:
  """bool (..., C, images): each image robust or not in each of a seed's C cells
  (`probability` (..., C), clipped to [0, 1]). An image's latent difficulty is
  shared by the seed's cells (correlation `image_corr`), so sizes and arms of a
  seed are paired over the same images, as in a study."""
  p = np.clip(np.asarray(probability, float), 0, 1)
  shared = rng.standard_normal(p.shape[:-1] + (1, images))
  own = rng.standard_normal(p.shape + (images,))
  z = np.sqrt(image_corr) * shared + np.sqrt(1 - image_corr) * own
  return stats.norm.cdf(z) < p[..., None]
