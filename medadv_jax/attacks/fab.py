"""FAB, L-infinity (Croce and Hein, ICML 2020): the minimum-norm member of
AutoAttack's standard set, which no fixed-radius attack replaces.

Follows the reference implementation (fra31/auto-attack, `fab_base.py`): at the
current point, linearise the boundary between the true class and the target
(targeted) or the nearest other class (untargeted), project both the current
point and the clean image onto that hyperplane within the pixel box (the exact
L-inf projection, `project_to_hyperplane`), step to a mix of the two
projections biased to the clean image (weight at most alpha_max), overshoot by
eta; once misclassified, keep the point if it is the closest so far and step
back towards the clean image by beta. Per example; a gradient and a forward
pass per iteration.
"""

import jax
import jax.numpy as jnp

from medadv_jax.attacks import norms, objectives

ALPHA_MAX = 0.1
ETA = 1.05
BETA = 0.9


def project_to_hyperplane(t: jnp.ndarray, w: jnp.ndarray, b: jnp.ndarray) -> jnp.ndarray:
  """The L-inf-smallest d with w . (t + d) = b and t + d in [0, 1]; where no
  point of the box reaches the plane, the box corner closest to it.

  t, w (N, D); b (N,). Coordinate i moves by at most r towards the plane, as
  far as its box side allows (room_i); the change of w . d, sum |w_i| min(r,
  room_i), is piecewise linear in r with kinks at the sorted rooms, so the
  smallest r that closes the gap is found exactly from cumulative sums.
  """
  gap = b - jnp.sum(w * t, axis=1)
  direction = jnp.sign(gap)[:, None] * jnp.sign(w)
  room = jnp.where(direction > 0, 1.0 - t, jnp.where(direction < 0, t, 0.0))
  weight = jnp.abs(w) * (direction != 0)
  order = jnp.argsort(room, axis=1)
  room_s = jnp.take_along_axis(room, order, axis=1)
  weight_s = jnp.take_along_axis(weight, order, axis=1)
  cum_wr = jnp.cumsum(weight_s * room_s, axis=1)
  cum_w = jnp.cumsum(weight_s, axis=1)
  total = cum_w[:, -1:]
  need = jnp.abs(gap)
  reached = cum_wr + room_s * (total - cum_w)  # Change of w . d at r = each kink.
  k = jnp.sum(reached < need[:, None], axis=1)  # Kinks below the plane.
  before = lambda a: jnp.where(
      k > 0, jnp.take_along_axis(a, jnp.maximum(k - 1, 0)[:, None], axis=1)[:, 0], 0.0)
  slope = total[:, 0] - before(cum_w)
  radius = (need - before(cum_wr)) / jnp.maximum(slope, 1e-30)
  radius = jnp.where(k >= t.shape[1], room_s[:, -1], radius)  # Out of reach: the corner.
  return direction * jnp.minimum(radius[:, None], room)


def logit_of(logits: jnp.ndarray, labels: jnp.ndarray) -> jnp.ndarray:
  return jnp.take_along_axis(logits, labels[:, None], axis=-1)[:, 0]


def _boundary(logits_fn, x, y, targets, target_mode: str):
  """(f (N,), grad f (N, ...)) of the boundary to cross: f = z_y - z_t > 0 while
  the target t (untargeted: the class whose linearised boundary is nearest in
  L-inf) has not overtaken the true class."""
  def value_grad(other):
    def gaps(images):
      logits = logits_fn(images)
      per_example = logit_of(logits, y) - logit_of(logits, other)
      return jnp.sum(per_example), per_example
    (_, f), g = jax.value_and_grad(gaps, has_aux=True)(x)
    return f, g

  if target_mode != 'untargeted':
    return value_grad(targets)
  classes = jnp.arange(logits_fn(x).shape[-1])
  f, g = jax.vmap(lambda c: value_grad(jnp.full_like(y, c)))(classes)  # (K, N), (K, N, ...)
  distance = jnp.abs(f) / (1e-12 + jnp.sum(jnp.abs(g), axis=tuple(range(2, g.ndim))))
  distance = jnp.where(classes[:, None] == y[None, :], jnp.inf, distance)
  nearest = jnp.argmin(distance, axis=0)
  pick = lambda a: jnp.take_along_axis(
      a, nearest.reshape((1, -1) + (1,) * (a.ndim - 2)), axis=0)[0]
  return pick(f), pick(g)


