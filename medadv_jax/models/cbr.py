"""The CBR family of Raghu et al. 2019 ("Transfusion"), scalable by width.

Each block is conv-BN-ReLU with k x k kernels, usually followed by a 3x3
stride-2 max-pool; then global average pool and one dense layer:

  CBR-LargeT  7x7  32-64-128-256-512, no pool after the last block (~8.5M)
  CBR-LargeW  7x7  64-128-256-512, pool after every block          (~8.4M)
  CBR-Small   7x7  32-64-128-256, pool after every block           (~2.1M)
  CBR-Tiny    5x5  64-128-256-512, pool after every block          (~4.3M)

(parameter counts at width 1; the convolutions dominate, so they grow about
as width**2 and do not depend on the input size). Pools are 'SAME'-padded so
each halves the map (rounding up); Raghu et al. do not specify the padding,
and it changes no parameter count.
"""

import functools
from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

from medadv_jax.models import layers


class CBR(nn.Module):
  """Conv-BN-ReLU blocks with max-pools, global average pool, dense.

  Inputs are images in [0, 1] of shape (N, H, W, C), fed unnormalised as in
  the paper (pixels / 255 only); outputs are float32 logits (N, num_classes).
  """
  num_classes: int
  width: float = 1.0
  stage_channels: Sequence[int] = (32, 64, 128, 256, 512)
  kernel_size: int = 7
  pool_after_last: bool = False

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
    last = len(self.stage_channels) - 1
    for i, base in enumerate(self.stage_channels):
      # Conv bias kept (Keras Conv2D default in the paper's code) so that
      # parameter counts compare with Keras' `count_params`.
      x = layers.conv(layers.scaled_channels(base, self.width),
                      self.kernel_size, use_bias=True)(x)
      x = nn.relu(layers.batch_norm(train)(x))
      if i < last or self.pool_after_last:
        x = layers.max_pool_3x3_s2(x)
    x = jnp.mean(x, axis=(1, 2))
    return nn.Dense(self.num_classes)(x).astype(jnp.float32)


CBRLargeT = functools.partial(
    CBR, stage_channels=(32, 64, 128, 256, 512), kernel_size=7,
    pool_after_last=False)
CBRLargeW = functools.partial(
    CBR, stage_channels=(64, 128, 256, 512), kernel_size=7,
    pool_after_last=True)
CBRSmall = functools.partial(
    CBR, stage_channels=(32, 64, 128, 256), kernel_size=7,
    pool_after_last=True)
CBRTiny = functools.partial(
    CBR, stage_channels=(64, 128, 256, 512), kernel_size=5,
    pool_after_last=True)
