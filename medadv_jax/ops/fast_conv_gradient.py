"""A drop-in `lax.conv_general_dilated` whose image gradient XLA's CPU backend
runs on its fast convolution path; values and gradients are the same up to
float rounding.

Every attack step and every training step needs the gradient of each
convolution with respect to its input. JAX writes that gradient as a
convolution whose kernel has its input and output feature axes swapped
(HLO dim labels `..._01oi->...`). When the kernel is an argument of the
program, as in the study's attack and train programs, XLA's CPU backend runs
that convolution several times slower than the same one with the kernel in
the usual order (`..._01io->...`). Here the swap is done once per step on the
small kernel, so the big convolution is in the usual order.

Where a kernel is larger than its map (the CBR models' last stages at 28 px)
the image is also padded explicitly, so XLA does not swap the convolution's
operands into a form its CPU backend runs on a slow generic path
(`_padded_for_small_map`). Measurements: benchmarks/README.md.

Images with one to three features (the first layer on grey or RGB images)
are convolved as patch products instead (`few_feature_conv`): XLA's CPU
convolutions are slow for so few features, in both directions.

Only on CPUs: other backends keep JAX's own gradient, which their
convolution libraries already run well. `linear_bounds` transposes its
convolutions the same way.
"""

import contextlib
import contextvars
import functools
import math

import jax
import jax.numpy as jnp
from jax import lax

from medadv_jax.ops import few_feature_conv


def conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation=None,
                         rhs_dilation=None, dimension_numbers=None, feature_group_count=1,
                         batch_group_count=1, precision=None, preferred_element_type=None):
  """`lax.conv_general_dilated` (same arguments), with the gradient described above on CPUs.

  Pass it to flax as `nn.Conv(..., conv_general_dilated=conv_general_dilated)`.
  """
  if not applies() or preferred_element_type is not None:
    return lax.conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation,
                                    rhs_dilation, dimension_numbers, feature_group_count,
                                    batch_group_count, precision, preferred_element_type)
  # The static arguments of a custom_vjp must hash: lists become tuples.
  as_tuple = lambda value: None if value is None else tuple(value)
  if not isinstance(padding, str):
    padding = tuple(tuple(pair) for pair in padding)
  if (dimension_numbers is not None
      and not isinstance(dimension_numbers, lax.ConvDimensionNumbers)):
    dimension_numbers = tuple(dimension_numbers)
  return _conv(lhs, rhs, tuple(window_strides), padding, as_tuple(lhs_dilation),
               as_tuple(rhs_dilation), dimension_numbers, feature_group_count,
               batch_group_count, precision)


# Set while a program over stacked models is traced (`stacked_models`).
_STACKED = contextvars.ContextVar('stacked_models', default=False)


@contextlib.contextmanager
def stacked_models():
  """Traces every 3x3 convolution inside as patch products (`few_feature_conv`),
  whatever its features: vmapped over models with their own kernels (a cell
  group's seeds), a convolution becomes a grouped one, which XLA's CPU backend
  runs as a dense convolution as many times larger; patch products become
  batched matrix products instead. Measurements: benchmarks/seed_groups.py."""
  token = _STACKED.set(True)
  try:
    yield
  finally:
    _STACKED.reset(token)


def applies() -> bool:
  """Whether this module changes anything on the default backend: CPUs only."""
  return jax.default_backend() == 'cpu'


@functools.partial(jax.custom_vjp, nondiff_argnums=tuple(range(2, 10)))
def _conv(lhs, rhs, *static):
  few_features = _few_feature_form(lhs, rhs, *static)
  if few_features is not None:
    return few_feature_conv.convolution(lhs, rhs, *few_features)
  padded = _padded_for_small_map(lhs, rhs, *static)
  if padded is not None:
    image, valid_static, _ = padded
    return lax.conv_general_dilated(image, rhs, *valid_static)
  return lax.conv_general_dilated(lhs, rhs, *static)


