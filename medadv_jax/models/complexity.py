"""Complexity measures written into every results row: parameters and FLOPs."""

import jax
import jax.numpy as jnp
import numpy as np


def count_params(params) -> int:
  """Number of trainable scalars in a params pytree (BatchNorm statistics excluded)."""
  return int(sum(np.prod(leaf.shape) for leaf in jax.tree_util.tree_leaves(params)))


def forward_flops_per_image(model, variables, image_shape) -> float:
  """Forward FLOPs for one image, from XLA's cost analysis of the compiled pass.

  `image_shape` is (H, W, C). The pass is compiled at batch 1 in eval mode, the
  mode attacks are evaluated in.
  """
  x = jnp.zeros((1, *image_shape), jnp.float32)
  compiled = jax.jit(lambda v, x: model.apply(v, x, train=False)).lower(
      variables, x).compile()
  analysis = compiled.cost_analysis()
  # Older jax returned a list with one dict per device program.
  if isinstance(analysis, (list, tuple)):
    analysis = analysis[0]
  return float(analysis.get('flops', float('nan')))
