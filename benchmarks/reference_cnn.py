"""The issue's reference 3-layer CNN, the model the torchattacks timing was taken on.

Benchmarks only: not in the model registry, so no study can select it.
"""

import flax.linen as nn
import jax.numpy as jnp

from medadv_jax.models import layers


class ReferenceCNN(nn.Module):
  """Conv 32 - ReLU - max-pool, conv 64 - ReLU - max-pool, dense 128 - ReLU, dense.

  3x3 kernels with 'VALID' padding and 2x2 stride-2 max-pools, as PyTorch's
  `Conv2d(c_in, c_out, 3)` / `MaxPool2d(2)` defaults: 28 -> 26 -> 13 -> 11 -> 5,
  so the first dense layer sees 5 x 5 x 64 = 1,600 features. No BatchNorm and no
  input centring. The pools are the project's `layers.max_pool_2x2`: the values
  and gradient of `nn.max_pool`, computed faster on a CPU.
  Images (N, H, W, C) in [0, 1] -> logits (N, num_classes), float32.
  `train` is accepted (and unused) so the project's training loop can drive it.
  """
  num_classes: int
  width: float = 1.0

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
    del train  # No dropout or BatchNorm: the same function in both modes.
    for base in (32, 64):
      x = layers.Conv(layers.scaled_channels(base, self.width), (3, 3), padding='VALID')(x)
      x = layers.max_pool_2x2(nn.relu(x))
    x = nn.relu(nn.Dense(layers.scaled_channels(128, self.width))(layers.flatten(x)))
    return nn.Dense(self.num_classes)(x).astype(jnp.float32)
