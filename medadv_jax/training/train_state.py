"""The training state: a `flax.struct` pytree, so steps stay pure and jittable."""

from typing import Any, Callable

import flax
import jax
import jax.numpy as jnp
import optax


@flax.struct.dataclass
class TrainState:
  step: jnp.ndarray
  params: Any
  batch_stats: Any
  opt_state: Any
  apply_fn: Callable = flax.struct.field(pytree_node=False)
  tx: optax.GradientTransformation = flax.struct.field(pytree_node=False)

  @property
  def variables(self):
    return {'params': self.params, 'batch_stats': self.batch_stats}

  def apply_gradients(self, grads, batch_stats) -> 'TrainState':
    updates, opt_state = self.tx.update(grads, self.opt_state, self.params)
    return self.replace(step=self.step + 1, params=optax.apply_updates(self.params, updates),
                        batch_stats=batch_stats, opt_state=opt_state)


def create_train_state(model, tx: optax.GradientTransformation, image_shape,
                       key: jax.Array) -> TrainState:
  """Initialises parameters from `key` for images of shape (H, W, C)."""
  variables = model.init(key, jnp.zeros((1, *image_shape), jnp.float32), train=False)
  params = variables['params']
  return TrainState(step=jnp.zeros((), jnp.int32), params=params,
                    batch_stats=variables.get('batch_stats', {}),
                    opt_state=tx.init(params), apply_fn=model.apply, tx=tx)
