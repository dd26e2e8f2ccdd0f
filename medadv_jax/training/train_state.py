"""The training state: a `flax.struct` pytree, so steps stay pure and jittable."""

import functools
from typing import Any, Callable, Optional

import flax
import jax
import jax.numpy as jnp
import optax


@flax.struct.dataclass
class TrainState:
  """Everything a resumed run needs besides the data order.

  `plateau` is the state of `optax.contrib.reduce_on_plateau`, updated once
  per epoch from a validation loss; its `scale` multiplies every update, which
  for Adam and SGD is the same as multiplying the learning rate.
  """
  step: jnp.ndarray
  params: Any
  batch_stats: Any
  opt_state: Any
  plateau: Any
  apply_fn: Callable = flax.struct.field(pytree_node=False)
  tx: optax.GradientTransformation = flax.struct.field(pytree_node=False)

  @property
  def variables(self):
    return {'params': self.params, 'batch_stats': self.batch_stats}

  @property
  def lr_scale(self) -> jnp.ndarray:
    return self.plateau.scale

  def apply_gradients(self, grads, batch_stats) -> 'TrainState':
    updates, opt_state = self.tx.update(grads, self.opt_state, self.params)
    updates = jax.tree_util.tree_map(lambda u: u * self.lr_scale.astype(u.dtype), updates)
    return self.replace(step=self.step + 1, params=optax.apply_updates(self.params, updates),
                        batch_stats=batch_stats, opt_state=opt_state)


def create_train_state(model, tx: optax.GradientTransformation, image_shape,
                       key: jax.Array,
                       plateau_tx: Optional[optax.GradientTransformation] = None
                       ) -> TrainState:
  """Initialises parameters from `key` for images of shape (H, W, C).

  Without `plateau_tx` the learning-rate scale stays 1.
  """
  variables = _init_variables(model, tuple(image_shape), key)
  params = variables['params']
  plateau_tx = plateau_tx or optax.contrib.reduce_on_plateau()
  return TrainState(step=jnp.zeros((), jnp.int32), params=params,
                    batch_stats=variables.get('batch_stats', {}),
                    opt_state=tx.init(params), plateau=plateau_tx.init(params),
                    apply_fn=model.apply, tx=tx)


def _init_variables(model, image_shape, key):
  return _compiled_init(model, image_shape)(key)


@functools.lru_cache(maxsize=32)
def _compiled_init(model, image_shape):
  """One compiled program per model and input shape (modules hash by their fields):
  run eagerly, every initialiser op would compile on its own. It runs once per
  cell, and XLA's optimisation level 1 compiles its random-number code faster
  than the default level with the same values."""
  init = jax.jit(lambda k: model.init(k, jnp.zeros((1, *image_shape), jnp.float32),
                                      train=False))
  # The program depends only on the key's type, not its value.
  return init.lower(jax.random.key(0)).compile(
      compiler_options={'xla_backend_optimization_level': 1})
