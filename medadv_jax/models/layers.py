"""Small building blocks shared by the model families."""

import functools

import flax.linen as nn

from medadv_jax.ops import fast_conv_gradient, max_pool

# nn.Conv with the image gradient XLA's CPU backend runs fastest (see
# fast_conv_gradient); every model's convolutions are built with it.
Conv = functools.partial(nn.Conv,
                         conv_general_dilated=fast_conv_gradient.conv_general_dilated)


def scaled_channels(base: int, width: float) -> int:
  """Channels of a layer whose base size is `base` at width multiplier 1.

  Rounded to the nearest integer and never below 1, so that any positive
  width yields a valid model.
  """
  return max(1, int(round(base * width)))


def batch_norm(train: bool) -> nn.BatchNorm:
  """BatchNorm using batch statistics when `train`, running averages otherwise."""
  return nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5)


def conv(features: int, kernel_size: int, strides: int = 1,
         use_bias: bool = False) -> nn.Conv:
  """Square 'SAME'-padded convolution with He-normal kernels, as in the paper.

  Flax's 'SAME' pads like Keras/TF 'same' (an odd total padding puts the
  extra row/column at the bottom right), so spatial sizes match the paper's.
  """
  return Conv(features, (kernel_size, kernel_size),
              strides=(strides, strides), padding='SAME', use_bias=use_bias,
              kernel_init=nn.initializers.he_normal())


# nn.max_pool(x, (2, 2), strides=(2, 2)) with a faster gradient (see max_pool).
max_pool_2x2 = max_pool.max_pool_2x2


def max_pool_3x3_s2(x):
  """3x3 stride-2 max-pool, 'SAME' padded (padding is -inf, as in Keras)."""
  return nn.max_pool(x, (3, 3), strides=(2, 2), padding='SAME')


def flatten(x):
  """(N, ...) -> (N, prod(...)), row-major like Keras' Flatten on NHWC."""
  return x.reshape((x.shape[0], -1))
