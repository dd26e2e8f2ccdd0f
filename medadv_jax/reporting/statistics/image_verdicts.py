"""Each attacked or test image's verdict for a few models of one seed, from the
cells' per_image.json (`per_image_data.load`): the one-seed intervals of
`paired_difference` compare two models image by image."""

from typing import Optional

import numpy as np

from medadv_jax.reporting.inputs import per_image_data


def correct_at(min_eps, eps: float) -> np.ndarray:
  """bool, shape of `min_eps` (fooling radii x 1/255, NaN or inf: never fooled): right at
  radius `eps`, i.e. never fooled within the grid or first fooled above eps."""
  min_eps = np.asarray(min_eps, float)
  return np.isnan(min_eps) | (min_eps > eps)


def worst_case(per_image: dict, models, seed, eps: float) -> Optional[tuple]:
  """Per model of `models` ((size key, mode) pairs), bool (N,): right under the
  worst attack at `eps` (x 1/255) on `seed`'s attacked images, the worst case the
  planned analysis uses (`per_image_data.worst_radius`); None unless every model
  has per-image data on the same images."""
  found = [per_image.get((size, mode, seed)) for size, mode in models]
  if any(f is None or not f['min_eps_255'] for f in found):
    return None
  parsed = [per_image_data.worst_radius(f) for f in found]
  if len({tuple(indices) for indices, _, _ in parsed}) != 1:
    return None
  return tuple(correct_at(radius, eps) for _, _, radius in parsed)


def clean(per_image: dict, models, seed) -> Optional[tuple]:
  """Per model of `models`, bool (N_test,): right on each clean test image in
  `seed`; None unless every model has those verdicts on the same number of images."""
  found = [(per_image.get((size, mode, seed)) or {}).get('test_clean_correct')
           for size, mode in models]
  if any(f is None for f in found) or len({len(f) for f in found}) != 1:
    return None
  return tuple(np.asarray(f, bool) for f in found)
