"""Pure train and eval steps. Adversarial training replaces the batch by attacks on it."""

import functools
from typing import Optional

import jax
import jax.numpy as jnp
import optax

from medadv_jax.training.train_state import TrainState

BN_MODES = ('batch', 'running')


def kernel_l2(params) -> jnp.ndarray:
  """Sum of squared conv and dense kernels (biases and BatchNorm scales excluded)."""
  leaves = jax.tree_util.tree_leaves_with_path(params)
  return sum(jnp.sum(jnp.square(leaf)) for path, leaf in leaves
             if getattr(path[-1], 'key', None) == 'kernel')


def attack_logits_fn(state: TrainState, bn_mode: str):
  """Logits used to craft training attacks.

  'batch': BatchNorm normalises with the statistics of the batch being attacked
  (as the training forward pass will), without updating the running averages.
  'running': BatchNorm uses the running averages, as at test time.
  """
  if bn_mode == 'batch':
    return lambda x: state.apply_fn(state.variables, x, train=True,
                                    mutable=['batch_stats'])[0]
  return lambda x: state.apply_fn(state.variables, x, train=False)


def train_step(state: TrainState, images, labels, key, *, l2_coeff: float,
               attack=None, bn_mode: str = 'batch'):
  """One optimiser step; with `attack`, on the adversarial version of the batch.

  Returns (new state, metrics dict of scalars).
  """
  if attack is not None:
    images = jax.lax.stop_gradient(
        attack(attack_logits_fn(state, bn_mode), images, labels, key=key))

  def loss_fn(params):
    logits, updates = state.apply_fn({'params': params, 'batch_stats': state.batch_stats},
                                     images, train=True, mutable=['batch_stats'])
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
    return ce + l2_coeff * kernel_l2(params), (ce, logits, updates['batch_stats'])

  (loss, (ce, logits, batch_stats)), grads = jax.value_and_grad(
      loss_fn, has_aux=True)(state.params)
  metrics = {
      'loss': loss, 'cross_entropy': ce,
      'accuracy': jnp.mean(jnp.argmax(logits, -1) == labels),
      'grad_norm': optax.tree.norm(grads),
      'param_norm': optax.tree.norm(state.params),
  }
  return state.apply_gradients(grads, batch_stats), metrics


def make_train_step(l2_coeff: float, attack=None, bn_mode: str = 'batch',
                    eps: Optional[float] = None):
  """Jitted `train_step(state, images, labels, key)` donating the old state.

  `attack` is `(logits_fn, x, y, eps, key) -> x_adv`; `eps` binds its radius.
  """
  bound_attack = None
  if attack is not None:
    bound_attack = lambda logits_fn, x, y, key: attack(logits_fn, x, y, eps, key)
  step = functools.partial(train_step, l2_coeff=l2_coeff, attack=bound_attack,
                           bn_mode=bn_mode)
  return jax.jit(step, donate_argnums=0)
