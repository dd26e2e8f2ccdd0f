"""A researcher's own model, outside the registry: named in configs by import
path ('own_model_nets:TinyOwnNet', with tests/ on the Python path)."""

import flax.linen as nn
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
