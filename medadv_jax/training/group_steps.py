"""The jitted programs of a cell group: the train step, plateau and best-weight
updates vmapped over a leading seed axis, each seed frozen by its `active` mask.

The seed axis is split over the mesh's devices (`devices.shard_leading`); each
seed's batch stays whole on its device. A seed's step is `steps.train_step`
itself, so it draws the keys, batches and augmentation it would draw alone.
"""

import functools

import jax
import jax.numpy as jnp

from medadv_jax.data import augment as augment_lib
from medadv_jax.ops import fast_conv_gradient, xla_options
from medadv_jax.runtime import devices
from medadv_jax.training import steps


def freeze(new, old, active):
  """`new` where the seed is active, `old` (bit for bit) where it has stopped."""
  def pick(n, o):
    return jnp.where(active.reshape((-1,) + (1,) * (n.ndim - 1)), n, o)
  return jax.tree_util.tree_map(pick, new, old)


def gather(images, labels, indices, shared: bool):
  """Each seed's batch (S, B, ...) from `indices` (S, B) into the training set:
  one set for every seed (`shared`, the official split) or one per seed (S, N, ...)."""
  if shared:
    return images[indices], labels[indices]
  take = jax.vmap(lambda array, index: array[index])
  return take(images, indices), take(labels, indices)


def make_group_train_step(mode: str, train_config, lr_schedule, mesh, steps_per_epoch: int,
                          augment: augment_lib.AugmentSettings, shared_data: bool):
  """Jitted `step(state, keys, active, order, batch, images, labels)`, donating the state.

  `order` (S, steps_per_epoch, B) holds each seed's epoch order, `batch` the
  position in it; the gather runs inside the program, so a step is one dispatch.
  Returns (state, metrics of shape (S,)); a stopped seed's state is unchanged.
  """
  step = functools.partial(steps.train_step, mode=mode, l2_coeff=train_config.l2_coeff,
                           adv=steps.AdvSettings.from_config(train_config.adv),
                           lr_schedule=lr_schedule, steps_per_epoch=steps_per_epoch,
                           augment=augment)

  def grouped(state, keys, active, order, batch, images, labels):
    x, y = gather(images, labels, order[:, batch], shared_data)
    with fast_conv_gradient.stacked_models():  # Traced here: batched matrix products.
      new_state, metrics = jax.vmap(step)(state, x, y, keys)
    return freeze(new_state, state, active), metrics

  seeds, whole = devices.batch_sharded(mesh), devices.replicated(mesh)
  data = whole if shared_data else seeds
  return jax.jit(grouped, in_shardings=(seeds, seeds, seeds, seeds, whole, data, data),
                 out_shardings=(seeds, seeds), donate_argnums=0,
                 compiler_options=xla_options.compiler_options())


def make_group_plateau_update(plateau_tx, mesh):
  """Jitted `(plateau states, losses (S,), active) -> plateau states`, once per epoch."""
  def update(state, value):
    return plateau_tx.update({}, state, value=value)[1]

  def grouped(state, values, active):
    return freeze(jax.vmap(update)(state, values), state, active)
  return jax.jit(grouped, out_shardings=devices.batch_sharded(mesh))


@jax.jit
def keep_best(best, variables, improved):
  """Each seed's best weights: its current ones where `improved`, else as they were."""
  return freeze(variables, best, improved)
