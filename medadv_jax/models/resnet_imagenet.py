"""ImageNet-style ResNet-18 (He et al. 2016) with a width multiplier.

For 64 to 224 px inputs: a 7x7 stride-2 stem and a 3x3 stride-2 max-pool
shrink the image 4x before four stages of basic blocks with 64/128/256/512
x `width` filters (stride 2 from stage 2 on), global average pool, dense.
About 11.2M parameters at width 1, independent of the input size.
"""

import functools
from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

from medadv_jax.models import layers


class _BasicBlock(nn.Module):
  """Two 3x3 conv-BN layers and an identity (or 1x1 conv-BN) shortcut."""
  features: int
  strides: int = 1

  @nn.compact
  def __call__(self, x, train: bool):
    y = layers.conv(self.features, 3, self.strides)(x)
    y = nn.relu(layers.batch_norm(train)(y))
    y = layers.conv(self.features, 3)(y)
    y = layers.batch_norm(train)(y)
    if x.shape[-1] != self.features or self.strides != 1:
      x = layers.conv(self.features, 1, self.strides)(x)
      x = layers.batch_norm(train)(x)
    return nn.relu(x + y)


class ImageNetResNet(nn.Module):
  """ResNet v1 with basic blocks; `stage_sizes` blocks per stage.

  Inputs are images in [0, 1] of shape (N, H, W, C), fed unnormalised like
  the paper's models (the BN after the stem absorbs the pixel offset);
  outputs are float32 logits (N, num_classes).
  """
  num_classes: int
  width: float = 1.0
  stage_sizes: Sequence[int] = (2, 2, 2, 2)

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
    x = layers.conv(layers.scaled_channels(64, self.width), 7, 2)(x)
    x = nn.relu(layers.batch_norm(train)(x))
    x = layers.max_pool_3x3_s2(x)
    for stage, blocks in enumerate(self.stage_sizes):
      features = layers.scaled_channels(64 * 2**stage, self.width)
      for block in range(blocks):
        strides = 2 if stage > 0 and block == 0 else 1
        x = _BasicBlock(features, strides)(x, train)
    x = jnp.mean(x, axis=(1, 2))
    return nn.Dense(self.num_classes)(x).astype(jnp.float32)


ResNet18 = functools.partial(ImageNetResNet, stage_sizes=(2, 2, 2, 2))
