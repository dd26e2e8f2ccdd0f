"""The default family: a plain conv-BN-ReLU network scaled by a width multiplier."""

from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

from medadv_jax.models import layers


class WidthCNN(nn.Module):
  """Conv(3x3)-BN-ReLU stages, 2x2 max-pool between stages, global average pool.

  Every layer's channel count is `base * width`, so parameters and FLOPs grow
  about as `width**2` while depth and receptive field stay fixed: only
  capacity changes along the family.

  Inputs are images in [0, 1] of shape (N, H, W, C); outputs are logits of
  shape (N, num_classes), float32.
  """
  num_classes: int
  width: float = 1.0
  stage_channels: Sequence[int] = (16, 32, 64)
  dense_features: int = 64

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
    # Centre pixels inside the model so attacks and epsilons stay in [0, 1]
    # pixel units.
    x = x - 0.5
    for stage, base in enumerate(self.stage_channels):
      if stage > 0:
        x = layers.max_pool_2x2(x)
      features = layers.scaled_channels(base, self.width)
      x = layers.Conv(features, (3, 3), use_bias=False,
                      kernel_init=nn.initializers.he_normal())(x)
      x = layers.batch_norm(train)(x)
      x = nn.relu(x)
    x = jnp.mean(x, axis=(1, 2))
    x = nn.Dense(layers.scaled_channels(self.dense_features, self.width),
                 kernel_init=nn.initializers.he_normal())(x)
    x = nn.relu(x)
    return nn.Dense(self.num_classes)(x).astype(jnp.float32)
