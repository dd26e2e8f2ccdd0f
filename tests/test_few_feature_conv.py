"""few_feature_conv (through fast_conv_gradient): convolutions of images with one
to three features, written as patch products, give lax's values and gradients,
and XLA gets no convolution for them."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

import conv_helpers
from medadv_jax.models import registry
from medadv_jax.ops import fast_conv_gradient

pytestmark = pytest.mark.numerics

NHWC = ('NHWC', 'HWIO', 'NHWC')

# (image shape, kernel shape, strides, padding, dimension numbers)
CASES = [
    ((3, 9, 9, 1), (3, 3, 1, 4), (1, 1), 'SAME', NHWC),
    ((2, 8, 8, 3), (3, 3, 3, 5), (1, 1), ((2, 1), (0, 2)), NHWC),
    ((2, 9, 9, 3), (3, 3, 3, 4), (2, 2), 'SAME', NHWC),
    ((2, 10, 11, 1), (3, 1, 1, 4), (2, 3), 'SAME', NHWC),
    ((2, 9, 9, 2), (3, 3, 2, 4), (2, 2), 'VALID', NHWC),
    ((2, 2, 2, 1), (3, 3, 1, 3), (1, 1), 'SAME', NHWC),  # Kernel larger than the map.
    ((2, 3, 8, 8), (4, 3, 3, 3), (1, 1), 'SAME', ('NCHW', 'OIHW', 'NCHW')),
    ((2, 8, 8, 2), (3, 3, 2, 5), (1, 1), 'SAME', ('NHWC', 'HWIO', 'NCHW')),
]


def both_convs(image_shape, kernel_shape, strides, padding, numbers):
  return conv_helpers.both_convs(image_shape, kernel_shape, strides, padding,
                                 dimension_numbers=numbers)


def convolutions_compiled(fun, *args) -> int:
  return len(re.findall(r'\bconvolution\(', jax.jit(fun).lower(*args).compile().as_text()))


@pytest.mark.parametrize('case', CASES, ids=lambda case: f'{case[0]}-{case[1]}-{case[2]}')
def test_values_and_both_gradients_are_lax_s_without_a_convolution(case):
  image, kernel, reference, fast = both_convs(*case)
  conv_helpers.assert_values_and_gradients_match(fast, reference, image, kernel)
  shape = reference(image, kernel).shape
  gradients = lambda conv: jax.grad(conv_helpers.tanh_loss(conv, shape), (0, 1))
  assert convolutions_compiled(gradients(fast), image, kernel) == 0
  assert convolutions_compiled(gradients(reference), image, kernel) > 0


def test_second_order_gradients_are_lax_s():
  image, kernel, reference, fast = both_convs(*CASES[2])
  # Sums over taps in another order: differences of a few float32 roundings.
  conv_helpers.assert_second_order_gradients_match(fast, reference, image, kernel,
                                                   atol=1e-4)


@pytest.mark.parametrize('kernel_shape, dilation, groups, padding', [
    ((3, 3, 4, 8), (1, 1), 1, 'SAME'),  # Four features: an XLA convolution is faster.
    ((5, 5, 1, 8), (1, 1), 1, 'SAME'),  # More taps than MAX_TAPS.
    ((3, 3, 1, 8), (2, 2), 1, 'SAME'),
    ((3, 3, 1, 8), (1, 1), 2, 'SAME'),
    ((3, 3, 2, 8), (1, 1), 1, ((-1, 1), (1, 1))),
], ids=['4-features', '25-taps', 'dilated', 'grouped', 'negative-padding'])
def test_other_convolutions_stay_xla_convolutions(kernel_shape, dilation, groups, padding):
  features = kernel_shape[2] * groups
  image = jnp.ones((2, 9, 9, features))
  kernel = jnp.ones(kernel_shape)
  conv = lambda x: fast_conv_gradient.conv_general_dilated(
      x, kernel, (1, 1), padding, rhs_dilation=dilation, dimension_numbers=NHWC,
      feature_group_count=groups)
  assert convolutions_compiled(conv, image) == 1
  np.testing.assert_allclose(conv(image), lax.conv_general_dilated(
      image, kernel, (1, 1), padding, rhs_dilation=dilation, dimension_numbers=NHWC,
      feature_group_count=groups))


def test_the_default_model_s_first_layer_is_the_only_one_written_out():
  model = registry.get_model('cnn', num_classes=2, width=0.25)
  image = jnp.zeros((2, 28, 28, 1))
  variables = model.init(jax.random.key(0), image)
  image_gradient = jax.grad(lambda x: jnp.sum(model.apply(variables, x)))
  # Three convolutions, each with its image gradient; the first layer's pair
  # are patch products.
  assert convolutions_compiled(image_gradient, image) == 4
