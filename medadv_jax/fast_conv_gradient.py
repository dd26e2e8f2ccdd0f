"""A drop-in `lax.conv_general_dilated` whose image gradient XLA's CPU backend
runs on its fast convolution path; values and gradients are the same.

Every attack step and every training step needs the gradient of each
convolution with respect to its input. JAX writes that gradient as a
convolution whose kernel has its input and output feature axes swapped
(HLO dim labels `..._01oi->...`). When the kernel is an argument of the
program, as in the study's attack and train programs, XLA's CPU backend runs
that convolution several times slower than the same one with the kernel in
the usual order (`..._01io->...`). Here the swap is done once per step on the
small kernel, so the big convolution is in the usual order.

Measured on the project's 2-core CPU, PGD-20 on 256 images (with
`xla_options.CPU_OPTIONS`): the reference CNN 1.95 -> 1.07 s, resnet8 15.4 ->
3.4 s. Only on CPUs: other backends keep JAX's own gradient, which their
convolution libraries already run well. `linear_bounds` transposes its
convolutions the same way.
"""

import functools

import jax
import jax.numpy as jnp
from jax import lax


def conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation=None,
                         rhs_dilation=None, dimension_numbers=None, feature_group_count=1,
                         batch_group_count=1, precision=None, preferred_element_type=None):
  """`lax.conv_general_dilated` (same arguments), with the gradient described above on CPUs.

  Pass it to flax as `nn.Conv(..., conv_general_dilated=conv_general_dilated)`.
  """
  if jax.default_backend() != 'cpu' or preferred_element_type is not None:
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


@functools.partial(jax.custom_vjp, nondiff_argnums=tuple(range(2, 10)))
def _conv(lhs, rhs, *static):
  return lax.conv_general_dilated(lhs, rhs, *static)


def _conv_forward(lhs, rhs, *static):
  return _conv(lhs, rhs, *static), (lhs, rhs)


def _conv_backward(*args):
  *static, (lhs, rhs), cotangent = args
  (window_strides, padding, lhs_dilation, rhs_dilation, dimension_numbers,
   feature_group_count, batch_group_count, precision) = static
  numbers = lax.conv_dimension_numbers(lhs.shape, rhs.shape, dimension_numbers)
  swapped, swapped_numbers = kernel_with_features_swapped(rhs, numbers)

  def conv_with(image, kernel, kernel_numbers):
    return lax.conv_general_dilated(image, kernel, window_strides, padding, lhs_dilation,
                                    rhs_dilation, kernel_numbers, feature_group_count,
                                    batch_group_count, precision)

  # The same function of the image, so JAX's own transpose rule gives its exact
  # gradient; but the kernel it hands XLA is now in the usual feature order.
  image_gradient = jax.vjp(lambda image: conv_with(image, swapped, swapped_numbers),
                           lhs)[1](cotangent)[0]
  kernel_gradient = jax.vjp(lambda kernel: conv_with(lhs, kernel, numbers),
                            rhs)[1](cotangent)[0]
  return image_gradient, kernel_gradient


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
