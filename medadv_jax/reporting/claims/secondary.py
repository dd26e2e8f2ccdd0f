"""The plan's secondary analyses of claim (a), descriptive beside the primary one:
the matched set, the per-image smallest fooling radius, clean accuracy's slope,
and the size slope adjusted for clean accuracy; and the per-image contributions
that the power calculation fits its image variance to."""

import numpy as np

from medadv_jax.reporting.claims import outcomes
from medadv_jax.reporting.statistics import size_slope


def _matched(cells, per_image, seed_index, keep):
  """(K', N) robust radius on the seed's images every kept size got right clean."""
  images = outcomes.seed_images(per_image, cells, cells.seeds[seed_index], keep)
  if images is None:
    return None
  clean, radius = images
  return radius[:, clean.all(0)]


def matched_endpoint(cells, per_image, radii, use) -> np.ndarray:
  """(S, K) robust accuracy over `radii` on each seed's matched set (images every
  used size classifies correctly clean); NaN where a seed lacks per-image data."""
  return _per_image_endpoint(cells, per_image, use,
                             lambda r: outcomes.image_band_accuracy(r, radii).mean(-1))


def log_radius_endpoint(cells, per_image, use) -> np.ndarray:
  """(S, K) mean log2 of the worst-attack fooling radius over the matched set;
  an image no grid radius fools counts at twice the grid's largest radius."""
  cap = 2 * float(cells.radii.max())
  return _per_image_endpoint(cells, per_image, use,
                             lambda r: np.log2(np.minimum(r, cap)).mean(-1))


def _per_image_endpoint(cells, per_image, use, reduce) -> np.ndarray:
  out = np.full(use.shape, np.nan)
  for s in range(len(cells.seeds)):
    radius = _matched(cells, per_image, s, use[s])
    if radius is not None and radius.shape[1]:
      out[s, use[s]] = reduce(radius)
  return out


def slope_contrasts(cells, per_image, radii, min_sizes: int) -> list:
  """Per seed, each image's contribution to its slope (the slope is their mean):
  sum_k c_k y_ik with c the least-squares weights over the seed's fit sizes."""
  out = []
  for s, seed in enumerate(cells.seeds):
    keep = cells.fit[s]
    if keep.sum() < min_sizes:
      continue
    images = outcomes.seed_images(per_image, cells, seed, keep)
    if images is None:
      continue
    x = cells.log2_params[keep]
    weights = (x - x.mean()) / ((x - x.mean()) ** 2).sum()
    out.append(weights @ outcomes.image_band_accuracy(images[1], radii))
  return out


def gain_contrasts(adv, base, per_image, radii, k, seeds_in) -> list:
  """Per seed, each image's gain at size k (the seed's gain is their mean)."""
  out = []
  for s, seed in enumerate(adv.seeds):
    if not seeds_in[s]:
      continue
    a = outcomes.seed_images(per_image, adv, seed, np.arange(len(adv.sizes)) == k)
    b = outcomes.seed_images(per_image, base, seed, np.arange(len(base.sizes)) == k)
    if a is None or b is None or a[1].shape != b[1].shape:
      continue
    out.append(outcomes.image_band_accuracy(a[1][0], radii)
               - outcomes.image_band_accuracy(b[1][0], radii))
  return out


def adjusted_slopes(log2_params, endpoint, clean, use) -> np.ndarray:
  """(S,) per seed, the coefficient of log2 parameters in endpoint ~ 1 + log2
  params + clean accuracy (needs 4 used sizes); NaN otherwise."""
  out = np.full(endpoint.shape[0], np.nan)
  for s in range(endpoint.shape[0]):
    k = use[s] & np.isfinite(endpoint[s]) & np.isfinite(clean[s])
    if k.sum() >= 4:
      design = np.column_stack([np.ones(k.sum()), log2_params[k], clean[s, k]])
      coef, *_ = np.linalg.lstsq(design, endpoint[s, k], rcond=None)
      out[s] = coef[1]
  return out


def estimates(cells, per_image, radii, plan) -> dict:
  """{name: (mean, low, high, seeds)} of each secondary slope the plan declares."""
  use = cells.fit
  endpoint = outcomes.band_accuracy(cells, radii)
  slopes = {
      'matched_set': lambda: size_slope.seed_slopes(
          cells.log2_params, matched_endpoint(cells, per_image, radii, use), use,
          plan.min_sizes),
      'log_min_eps': lambda: size_slope.seed_slopes(
          cells.log2_params, log_radius_endpoint(cells, per_image, use), use,
          plan.min_sizes),
      'clean_slope': lambda: size_slope.seed_slopes(cells.log2_params, cells.clean, use,
                                                    plan.min_sizes),
      'adjusted_slope': lambda: adjusted_slopes(cells.log2_params, endpoint, cells.clean, use),
  }
  out = {}
  for name in plan.secondary:
    values = slopes[name]()
    values = values[np.isfinite(values)]
    mean, low, high = (float(v) for v in size_slope.t_interval(values))
    out[name] = (mean, low, high, int(len(values)))
  return out
