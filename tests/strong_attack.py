"""An adversary for the tests, written apart from the project's attacks.

Sign-gradient ascent on the margin (best other logit minus the true one), from
the clean image and from random starts, with a step that shrinks in stages;
the best margin over every iterate is kept. It shares no code with
`medadv_jax.attacks`, so a fault there cannot hide one in what it checks.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np


def fooled(logits_fn, x, y, eps, key, steps: int = 100, restarts: int = 10,
           batch: int = 64) -> np.ndarray:
  """Whether some point of each image's L-inf ball (radius eps (N,), within
  [0, 1]) is misclassified by `logits_fn` (hashable), as far as this attack finds;
  bool (N,). Single-label y (N,)."""
  return smallest_margin(logits_fn, x, y, eps, key, steps, restarts, batch) < 0


def smallest_margin(logits_fn, x, y, eps, key, steps: int = 100, restarts: int = 10,
                    batch: int = 64) -> np.ndarray:
  """The smallest margin (true logit minus the best other) this attack finds in
  each image's ball, float32 (N,): an upper bound on the true minimum."""
  x, y, eps = np.asarray(x, np.float32), np.asarray(y, np.int32), np.asarray(eps, np.float32)
  out = []
  for start in range(0, x.shape[0], batch):
    sl = slice(start, start + batch)
    out.append(-np.asarray(_best_margin(logits_fn, x[sl], y[sl], eps[sl], key, steps,
                                        restarts)))
  return np.concatenate(out) if out else np.zeros((0,), np.float32)


def _margin(logits_fn, z, y):
  logits = logits_fn(z)
  true = jnp.take_along_axis(logits, y[:, None], axis=1)[:, 0]
  others = jnp.where(jax.nn.one_hot(y, logits.shape[1]) > 0, -jnp.inf, logits)
  return jnp.max(others, axis=1) - true


@functools.partial(jax.jit, static_argnums=(0, 5, 6))
def _best_margin(logits_fn, x, y, eps, key, steps, restarts):
  radius = eps[:, None, None, None]
  lo, hi = jnp.clip(x - radius, 0.0, 1.0), jnp.clip(x + radius, 0.0, 1.0)
  margin = lambda z: _margin(logits_fn, z, y)
  grad = jax.grad(lambda z: jnp.sum(margin(z)))

  def run(r, best):
    noise = jax.random.uniform(jax.random.fold_in(key, r), x.shape, minval=-1.0, maxval=1.0)
    # Restart 0 starts at the clean image, the others anywhere in the ball.
    start = jnp.where(r == 0, x, jnp.clip(x + noise * radius, lo, hi))

    def step(s, carry):
      z, best = carry
      size = radius * jnp.where(s < steps // 2, 0.25, jnp.where(s < 3 * steps // 4, 0.1, 0.03))
      z = jnp.clip(z + size * jnp.sign(grad(z)), lo, hi)
      return z, jnp.maximum(best, margin(z))

    return jax.lax.fori_loop(0, steps, step, (start, best))[1]

  return jax.lax.fori_loop(0, restarts, run, margin(x))
