"""Per-example minimal fooling radius: the robustness curve in one number per image.

`evaluate_min_eps` finds it by bisection over the grid's indices, one attack
per example per round (each example at its own radius), so about log2(E)
attacks per example instead of E. Bisection assumes the attack succeeds at
every radius above one where it succeeded; where a random start makes it
fail at a smaller radius that a full grid would have tried, bisection can
report a larger radius than 'vmap' or 'cascade' (a higher accuracy). The radius
it reports is always one at which the attack was run and succeeded.
"""

import numpy as np

from medadv_jax.attacks import eps_grid


def evaluate_min_eps(attack, apply_fn, variables, images: np.ndarray, labels: np.ndarray,
                     eps: np.ndarray, key, max_images_per_program: int, *,
                     correct_at) -> np.ndarray:
  """Correctness (E, N), cumulated, from each example's bisected first fooling index.

  `correct_at` is `schedules.correct_at` (passed in to keep the modules acyclic).
  """
  first = bisect_first_fooled(attack, apply_fn, variables, images, labels, eps, key,
                              max_images_per_program, correct_at)
  return verdicts_from_first_fooled(first, eps.size)


def bisect_first_fooled(attack, apply_fn, variables, images, labels, eps, key,
                        max_images_per_program, correct_at) -> np.ndarray:
  """Smallest grid index at which the attack fools each example, int (N,); E if none."""
  size = eps.size
  clean = eps_grid.clean_correct(apply_fn, variables, images, labels,
                                 max_images_per_program)
  # At eps = 0 the attack returns the clean image, so only radii above it are searched.
  start = 1 if eps[0] == 0 else 0
  low = np.where(clean, start, 0)
  high = np.where(clean, size, 0)
  while True:
    active = np.flatnonzero(low < high)
    if active.size == 0:
      return low
    mid = (low[active] + high[active]) // 2
    still_correct = correct_at(attack, apply_fn, variables, images, labels, active,
                               eps[mid], key, max_images_per_program)
    low[active] = np.where(still_correct, mid + 1, low[active])
    high[active] = np.where(still_correct, high[active], mid)


def first_fooled_index(worst: np.ndarray) -> np.ndarray:
  """From cumulated correctness (E, N): first index where it is False, int (N,); E if never."""
  fooled = ~worst
  return np.where(fooled.any(axis=0), np.argmax(fooled, axis=0), worst.shape[0])


def verdicts_from_first_fooled(first: np.ndarray, size: int) -> np.ndarray:
  """bool (E, N): correct at index e exactly when e < first fooling index."""
  return np.arange(size)[:, None] < first[None, :]


def min_eps_of(first: np.ndarray, eps: np.ndarray) -> np.ndarray:
  """Minimal fooling radius per example, (N,), same units as `eps`; inf if never fooled."""
  padded = np.append(np.asarray(eps, np.float64), np.inf)
  return padded[first]
