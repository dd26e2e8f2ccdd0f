"""Pure train steps, one per training mode, jitted over a data-parallel mesh.

Modes:
  'standard'  cross-entropy on the clean batch.
  'pgd'       Madry et al.: cross-entropy on PGD examples (random start, last iterate).
  'fgsm_rs'   Wong et al. 2020: cross-entropy on one FGSM step from a random start.
  'trades'    Zhang et al. 2019: CE(clean) + beta * KL(p(clean) || p(x_adv)), x_adv
              maximising that KL.
"""

import dataclasses
import functools

import jax
import jax.numpy as jnp
import optax

from medadv_jax.data import augment as augment_lib
from medadv_jax.ops import xla_options
from medadv_jax.runtime import devices
from medadv_jax.training import attacks, losses
from medadv_jax.training.optim import is_kernel
from medadv_jax.training.train_state import TrainState

TRAIN_MODES = ('standard', 'pgd', 'fgsm_rs', 'trades')
ADVERSARIAL_MODES = ('pgd', 'fgsm_rs', 'trades')
BN_MODES = ('batch', 'running')
_AUGMENT_TAG = 0x617567  # 'aug'


@dataclasses.dataclass(frozen=True)
class AdvSettings:
  """The training attack of `config.train.adv`, eps in [0, 1] pixel units."""
  eps: float
  steps: int
  step_size_frac: float
  fgsm_step_frac: float
  trades_beta: float
  bn_mode: str

  @classmethod
  def from_config(cls, adv_config) -> 'AdvSettings':
    return cls(eps=adv_config.eps_255 / 255.0, steps=adv_config.steps,
               step_size_frac=adv_config.step_size_frac,
               fgsm_step_frac=adv_config.fgsm_step_frac,
               trades_beta=adv_config.trades_beta, bn_mode=adv_config.bn_mode)


def kernel_l2(params) -> jnp.ndarray:
  """Sum of squared conv and dense kernels (biases and BatchNorm scales excluded)."""
  leaves = jax.tree_util.tree_leaves_with_path(params)
  return sum(jnp.sum(jnp.square(leaf)) for path, leaf in leaves if is_kernel(path))


def attack_logits_fn(state: TrainState, bn_mode: str):
  """Logits used to craft training attacks.

  'batch': BatchNorm normalises with the statistics of the batch being attacked
  (as the training forward pass will), without updating the running averages;
  examples then interact through the batch statistics, as they do in training.
  'running': BatchNorm uses the running averages, as at test time (and as in
  TRADES' and Wong et al.'s code, which switch to eval mode to attack).
  """
  if bn_mode == 'batch':
    return lambda x: state.apply_fn(state.variables, x, train=True,
                                    mutable=['batch_stats'])[0]
  return lambda x: state.apply_fn(state.variables, x, train=False)


def _adversarial_inputs(state, images, labels, key, mode, adv: AdvSettings):
  logits_fn = attack_logits_fn(state, adv.bn_mode)
  if mode == 'pgd':
    x_adv = attacks.madry_pgd(logits_fn, images, labels, adv.eps, key, steps=adv.steps,
                              step_size_frac=adv.step_size_frac)
  elif mode == 'fgsm_rs':
    x_adv = attacks.fgsm_rs(logits_fn, images, labels, adv.eps, key,
                            step_size_frac=adv.fgsm_step_frac)
  else:
    x_adv = attacks.trades_kl_attack(logits_fn, images, adv.eps, key, steps=adv.steps,
                                     step_size_frac=adv.step_size_frac,
                                     multi_label=labels.ndim == 2)
  # Clean accuracy before the update, with the attack's BatchNorm mode.
  clean_accuracy = losses.accuracy(logits_fn(images), labels)
  return jax.lax.stop_gradient(x_adv), clean_accuracy


