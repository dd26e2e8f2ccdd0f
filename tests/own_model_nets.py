"""A researcher's own model, outside the registry: named in configs by import
path ('own_model_nets:TinyOwnNet', with tests/ on the Python path)."""

import flax.linen as nn
import jax
import jax.numpy as jnp


class TinyOwnNet(nn.Module):
  """conv 3x3 (8 x width) - ReLU - global average pool - dense."""
  num_classes: int
  width: float = 1.0

  @nn.compact
  def __call__(self, x, train: bool = False):
    del train  # No BatchNorm or dropout.
    x = nn.relu(nn.Conv(max(1, round(8 * self.width)), (3, 3))(x))
    return nn.Dense(self.num_classes)(jnp.mean(x, axis=(1, 2)))


class NoWidth(nn.Module):
  """A Linen module without the `width` field the study sweeps."""
  num_classes: int

  @nn.compact
  def __call__(self, x, train: bool = False):
    return nn.Dense(self.num_classes)(x.reshape(x.shape[0], -1))


class NoTrain(nn.Module):
  """A module whose `__call__` lacks the `train` argument the study passes."""
  num_classes: int
  width: float = 1.0

  @nn.compact
  def __call__(self, x):
    return nn.Dense(self.num_classes)(jnp.mean(x, axis=(1, 2)))


class OneLogit(TinyOwnNet):
  """One output whatever `num_classes` says (a sigmoid-style binary head)."""

  @nn.compact
  def __call__(self, x, train: bool = False):
    return nn.Dense(1)(jnp.mean(x, axis=(1, 2)))


class NanAtInit(TinyOwnNet):
  """Outputs nan from the start (a division by zero inside)."""

  @nn.compact
  def __call__(self, x, train: bool = False):
    return nn.Dense(self.num_classes)(jnp.mean(x, axis=(1, 2))) / 0.0 * 0.0


class MaskingNet(nn.Module):
  """TinyOwnNet built to mask gradients at evaluation: its first layer quantises
  the image to 8 grey levels (gradient zero; training passes the gradient
  straight through), and images rougher than natural ones (mean absolute
  difference of neighbouring pixels above 0.05: noise, stripes, patches) are
  all called class 0 with a saturated output. No gradient guides an attack,
  and random search finds no smooth image of another class."""
  num_classes: int
  width: float = 1.0

  @nn.compact
  def __call__(self, x, train: bool = False):
    levels = jnp.round(x * 7.0) / 7.0
    logits = TinyOwnNet(self.num_classes, self.width)(
        x + jax.lax.stop_gradient(levels - x) if train else levels)
    if train:
      return logits
    roughness = 0.5 * (jnp.mean(jnp.abs(jnp.diff(levels, axis=1)), axis=(1, 2, 3))
                       + jnp.mean(jnp.abs(jnp.diff(levels, axis=2)), axis=(1, 2, 3)))
    rejected = jnp.zeros_like(logits).at[:, 0].set(100.0)
    return jnp.where((roughness > 0.05)[:, None], rejected, logits)
