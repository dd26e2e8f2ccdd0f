"""Square attack, L-infinity (Andriushchenko et al., ECCV 2020): gradient-free
random search, the check against gradient masking.

Follows the reference implementation (fra31/auto-attack, `square.py`): start
from vertical stripes of +-eps, then each query moves one random square
window (one sign per channel) to the corner of the ball and keeps the change
if the loss fell; the window's area shrinks on the schedule of `p_schedule`.
Windows and signs are drawn per example (as in the authors' first code), so an
example's attack does not depend on its batch.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np

from medadv_jax.attacks import best_iterate, norms, objectives

# Key data for the start; queries use their index, which never reaches it.
_START_TAG = 2**31 - 1


def p_schedule(i: int, queries: int, p_init: float) -> float:
  """Fraction of the image a window covers at query i, rescaled to 10,000 queries."""
  it = int(i / queries * 10000)
  for bound, divisor in ((10, 1), (50, 2), (200, 4), (500, 8), (1000, 16), (2000, 32),
                         (4000, 64), (6000, 128), (8000, 256)):
    if it <= bound:
      return p_init / divisor
  return p_init / 512


def window_sizes(queries: int, p_init: float, height: int, width: int) -> np.ndarray:
  """Side of the square window at each query, int (queries,), in [1, min(H, W)]."""
  sides = [round(math.sqrt(p_schedule(i, queries, p_init) * height * width))
           for i in range(queries)]
  return np.clip(np.asarray(sides, np.int32), 1, min(height, width))


def square(logits_fn, x, y, eps, key, *, queries: int, target_mode: str = 'untargeted',
           p_init: float = 0.8):
  """L-inf Square attack with `queries` model evaluations after the start.

  Minimises the margin z_y - max_{i != y} z_i (untargeted) or the target's
  cross-entropy (targeted); multi-label: minus the summed binary cross-entropy.

  Args:
    logits_fn: (N, H, W, C) -> (N, K); only called, never differentiated.
    x: (N, H, W, C) clean images in [0, 1]; y: (N,) int or (N, L) 0/1 labels.
    eps: radius in [0, 1] pixel units, scalar or (N,).
    key: one key or (N,) per-example keys.

  Returns:
    The first point that succeeds (see `best_iterate`), else the point of lowest
    loss; inside the ball and inside [0, 1].
  """
  n, height, width, channels = x.shape
  keys = norms.example_keys(key, n)
  targets = objectives.attack_labels(logits_fn, x, y, target_mode)
  # Multi-label: the summed cross-entropy, which every label's progress lowers; the
  # smallest signed logit would stall greedy search once that label is at its corner.
  untargeted_single = target_mode == 'untargeted' and not objectives.is_multilabel(y)
  loss_name = 'margin' if untargeted_single else 'ce'
  eps_b = norms.per_example(eps, x)
  top_level = objectives.max_success_level(target_mode)

  def evaluate(x_new):
    logits = logits_fn(x_new)
    loss = -objectives.objective(loss_name, logits, y, targets, target_mode)
    return loss, objectives.success_level(logits, y, targets, target_mode)

  def signs(keys_now, shape):
    return jax.vmap(lambda k: jax.random.rademacher(k, shape, x.dtype))(keys_now)

  stripes = signs(norms.fold_in_each(keys, _START_TAG), (1, width, channels))
  x_best = norms.project(x + eps_b * stripes, x, eps, 'linf')
  loss_best, level = evaluate(x_best)
  best = best_iterate.update(best_iterate.init(x_best), x_best, level)
  sides = jnp.asarray(window_sizes(queries, p_init, height, width))
  rows = jnp.arange(height)[None, :, None, None]
  cols = jnp.arange(width)[None, None, :, None]

  def body(i, carry):
    x_best, loss_best, best = carry
    side = sides[i]
    keys_now = norms.fold_in_each(keys, i)
    corner = jax.vmap(lambda k: jax.random.randint(k, (2,), 0, jnp.array(
        [height, width]) - side + 1))(norms.fold_in_each(keys_now, 0))
    top, left = corner[:, 0, None, None, None], corner[:, 1, None, None, None]
    inside = (rows >= top) & (rows < top + side) & (cols >= left) & (cols < left + side)
    # Adding 2 eps then projecting puts the whole window at x +- eps.
    shift = 2.0 * eps_b * signs(norms.fold_in_each(keys_now, 1), (1, 1, channels))
    x_new = norms.project(jnp.where(inside, x_best + shift, x_best), x, eps, 'linf')
    loss_new, level_new = evaluate(x_new)
    searching = best.level < top_level
    # As the reference: keep a lower loss, or a point that already succeeds.
    accept = searching & ((loss_new < loss_best) | (level_new >= top_level))
    x_best = jnp.where(norms.broadcastable(accept, x), x_new, x_best)
    loss_best = jnp.where(accept, loss_new, loss_best)
    best = best_iterate.update(best, x_new, jnp.where(searching, level_new, 0))
    return x_best, loss_best, best

  x_best, _, best = jax.lax.fori_loop(0, queries, body, (x_best, loss_best, best))
  return best_iterate.result(best, x_best)
