"""CIFAR-style ResNet v1 of depth 6n+2, the paper's ResNet-8/20/32/50.

A faithful port of the keras.io CIFAR-10 example `resnet_v1(input_shape,
depth)` that the paper's code uses: a 3x3 conv stem, three stages of n basic
blocks with 16/32/64 filters (times `width`), stride 2 at the start of
stages 2 and 3 with a 1x1-conv projection shortcut (no BN), then
AveragePooling2D(8) -> Flatten -> Dense.

The head is kept as Keras builds it, not replaced by a global average pool:
at 224 px the last map is 56x56, so the pool leaves 7x7x64 features and the
dense layer holds 7*7*64*num_classes weights. That head is what reproduces
the paper's parameter counts (ResNet-8: 84,290 with it, 78,146 with a global
pool; paper "about 84k"), and it makes the count depend on the input size.
"""

import functools

import flax.linen as nn
import jax.numpy as jnp

from medadv_jax.models import layers

# Window of the Keras head's AveragePooling2D (stride = window, 'valid').
_HEAD_POOL = 8


def is_valid_depth(depth: int) -> bool:
  """True for total depths 6n+2 with n >= 1 (8, 14, 20, ...)."""
  return depth >= 8 and (depth - 2) % 6 == 0


class _ConvBN(nn.Module):
  """Keras `resnet_layer`: conv (with bias, Keras default) -> BN -> ReLU?"""
  features: int
  strides: int = 1
  relu: bool = True

  @nn.compact
  def __call__(self, x, train: bool):
    x = layers.conv(self.features, 3, self.strides, use_bias=True)(x)
    x = layers.batch_norm(train)(x)
    return nn.relu(x) if self.relu else x


class CifarResNetV1(nn.Module):
  """ResNet v1 with `depth` = 6n+2 layers and 16/32/64 x `width` filters.

  Inputs are images in [0, 1] of shape (N, H, W, C), fed unnormalised as in
  the paper (pixels / 255 only); outputs are float32 logits (N, num_classes).
  Any input size works: where the last map is smaller than the Keras pool
  window (inputs under 32 px, where Keras would fail), the window shrinks
  to the map, i.e. the head becomes a global average pool.
  """
  num_classes: int
  width: float = 1.0
  depth: int = 20

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
    if not is_valid_depth(self.depth):
      raise ValueError(f'depth must be 6n+2 with n >= 1, got {self.depth}')
    blocks = (self.depth - 2) // 6
    features = layers.scaled_channels(16, self.width)
    x = _ConvBN(features)(x, train)
    for stage, base in enumerate((16, 32, 64)):
      features = layers.scaled_channels(base, self.width)
      for block in range(blocks):
        strides = 2 if stage > 0 and block == 0 else 1
        y = _ConvBN(features, strides)(x, train)
        y = _ConvBN(features, relu=False)(y, train)
        if strides != 1:
          # Keras' projection shortcut: 1x1 conv with bias, no BN, no ReLU.
          x = layers.conv(features, 1, strides, use_bias=True)(x)
        x = nn.relu(x + y)
    window = (min(_HEAD_POOL, x.shape[1]), min(_HEAD_POOL, x.shape[2]))
    x = nn.avg_pool(x, window, strides=window, padding='VALID')
    x = layers.flatten(x)
    return nn.Dense(self.num_classes,
                    kernel_init=nn.initializers.he_normal())(x).astype(
                        jnp.float32)


ResNet8 = functools.partial(CifarResNetV1, depth=8)
ResNet20 = functools.partial(CifarResNetV1, depth=20)
ResNet32 = functools.partial(CifarResNetV1, depth=32)
ResNet50 = functools.partial(CifarResNetV1, depth=50)