def step_key(key: jax.Array, step, steps_per_epoch: int) -> jax.Array:
  """The PRNG key of optimiser step `step` (0-based): a function of (epoch, batch)
  only, so a run resumed anywhere draws the attacks an uninterrupted one would."""
  return jax.random.fold_in(jax.random.fold_in(key, step // steps_per_epoch),
                            step % steps_per_epoch)


def train_step(state: TrainState, images, labels, key, *, mode: str, l2_coeff: float,
               adv: AdvSettings, lr_schedule, steps_per_epoch: int,
               augment: augment_lib.AugmentSettings = augment_lib.AugmentSettings()):
  """One optimiser step on a (global) batch: images (N, H, W, C) in [0, 1], labels
  (N,) (or (N, L) 0/1 for multi-label tasks).

  `key` is the run's training key; the step's own key comes from `step_key`.
  The batch is augmented first (`augment`), so adversarial modes attack the
  augmented images, as they train on them.
  Returns (new state, dict of scalar metrics): 'loss' (minimised, with L2),
  'cross_entropy' (of the images trained on; TRADES: of the clean ones),
  'accuracy' (clean, before the update), 'robust_accuracy' (adversarial modes:
  on the training attack's images), 'kl' (TRADES), 'grad_norm', 'param_norm'
  (of the new parameters, so a finite value certifies the state a checkpoint
  would save) and 'learning_rate'.
  """
  key = step_key(key, state.step, steps_per_epoch)
  if augment.enabled:
    # A key of its own: switching augmentation leaves the attacks' keys as they were.
    images = augment_lib.augment_batch(images, jax.random.fold_in(key, _AUGMENT_TAG),
                                       augment.shift_frac, augment.hflip)
  metrics = {}
  if mode == 'standard':
    inputs = images
  else:
    inputs, metrics['accuracy'] = _adversarial_inputs(state, images, labels, key, mode, adv)

  def forward(params, batch_stats, x):
    logits, updates = state.apply_fn({'params': params, 'batch_stats': batch_stats}, x,
                                     train=True, mutable=['batch_stats'])
    return logits, updates['batch_stats']

  def loss_fn(params):
    if mode == 'trades':
      # Two passes, as in the reference code: running statistics see both batches.
      logits, batch_stats = forward(params, state.batch_stats, images)
      trained_logits, batch_stats = forward(params, batch_stats, inputs)
      kl = jnp.mean(losses.kl_to_clean(logits, trained_logits, labels.ndim == 2))
      ce = losses.cross_entropy(logits, labels).mean()
      data_loss, extra = ce + adv.trades_beta * kl, {'kl': kl}
    else:
      trained_logits, batch_stats = forward(params, state.batch_stats, inputs)
      ce = losses.cross_entropy(trained_logits, labels).mean()
      data_loss, extra = ce, {}
    extra.update(cross_entropy=ce, trained_logits=trained_logits, batch_stats=batch_stats)
    return data_loss + l2_coeff * kernel_l2(params), extra

  (loss, extra), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  new_state = state.apply_gradients(grads, extra.pop('batch_stats'))
  train_accuracy = losses.accuracy(extra.pop('trained_logits'), labels)
  if mode == 'standard':
    metrics['accuracy'] = train_accuracy
  else:
    metrics['robust_accuracy'] = train_accuracy  # Under the training attack.
  metrics.update(extra, loss=loss, grad_norm=optax.tree.norm(grads),
                 param_norm=optax.tree.norm(new_state.params),
                 learning_rate=lr_schedule(state.step) * state.lr_scale)
  return new_state, metrics


def make_train_step(mode: str, train_config, lr_schedule, mesh, steps_per_epoch: int,
                    augment: augment_lib.AugmentSettings = augment_lib.AugmentSettings()):
  """Jitted `train_step(state, images, labels, key)` over `mesh`, donating the old state.

  The state and key are replicated; images and labels are split along the
  batch axis (see `runtime.devices`).
  """
  step = functools.partial(train_step, mode=mode, l2_coeff=train_config.l2_coeff,
                           adv=AdvSettings.from_config(train_config.adv),
                           lr_schedule=lr_schedule, steps_per_epoch=steps_per_epoch,
                           augment=augment)
  replicated, batch = devices.replicated(mesh), devices.batch_sharded(mesh)
  return jax.jit(step, in_shardings=(replicated, batch, batch, replicated),
                 out_shardings=(replicated, replicated), donate_argnums=0,
                 compiler_options=xla_options.compiler_options())