def fab(logits_fn, x, y, key, *, steps: int, target_mode: str = 'untargeted',
        random_start_eps=None, alpha_max: float = ALPHA_MAX, eta: float = ETA,
        beta: float = BETA):
  """Minimum-norm L-inf adversarial points and their radii.

  Args:
    logits_fn: (N, H, W, C) -> (N, K) softmax logits (single-label only).
    x: (N, H, W, C) clean images in [0, 1]; y: (N,) int labels.
    key: one key or (N,) per-example keys (used only for a random start).
    steps: iterations (static); the reference's standard budget is 100.
    target_mode: 'untargeted' or a targeted mode of `objectives`.
    random_start_eps: None starts at the clean image (the reference's first
      run); else a random point at half this L-inf radius (its restarts).

  Returns:
    (x_adv (N, H, W, C), radius (N,)): the closest misclassified point found and
    its L-inf distance to x; 0 for an image misclassified when clean, inf (and
    the last iterate) where none was found.
  """
  if objectives.is_multilabel(y):
    raise ValueError('FAB attacks single-label models; got (N, L) labels')
  n = x.shape[0]
  keys = norms.example_keys(key, n)
  targets = objectives.attack_labels(logits_fn, x, y, target_mode)
  flat = lambda a: a.reshape(n, -1)
  linf = lambda a: jnp.max(jnp.abs(flat(a)), axis=1)
  x_start = x
  if random_start_eps is not None:
    noise = jax.vmap(lambda k: jax.random.uniform(k, x.shape[1:], x.dtype, -1.0, 1.0))(keys)
    scale = 0.5 * norms.per_example(random_start_eps, x) / norms.broadcastable(
        jnp.maximum(linf(noise), 1e-12), x)
    x_start = jnp.clip(x + scale * noise, 0.0, 1.0)
  fooled0 = objectives.misclassified(logits_fn(x), y)
  radius0 = jnp.where(fooled0, 0.0, jnp.inf).astype(x.dtype)

  def body(_, carry):
    x1, best_x, best_r = carry
    f, g = _boundary(logits_fn, x1, y, targets, target_mode)
    w = flat(g)
    b = jnp.sum(w * flat(x1), axis=1) - f
    d1 = project_to_hyperplane(flat(x1), w, b).reshape(x.shape)
    d2 = project_to_hyperplane(flat(x), w, b).reshape(x.shape)
    a1, a2 = jnp.maximum(linf(d1), 1e-8), jnp.maximum(linf(d2), 1e-8)
    alpha = norms.broadcastable(jnp.clip(a1 / (a1 + a2), 0.0, alpha_max), x)
    x1 = jnp.clip((x1 + eta * d1) * (1.0 - alpha) + (x + eta * d2) * alpha, 0.0, 1.0)
    adv = objectives.misclassified(logits_fn(x1), y)
    r = linf(x1 - x)
    better = adv & (r < best_r)
    best_x = jnp.where(norms.broadcastable(better, x), x1, best_x)
    best_r = jnp.where(better, r, best_r)
    x1 = jnp.where(norms.broadcastable(adv, x), x + beta * (x1 - x), x1)
    return x1, best_x, best_r

  x_last, best_x, best_r = jax.lax.fori_loop(0, steps, body, (x_start, x, radius0))
  found = jnp.isfinite(best_r)
  return jnp.where(norms.broadcastable(found, x), best_x, x_last), best_r


def fab_at(logits_fn, x, y, eps, key, *, steps: int, target_mode: str = 'untargeted',
           random_start: bool = False):
  """FAB as a fixed-radius attack: its closest point, projected into the eps-ball
  (unchanged where its radius is at most eps)."""
  x_adv, _ = fab(logits_fn, x, y, key, steps=steps, target_mode=target_mode,
                 random_start_eps=eps if random_start else None)
  return norms.project(x_adv, x, eps, 'linf')
