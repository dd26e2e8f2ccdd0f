"""A convolution of an image with few features (a network's first layer on
grey or RGB images) and its gradients, written as matrix products over the
image's patches.

XLA's CPU backend runs a convolution with one to three input features, and
its image gradient (one to three output features), far below its speed on
wider layers. Written out instead:
- forward: the image's patches (every kernel tap's shifted copy of the image,
  side by side) times the kernel, one matrix product;
- image gradient: the cotangent times the kernel, one matrix product giving
  every tap's share at once, then each share shifted back to the image
  position its tap read, all added in one loop;
- kernel gradient: the patches against the cotangent, one matrix product.
`fast_conv_gradient` uses this on CPUs (measurements: benchmarks/README.md).

For one to MAX_FEATURES image features and at most MAX_TAPS kernel taps, no
dilation, one feature group, padding that is not negative. The values differ
from lax's by float rounding only (the sums run in another order).

Written as they are, the forward pass and both gradients are matrix products
XLA keeps in memory once. Not as element-wise multiply-adds: XLA fuses those
into each of their consumers and so computes them several times over.
"""

import itertools
import math

import jax.numpy as jnp
from jax import lax

# The most image features and kernel taps written this way: 3x3 kernels on
# grey or RGB images. For 5x5 and 7x7 kernels (the CBR models' and ResNet-18's
# first layers) the two forms measured within noise of each other, so those
# stay XLA convolutions.
MAX_FEATURES = 3
MAX_TAPS = 9


def applies(lhs_shape, rhs_shape, padding, lhs_dilation, rhs_dilation,
            numbers: lax.ConvDimensionNumbers, feature_group_count: int,
            batch_group_count: int, max_features: int = MAX_FEATURES) -> bool:
  """Whether the convolution of these shapes and (resolved) arguments is
  written as patch products. `padding`: (low, high) pairs."""
  features = lhs_shape[numbers.lhs_spec[1]]
  taps = math.prod(rhs_shape[axis] for axis in numbers.rhs_spec[2:])
  return (features <= max_features and taps <= MAX_TAPS
          and all(d == 1 for d in (lhs_dilation or ()))
          and all(d == 1 for d in (rhs_dilation or ()))
          and feature_group_count == 1 and batch_group_count == 1
          and all(low >= 0 and high >= 0 for low, high in padding))


def convolution(lhs, rhs, strides, padding, numbers: lax.ConvDimensionNumbers):
  """The convolution, as lax.conv_general_dilated(lhs, rhs, strides, padding,
  dimension_numbers=numbers) where `applies`."""
  kernel = _kernel_last(rhs, numbers)
  patches = _patches(lhs, kernel.shape[:-2], strides, padding, numbers)
  out = _contract_last(patches, kernel.reshape(-1, kernel.shape[-1]), 0)
  return _from_image_last(out, numbers.out_spec)


def image_gradient(cotangent, rhs, image_shape, strides, padding,
                   numbers: lax.ConvDimensionNumbers):
  """The gradient of `convolution` with respect to its image, for `cotangent`."""
  kernel = _kernel_last(rhs, numbers)  # (taps..., in, out)
  taps_shape, features = kernel.shape[:-2], kernel.shape[-2]
  out_grad = _image_last(cotangent, numbers.out_spec)  # (N, out sizes..., out)
  # shares[..., tap, feature]: what the image pixel read by `tap` gets.
  shares = _contract_last(out_grad, kernel.reshape(-1, kernel.shape[-1]), 1)
  shares = shares.reshape(*out_grad.shape[:-1], math.prod(taps_shape), features)
  image_sizes = _image_last_shape(image_shape, numbers.lhs_spec)[1:-1]
  padded_sizes = [size + low + high for size, (low, high) in zip(image_sizes, padding)]
  out_sizes = out_grad.shape[1:-1]
  total = None
  for index, tap in enumerate(itertools.product(*(range(k) for k in taps_shape))):
    # Output position p read the padded image at p * stride + tap: put the share there.
    config = [(0, 0, 0)]
    for t, stride, out_size, padded in zip(tap, strides, out_sizes, padded_sizes):
      config.append((t, padded - t - (out_size - 1) * stride - 1, stride - 1))
    placed = lax.pad(shares[..., index, :], jnp.zeros((), shares.dtype), config + [(0, 0, 0)])
    total = placed if total is None else total + placed
  unpadded = total[(slice(None), *(slice(low, low + size)
                                   for (low, _), size in zip(padding, image_sizes)))]
  return _from_image_last(unpadded, numbers.lhs_spec)


def kernel_gradient(lhs, cotangent, kernel_shape, strides, padding,
                    numbers: lax.ConvDimensionNumbers):
  """The gradient of `convolution` with respect to its kernel, for `cotangent`."""
  out_spec, in_spec, *spatial_spec = numbers.rhs_spec
  taps_shape = [kernel_shape[axis] for axis in spatial_spec]
  patches = _patches(lhs, taps_shape, strides, padding, numbers)
  out_grad = _image_last(cotangent, numbers.out_spec)
  batch_and_space = tuple(range(patches.ndim - 1))
  gradient = lax.dot_general(patches, out_grad, ((batch_and_space, batch_and_space), ((), ())))
  gradient = gradient.reshape(*taps_shape, kernel_shape[in_spec], kernel_shape[out_spec])
  order = (*spatial_spec, in_spec, out_spec)  # The axes of `rhs` these are.
  return jnp.transpose(gradient, [order.index(axis) for axis in range(gradient.ndim)])


def _patches(lhs, taps_shape, strides, padding, numbers):
  """(N, out sizes..., taps x features): the padded image as each kernel tap reads it."""
  image = _image_last(lhs, numbers.lhs_spec)
  image = jnp.pad(image, ((0, 0), *padding, (0, 0)))
  out_sizes = [(size - k) // stride + 1
               for size, k, stride in zip(image.shape[1:-1], taps_shape, strides)]
  windows = [image[(slice(None),
                    *(slice(t, t + (out - 1) * stride + 1, stride)
                      for t, out, stride in zip(tap, out_sizes, strides)))]
             for tap in itertools.product(*(range(k) for k in taps_shape))]
  return jnp.concatenate(windows, axis=-1)


def _contract_last(array, matrix, matrix_axis: int):
  """`array`'s last axis contracted with `matrix`'s axis `matrix_axis`."""
  return lax.dot_general(array, matrix, (((array.ndim - 1,), (matrix_axis,)), ((), ())))


def _image_last(array, spec):
  """`array` laid out (batch, spatial..., features), from the layout `spec`
  (batch axis, feature axis, spatial axes: an lhs_spec or out_spec)."""
  return jnp.transpose(array, (spec[0], *spec[2:], spec[1]))


def _image_last_shape(shape, spec):
  return tuple(shape[axis] for axis in (spec[0], *spec[2:], spec[1]))


def _from_image_last(array, spec):
  """The inverse of `_image_last` for the layout `spec`."""
  order = (spec[0], *spec[2:], spec[1])
  return jnp.transpose(array, [order.index(axis) for axis in range(array.ndim)])


def _kernel_last(rhs, numbers):
  """The kernel laid out (spatial..., in features, out features)."""
  out_axis, in_axis, *spatial = numbers.rhs_spec
  return jnp.transpose(rhs, (*spatial, in_axis, out_axis))
