"""Checks shared by the tests of the project's convolutions: values, gradients
and second-order gradients equal lax's."""

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from medadv_jax.ops import fast_conv_gradient


def both_convs(image_shape, kernel_shape, strides, padding, **arguments):
  """(image, kernel, lax's convolution, the project's) for random data; each
  convolution (x, k) -> output takes `arguments` as lax.conv_general_dilated does."""
  rng = np.random.default_rng(0)
  image = jnp.asarray(rng.normal(size=image_shape), jnp.float32)
  kernel = jnp.asarray(rng.normal(size=kernel_shape), jnp.float32)

  def conv_with(conv):
    return lambda x, k: conv(x, k, strides, padding, **arguments)
  return image, kernel, conv_with(lax.conv_general_dilated), conv_with(
      fast_conv_gradient.conv_general_dilated)


def tanh_loss(conv, output_shape):
  """(x, k) -> a scalar of conv's output, weighted by a fixed random cotangent
  that is not all ones, so that a transposed, flipped or misplaced kernel shows."""
  weights = jnp.asarray(np.random.default_rng(1).normal(size=output_shape), jnp.float32)
  return lambda x, k: jnp.sum(jnp.tanh(conv(x, k)) * weights)


def assert_values_and_gradients_match(fast, reference, image, kernel):
  np.testing.assert_allclose(fast(image, kernel), reference(image, kernel), rtol=1e-5,
                             atol=1e-5)
  shape = reference(image, kernel).shape
  for argnum in (0, 1):
    np.testing.assert_allclose(jax.grad(tanh_loss(fast, shape), argnum)(image, kernel),
                               jax.grad(tanh_loss(reference, shape), argnum)(image, kernel),
                               rtol=1e-4, atol=1e-5)


def assert_second_order_gradients_match(fast, reference, image, kernel, atol):
  # Training of a TRADES-like objective differentiates through an image gradient.
  def grad_norm(conv):
    return lambda k: jnp.sum(jax.grad(lambda x: jnp.sum(jnp.tanh(conv(x, k))))(image) ** 2)
  np.testing.assert_allclose(jax.grad(grad_norm(fast))(kernel),
                             jax.grad(grad_norm(reference))(kernel), rtol=1e-4, atol=atol)
