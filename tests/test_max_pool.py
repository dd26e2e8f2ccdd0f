"""The 2x2 max-pool: nn.max_pool's values and gradient, ties included, and a
gradient program without a scatter."""

import itertools
import re

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from medadv_jax.ops import max_pool

pytestmark = pytest.mark.numerics


def _flax_pool(x):
  return nn.max_pool(x, (2, 2), strides=(2, 2))


def _weighted_sum(pool):
  """A loss whose gradient gives every pooled output a different weight."""
  def loss(x):
    pooled = pool(x)
    return jnp.sum(pooled * jnp.arange(1, pooled.size + 1).reshape(pooled.shape))
  return loss


def _assert_same_as_flax(x):
  np.testing.assert_array_equal(max_pool.max_pool_2x2(x), _flax_pool(x))
  np.testing.assert_array_equal(jax.grad(_weighted_sum(max_pool.max_pool_2x2))(x),
                                jax.grad(_weighted_sum(_flax_pool))(x))


@pytest.mark.parametrize('height, width', [(8, 8), (7, 9)])
def test_values_and_gradients_equal_flax_with_ties_at_zero_and_above(height, width):
  # Rounded and rectified: many windows hold tied maxima, at 0 and above.
  x = jax.nn.relu(jnp.round(1.5 * jax.random.normal(jax.random.key(0),
                                                     (3, height, width, 4))))
  windows = x[:, :height // 2 * 2, :width // 2 * 2].reshape(
      3, height // 2, 2, width // 2, 2, 4)
  ties = jnp.sum(windows == jnp.max(windows, axis=(2, 4), keepdims=True), axis=(2, 4)) > 1
  pooled = jnp.max(windows, axis=(2, 4))
  assert jnp.any(ties & (pooled > 0)) and jnp.any(ties & (pooled == 0))
  _assert_same_as_flax(x)


def test_every_tie_pattern_of_a_window_routes_the_gradient_as_flax_does():
  patterns = np.array(list(itertools.product([0.0, 1.0], repeat=4)), np.float32)
  x = jnp.asarray(patterns.reshape(16, 2, 2, 1))
  _assert_same_as_flax(x)


def test_second_order_gradients_equal_flax():
  x = jax.random.normal(jax.random.key(1), (2, 6, 6, 3))

  def second_order(pool):
    inner = jax.grad(lambda z: jnp.sum(jnp.sin(pool(z)) ** 2))
    return jax.grad(lambda z: jnp.sum(inner(z) ** 2))(x)

  np.testing.assert_allclose(second_order(max_pool.max_pool_2x2),
                             second_order(_flax_pool), rtol=1e-5, atol=1e-6)


def test_the_gradient_program_has_no_scatter():
  x = jnp.zeros((4, 8, 8, 2))

  def operations_of_gradient(pool):
    text = jax.jit(jax.grad(_weighted_sum(pool))).lower(x).compile().as_text()
    return set(re.findall(r'= \S+ ([a-z-]+)\(', text))

  # nn.max_pool's select-and-scatter (XLA's CPU backend rewrites it into a
  # scatter): the check can fail.
  assert operations_of_gradient(_flax_pool) & {'scatter', 'select-and-scatter'}
  assert not operations_of_gradient(max_pool.max_pool_2x2) & {'scatter', 'select-and-scatter'}
