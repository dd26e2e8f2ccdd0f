"""fast_conv_gradient: the same convolution and gradients as lax's, with the image
gradient's kernel in the usual feature order on CPUs. (Images with few features
take another path: tests/test_few_feature_conv.py.)"""

import re

import flax.linen as nn
import jax
import jax.numpy as jnp
import pytest
from jax import lax

import conv_helpers
from medadv_jax.models import layers, registry

pytestmark = pytest.mark.numerics

NHWC = ('NHWC', 'HWIO', 'NHWC')

# (image shape, kernel shape, strides, padding, kernel dilation, feature groups)
CASES = [
    ((3, 9, 9, 4), (3, 3, 4, 4), (1, 1), 'VALID', (1, 1), 1),
    ((2, 8, 8, 3), (3, 3, 3, 5), (2, 2), 'SAME', (1, 1), 1),
    ((2, 7, 7, 4), (1, 1, 4, 6), (2, 2), ((0, 0), (0, 0)), (1, 1), 1),
    ((2, 12, 12, 2), (7, 7, 2, 3), (2, 2), ((3, 3), (3, 3)), (1, 1), 1),
    ((2, 9, 9, 4), (3, 3, 2, 6), (1, 1), ((1, 2), (0, 1)), (2, 2), 2),
    # Kernels larger than the map (padded explicitly, see _padded_for_small_map).
    ((2, 4, 4, 3), (5, 5, 3, 4), (1, 1), 'SAME', (1, 1), 1),
    ((2, 2, 2, 3), (7, 7, 3, 4), (1, 1), 'SAME', (1, 1), 1),
    ((2, 1, 1, 2), (3, 3, 2, 5), (1, 1), 'SAME', (1, 1), 1),
    ((2, 5, 5, 2), (7, 7, 2, 3), (2, 2), ((3, 3), (3, 3)), (1, 1), 1),
    ((2, 2, 3, 2), (3, 3, 2, 5), (2, 2), ((1, 0), (2, 1)), (1, 1), 1),
]


def both_convs(image_shape, kernel_shape, strides, padding, dilation, groups):
  return conv_helpers.both_convs(image_shape, kernel_shape, strides, padding,
                                 rhs_dilation=dilation, dimension_numbers=NHWC,
                                 feature_group_count=groups)


@pytest.mark.parametrize('case', CASES, ids=lambda case: f'{case[1]}-{case[2]}-{case[3]}')
def test_values_and_both_gradients_are_lax_s(case):
  image, kernel, reference, fast = both_convs(*case)
  conv_helpers.assert_values_and_gradients_match(fast, reference, image, kernel)


@pytest.mark.parametrize('case', [CASES[0], CASES[3]], ids=['3x3', '7x7-strided'])
def test_second_order_gradients_are_lax_s(case):
  image, kernel, reference, fast = both_convs(*case)
  conv_helpers.assert_second_order_gradients_match(fast, reference, image, kernel,
                                                   atol=1e-5)


def ascent(conv):
  """(x, k) -> x after a few gradient steps in a loop, as an attack takes them."""
  def run(x, k):
    step = lambda _, x: x + 0.1 * jax.grad(lambda x: jnp.sum(jnp.tanh(conv(x, k))))(x)
    return lax.fori_loop(0, 3, step, x)
  return run


def kernel_dim_labels(fun, *args) -> list:
  """The kernel part of the dim labels of every convolution XLA compiles for `fun`."""
  text = jax.jit(fun).lower(*args).compile().as_text()
  return re.findall(r'dim_labels=\w+_(\w+)->', text)


def test_the_image_gradient_runs_with_the_kernel_in_the_usual_feature_order():
  assert jax.default_backend() == 'cpu'  # The test machines have no accelerator.
  image, kernel, reference, fast = both_convs(*CASES[0])

  # JAX's own gradient hands XLA the kernel with its features swapped, 'oi'...
  assert 'oi' in [labels[-2:] for labels in kernel_dim_labels(ascent(reference), image,
                                                              kernel)]
  # ...this one never does: every convolution reads its kernel as 'io'.
  labels = kernel_dim_labels(ascent(fast), image, kernel)
  assert labels and all(label.endswith('io') for label in labels)


def test_a_kernel_larger_than_the_map_keeps_the_usual_convolution_form():
  # XLA swaps image and kernel where the kernel is the larger (the CBR models'
  # last stages at 28 px) and runs that form on a slow generic path.
  image, kernel, reference, fast = both_convs(*CASES[5])

  usual = 'b01f_01io->b01f'
  text = lambda conv: jax.jit(ascent(conv)).lower(image, kernel).compile().as_text()
  assert set(re.findall(r'dim_labels=(\S+?),', text(reference))) - {usual}
  assert set(re.findall(r'dim_labels=(\S+?),', text(fast))) == {usual}


def test_other_backends_keep_lax_s_convolution(monkeypatch):
  monkeypatch.setattr(jax, 'default_backend', lambda: 'gpu')
  image, kernel, _, fast = both_convs(*CASES[0])
  jaxpr = jax.make_jaxpr(jax.grad(lambda x: jnp.sum(fast(x, kernel))))(image)
  assert 'custom_vjp' not in str(jaxpr)


def test_models_keep_their_parameter_names():
  # Checkpoints written before the change must still load: nn.Conv's names.
  model = registry.get_model('cnn', num_classes=2, width=0.25)
  params = model.init(jax.random.key(0), jnp.zeros((1, 28, 28, 1)))['params']
  assert {'Conv_0', 'Conv_1', 'Conv_2'} <= set(params)
  assert isinstance(layers.conv(4, 3), nn.Conv)
