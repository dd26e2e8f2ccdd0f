"""Which iterate an attack returns: the first that succeeds best, else a fallback.

Any point inside the ball is a valid adversarial example, so returning the
best one the attack visited is the attacker's right and makes it no weaker.
"Best" is the success level of `objectives.success_level`: a targeted attack
prefers the first iterate classified as its target, then the first merely
misclassified one; an untargeted attack takes the first misclassified one.
"""

from typing import NamedTuple

import jax.numpy as jnp

from medadv_jax.attacks import norms


class Best(NamedTuple):
  x: jnp.ndarray  # (N, ...) best iterate so far.
  level: jnp.ndarray  # (N,) int, its success level (0: not fooled).


def init(x_start: jnp.ndarray) -> Best:
  return Best(x_start, jnp.zeros(x_start.shape[:1], jnp.int32))


def update(best: Best, x_cur: jnp.ndarray, level_now: jnp.ndarray) -> Best:
  """Keeps the first iterate of each higher level; ties keep the earlier one."""
  better = level_now > best.level
  return Best(jnp.where(norms.broadcastable(better, x_cur), x_cur, best.x),
              jnp.maximum(level_now, best.level))


def result(best: Best, fallback: jnp.ndarray) -> jnp.ndarray:
  """The best iterate where one succeeded, else `fallback` (e.g. the last iterate)."""
  return jnp.where(norms.broadcastable(best.level > 0, fallback), best.x, fallback)
