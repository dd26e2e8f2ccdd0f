"""Models for the bound tests: every family with random weights everywhere."""

import jax
import numpy as np

from benchmarks.reference_cnn import ReferenceCNN
from medadv_jax.models import registry as model_registry
from medadv_jax.models.eval_apply import EvalApply


def perturbed_model(name: str, shape, classes: int = 3):
  """Eval-mode logits function of model `name` (or 'reference', the benchmark's
  CNN) at width 0.25 on images of `shape`, with noise on every weight (some
  families zero-initialise their last layers) and non-trivial running
  statistics, so eval-mode BatchNorm is a real affine map."""
  model = (ReferenceCNN(num_classes=classes) if name == 'reference'
           else model_registry.get_model(name, num_classes=classes, width=0.25))
  x = np.zeros((2,) + tuple(shape), np.float32)
  # Compiled at XLA's lowest optimisation level: run eagerly (or fully optimised)
  # the initialisers take seconds per model to compile on a CPU.
  variables = jax.jit(lambda k: model.init(k, x, train=False)).lower(
      jax.random.key(1)).compile({'xla_backend_optimization_level': 0})(jax.random.key(1))
  leaves, tree = jax.tree_util.tree_flatten(variables['params'])
  noise = np.random.default_rng(3)
  variables = dict(variables, params=jax.tree_util.tree_unflatten(tree, [
      a + 0.1 * noise.standard_normal(a.shape).astype(np.float32) for a in leaves]))
  if 'batch_stats' in variables:
    variables = dict(variables, batch_stats=jax.tree_util.tree_map(
        lambda a: a + 0.3, variables['batch_stats']))
  return lambda z: EvalApply(model)(variables, z)
