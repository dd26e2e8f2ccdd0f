"""Each attacked or test image's verdict for a few models of one seed, from the
cells' per_image.json (`per_image_data.load`): the one-seed intervals of
`paired_difference` compare two models image by image."""

from typing import Optional

import numpy as np

# per_image.json labels of the per-image worst case, strongest first.
WORST_LABELS = ('Strong + paper attacks (per image)', 'Ensemble (per image)')


def correct_at(min_eps, eps: float) -> np.ndarray:
  """bool, shape of `min_eps` (fooling radii x 1/255, NaN: never fooled): right at
  radius `eps`, i.e. never fooled within the grid or first fooled above eps."""
  min_eps = np.asarray(min_eps, float)
  return np.isnan(min_eps) | (min_eps > eps)


def worst_case(per_image: dict, models, seed, eps: float) -> Optional[tuple]:
  """Per model of `models` ((size key, mode) pairs), bool (N,): right under the
  worst attack at `eps` (x 1/255) on `seed`'s attacked images; None unless every
  model has its per-image worst case on the same images."""
  found = [per_image.get((size, mode, seed)) for size, mode in models]
  if any(f is None for f in found) or len({tuple(f['test_indices']) for f in found}) != 1:
    return None
  label = next((l for l in WORST_LABELS if all(l in f['min_eps_255'] for f in found)), None)
  if label is None:
    return None
  return tuple(correct_at([np.nan if r is None else r for r in f['min_eps_255'][label]], eps)
               for f in found)


def clean(per_image: dict, models, seed) -> Optional[tuple]:
  """Per model of `models`, bool (N_test,): right on each clean test image in
  `seed`; None unless every model has those verdicts on the same number of images."""
  found = [(per_image.get((size, mode, seed)) or {}).get('test_clean_correct')
           for size, mode in models]
  if any(f is None for f in found) or len({len(f) for f in found}) != 1:
    return None
  return tuple(np.asarray(f, bool) for f in found)
