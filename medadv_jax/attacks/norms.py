"""Threat-model geometry per norm: projection, random start, steepest-ascent step.

Images are (N, ...) in [0, 1]. `eps` is a scalar or a per-example vector (N,)
in [0, 1] pixel units, so one compiled program can attack every example at its
own radius. Random draws take a (N,) array of keys, one per example, so what
an example draws does not depend on the batch it was put in.
"""

import jax
import jax.numpy as jnp

NORMS = ('linf', 'l2')


def per_example(value, like: jnp.ndarray) -> jnp.ndarray:
  """A scalar or (N,) radius in `like`'s dtype, broadcastable against `like`."""
  return broadcastable(jnp.asarray(value, like.dtype), like)


def broadcastable(value: jnp.ndarray, like: jnp.ndarray) -> jnp.ndarray:
  """(N,) reshaped to (N, 1, ..., 1) (dtype kept, e.g. a bool mask); scalars as they are."""
  value = jnp.asarray(value)
  return value.reshape(value.shape + (1,) * (like.ndim - value.ndim)) if value.ndim else value


def example_keys(key: jax.Array, n: int) -> jax.Array:
  """(N,) typed keys: `key` itself if it is one per example, else fold_in(key, i).

  Folding in the example's index (not splitting into n) keeps the key of
  example i the same whatever n is.
  """
  if not jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
    key = jax.random.wrap_key_data(key)
  if key.ndim == 1:
    return key
  return jax.vmap(jax.random.fold_in, (None, 0))(key, jnp.arange(n))


def fold_in_each(keys: jax.Array, data) -> jax.Array:
  """fold_in(keys[i], data) for every example: fresh per-example keys for a step."""
  return jax.vmap(jax.random.fold_in, (0, None))(keys, data)


def l2_norm(delta: jnp.ndarray) -> jnp.ndarray:
  """Per-example Euclidean norm, (N, ...) -> (N, 1, ..., 1)."""
  axes = tuple(range(1, delta.ndim))
  return jnp.sqrt(jnp.sum(jnp.square(delta), axis=axes, keepdims=True))


def project(x_adv: jnp.ndarray, x: jnp.ndarray, eps, norm: str) -> jnp.ndarray:
  """A point of the eps-ball around `x` that is also inside [0, 1].

  L-inf: the nearest such point. L2: the nearest point of the ball, then clipped
  to the box; clipping only shrinks |delta| coordinate-wise (x is in the box),
  so the result stays in the ball.
  """
  eps = per_example(eps, x)
  if norm == 'linf':
    # Clipping x_adv itself (not x + clipped delta) returns x bit-exactly at eps = 0.
    return jnp.clip(jnp.clip(x_adv, x - eps, x + eps), 0.0, 1.0)
  if norm == 'l2':
    delta = x_adv - x
    length = l2_norm(delta)
    scale = jnp.where(length > eps, eps / jnp.maximum(length, 1e-30), 1.0)
    return jnp.clip(x + delta * scale, 0.0, 1.0)
  raise ValueError(f'unknown norm {norm!r}; allowed {NORMS}')


def random_start(x: jnp.ndarray, eps, keys: jax.Array, norm: str) -> jnp.ndarray:
  """A uniformly random point of the eps-ball (L-inf cube or L2 ball), clipped to [0, 1]."""
  shape, eps_b = x.shape[1:], per_example(eps, x)
  if norm == 'linf':
    noise = jax.vmap(lambda k: jax.random.uniform(k, shape, x.dtype, -1.0, 1.0))(keys)
    return project(x + eps_b * noise, x, eps, norm)
  if norm == 'l2':
    # Gaussian direction, radius u**(1/d): uniform in volume.
    direction = jax.vmap(lambda k: jax.random.normal(k, shape, x.dtype))(
        fold_in_each(keys, 0))
    direction = direction / jnp.maximum(l2_norm(direction), 1e-30)
    u = jax.vmap(lambda k: jax.random.uniform(k, (), x.dtype))(fold_in_each(keys, 1))
    radius = per_example(u ** (1.0 / direction[0].size), x)
    return project(x + eps_b * radius * direction, x, eps, norm)
  raise ValueError(f'unknown norm {norm!r}; allowed {NORMS}')


def ascent_step(x_cur: jnp.ndarray, grad: jnp.ndarray, step_size, norm: str) -> jnp.ndarray:
  """Steepest ascent of length `step_size` (scalar or (N,)) under `norm`."""
  step_size = per_example(step_size, x_cur)
  if norm == 'linf':
    return x_cur + step_size * jnp.sign(grad)
  if norm == 'l2':
    return x_cur + step_size * grad / jnp.maximum(l2_norm(grad), 1e-30)
  raise ValueError(f'unknown norm {norm!r}; allowed {NORMS}')
