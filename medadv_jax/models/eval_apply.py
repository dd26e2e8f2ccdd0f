"""Eval-mode forward pass as a value-hashable callable."""

import dataclasses

import flax.linen as nn


@dataclasses.dataclass(frozen=True)
class EvalApply:
  """`(variables, images) -> logits` with BatchNorm on running statistics.

  Hashes by the model's fields, so it can be a static argument of jitted
  programs and two equal models share one compiled program.
  """
  model: nn.Module

  def __call__(self, variables, images):
    return self.model.apply(variables, images, train=False)
