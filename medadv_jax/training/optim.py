"""Optimisers, learning-rate schedules and reduce-on-plateau, built from `config.train`.

The paper's recipe (the Keras CIFAR-10 ResNet example's): Adam at 1e-3,
x0.1 after epoch 80, reduce-on-plateau of the validation loss by sqrt(0.1)
after 5 epochs without improvement, down to 5e-7. Select it with
  optimizer='adam', schedule='step', decay_epochs=(80,), plateau.patience=5.
"""

import jax
import optax

from medadv_jax.runtime import devices

OPTIMIZERS = ('adam', 'sgd')
SCHEDULES = ('constant', 'step', 'cosine')


def is_kernel(path) -> bool:
  """Conv and dense kernels: what L2 and weight decay act on (not biases, BN)."""
  return getattr(path[-1], 'key', None) == 'kernel'


def kernel_mask(params):
  return jax.tree_util.tree_map_with_path(lambda path, _: is_kernel(path), params)


def learning_rate_schedule(train_config, steps_per_epoch: int,
                           epochs: int) -> optax.Schedule:
  """Learning rate as a function of the optimiser step (before the plateau scale);
  `epochs`: the run's largest number of epochs (`length.plan`), where 'cosine' ends."""
  lr = train_config.learning_rate
  if train_config.schedule == 'step':
    # At step e * steps_per_epoch, i.e. after e full epochs.
    return optax.piecewise_constant_schedule(
        lr, {int(e) * steps_per_epoch: train_config.decay_factor
             for e in train_config.decay_epochs})
  if train_config.schedule == 'cosine':
    return optax.cosine_decay_schedule(
        lr, decay_steps=max(1, epochs * steps_per_epoch))
  return optax.constant_schedule(lr)


def make_optimizer(train_config, schedule: optax.Schedule) -> optax.GradientTransformation:
  """Adam (AdamW when weight_decay > 0) or SGD with momentum and coupled weight decay."""
  decay = train_config.weight_decay
  if train_config.optimizer == 'adam':
    if decay:
      return optax.adamw(schedule, weight_decay=decay, mask=kernel_mask)
    return optax.adam(schedule)
  sgd = optax.sgd(schedule, momentum=train_config.momentum or None,
                  nesterov=train_config.nesterov)
  if decay:
    return optax.chain(optax.add_decayed_weights(decay, mask=kernel_mask), sgd)
  return sgd


def make_plateau(train_config) -> optax.GradientTransformationExtraArgs:
  """reduce_on_plateau with Keras' semantics: improvement means the loss fell by
  more than `min_delta` (absolute); the scale never drops below
  min_learning_rate / learning_rate."""
  plateau = train_config.plateau
  return optax.contrib.reduce_on_plateau(
      factor=plateau.factor, patience=max(1, plateau.patience), rtol=0.0,
      atol=plateau.min_delta,
      min_scale=plateau.min_learning_rate / train_config.learning_rate)


def make_plateau_update(plateau_tx, mesh):
  """Jitted `(plateau_state, value) -> plateau_state`, called once per epoch."""
  def update(state, value):
    return plateau_tx.update({}, state, value=value)[1]
  return jax.jit(update, out_shardings=devices.replicated(mesh))