def _few_feature_form(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation,
                      dimension_numbers, feature_group_count, batch_group_count, precision):
  """(strides, padding pairs, dimension numbers) where the convolution is
  written as patch products (`few_feature_conv`: images with few features),
  else None."""
  del precision  # XLA on a CPU computes float32 products in full either way.
  numbers = lax.conv_dimension_numbers(lhs.shape, rhs.shape, dimension_numbers)
  padding = _padding_pairs(lhs, rhs, window_strides, padding, numbers)
  max_features = lhs.shape[numbers.lhs_spec[1]] if _STACKED.get() else None
  if not few_feature_conv.applies(lhs.shape, rhs.shape, padding, lhs_dilation, rhs_dilation,
                                  numbers, feature_group_count, batch_group_count,
                                  max_features or few_feature_conv.MAX_FEATURES):
    return None
  return tuple(window_strides), padding, numbers


def _padding_pairs(lhs, rhs, window_strides, padding, numbers) -> tuple:
  """`padding` as (low, high) pairs per spatial axis: 'SAME' and 'VALID' resolved."""
  if isinstance(padding, str):
    padding = lax.padtype_to_pads([lhs.shape[axis] for axis in numbers.lhs_spec[2:]],
                                  [rhs.shape[axis] for axis in numbers.rhs_spec[2:]],
                                  window_strides, padding)
  return tuple(tuple(pair) for pair in padding)


def _padded_for_small_map(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation,
                          dimension_numbers, feature_group_count, batch_group_count,
                          precision):
  """(the image padded explicitly, static arguments of the same convolution
  'VALID' on it, the padding per image axis) where XLA would otherwise swap
  the operands, else None.

  XLA's simplifier swaps a convolution's image and kernel where the kernel's
  spatial size exceeds the unpadded image's (a 5x5 kernel on a 4x4 map: the
  CBR models' last stages at 28 px), and its CPU backend runs the swapped
  form on a slow generic path. Padding the image itself, behind a barrier XLA cannot fold,
  keeps the usual form; the values are the same.
  """
  numbers = lax.conv_dimension_numbers(lhs.shape, rhs.shape, dimension_numbers)
  image_sizes = [lhs.shape[axis] for axis in numbers.lhs_spec[2:]]
  kernel_sizes = [rhs.shape[axis] for axis in numbers.rhs_spec[2:]]
  if (math.prod(kernel_sizes) <= math.prod(image_sizes)
      or any(d != 1 for d in (lhs_dilation or ())) or any(d != 1 for d in (rhs_dilation or ()))
      or feature_group_count != 1 or batch_group_count != 1):
    return None
  padding = _padding_pairs(lhs, rhs, window_strides, padding, numbers)
  if any(low < 0 or high < 0 for low, high in padding):
    return None
  widths = [(0, 0)] * lhs.ndim
  for axis, pair in zip(numbers.lhs_spec[2:], padding):
    widths[axis] = tuple(pair)
  image = lax.optimization_barrier(jnp.pad(lhs, widths))
  zeros = ((0, 0),) * len(image_sizes)
  return image, (window_strides, zeros, None, None, numbers, 1, 1, precision), widths


def _conv_forward(lhs, rhs, *static):
  return _conv(lhs, rhs, *static), (lhs, rhs)


def _conv_backward(*args):
  *static, (lhs, rhs), cotangent = args
  (window_strides, padding, lhs_dilation, rhs_dilation, dimension_numbers,
   feature_group_count, batch_group_count, precision) = static
  few_features = _few_feature_form(lhs, rhs, *static)
  if few_features is not None:
    return (few_feature_conv.image_gradient(cotangent, rhs, lhs.shape, *few_features),
            few_feature_conv.kernel_gradient(lhs, cotangent, rhs.shape, *few_features))
  numbers = lax.conv_dimension_numbers(lhs.shape, rhs.shape, dimension_numbers)
  swapped, swapped_numbers = kernel_with_features_swapped(rhs, numbers)

  def conv_with(image, kernel, kernel_numbers):
    return lax.conv_general_dilated(image, kernel, window_strides, padding, lhs_dilation,
                                    rhs_dilation, kernel_numbers, feature_group_count,
                                    batch_group_count, precision)

  kernel_gradient = jax.vjp(lambda kernel: conv_with(lhs, kernel, numbers),
                            rhs)[1](cotangent)[0]
  padded = _padded_for_small_map(lhs, rhs, *static)
  if padded is not None:
    image, (strides, *_), widths = padded
    padded_gradient = _small_map_image_gradient(image, swapped, swapped_numbers, strides,
                                                cotangent, precision)
    # Back from the padded image to the image.
    return (padded_gradient[tuple(slice(low, low + size)
                                  for (low, _), size in zip(widths, lhs.shape))],
            kernel_gradient)
  # The same function of the image, so JAX's own transpose rule gives its exact
  # gradient; but the kernel it hands XLA is now in the usual feature order.
  image_gradient = jax.vjp(lambda image: conv_with(image, swapped, swapped_numbers),
                           lhs)[1](cotangent)[0]
  return image_gradient, kernel_gradient


def _small_map_image_gradient(image, swapped, swapped_numbers, strides, cotangent,
                              precision):
  """The image gradient of the 'VALID' convolution of `_padded_for_small_map`,
  written as the convolution JAX's transpose rule would emit (the cotangent
  dilated by the strides and padded by the kernel size less one, against the
  flipped kernel) but with that padding done explicitly behind a barrier, so
  that XLA does not swap this convolution's operands either."""
  numbers = swapped_numbers
  spatial_out = numbers.out_spec[2:]
  kernel_sizes = [swapped.shape[axis] for axis in numbers.rhs_spec[2:]]
  config = [(0, 0, 0)] * cotangent.ndim
  for out_axis, image_axis, size, stride in zip(spatial_out, numbers.lhs_spec[2:],
                                                kernel_sizes, strides):
    # The last rows the strided convolution skipped get zero gradient.
    skipped = (image.shape[image_axis] - size) % stride
    config[out_axis] = (size - 1, size - 1 + skipped, stride - 1)
  dilated = lax.optimization_barrier(lax.pad(cotangent, jnp.zeros((), cotangent.dtype),
                                             config))
  flipped = jnp.flip(swapped, axis=tuple(numbers.rhs_spec[2:]))
  # Transposed, the kernel reads the cotangent's features and writes the
  # image's: its input and output feature axes trade places (in memory they
  # already have, so XLA sees them in the usual order).
  out_axis, in_axis, *spatial = numbers.rhs_spec
  transposed = lax.ConvDimensionNumbers(numbers.out_spec, (in_axis, out_axis, *spatial),
                                        numbers.lhs_spec)
  return lax.conv_general_dilated(dilated, flipped, (1,) * len(strides), 'VALID',
                                  dimension_numbers=transposed, precision=precision)


_conv.defvjp(_conv_forward, _conv_backward)


def kernel_with_features_swapped(rhs, numbers: lax.ConvDimensionNumbers):
  """`rhs` with its output and input feature axes exchanged in memory, and the
  dimension numbers that describe the same convolution with it: a convolution
  to transpose (for an image gradient) in the order XLA's CPU backend runs fast."""
  out_axis, in_axis, *spatial = numbers.rhs_spec
  order = list(range(rhs.ndim))
  order[out_axis], order[in_axis] = in_axis, out_axis
  # The barrier keeps XLA from folding the transpose back into the
  # convolution's dim labels, which would undo the point of it.
  swapped = lax.optimization_barrier(jnp.transpose(rhs, order))
  return swapped, lax.ConvDimensionNumbers(numbers.lhs_spec, (in_axis, out_axis, *spatial),
                                           numbers.out_spec)
