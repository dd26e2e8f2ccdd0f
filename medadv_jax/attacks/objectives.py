"""Losses an attack ascends, how targets are chosen, and what counts as fooled.

Single-label tasks have int labels y (N,) and softmax logits (N, K). Multi-label
tasks (e.g. ChestMNIST) have 0/1 labels y (N, L) and one sigmoid logit per label
(N, L); the label array's rank selects which, at trace time.
"""

import jax
import jax.numpy as jnp
import optax

TARGET_MODES = ('untargeted', 'least_likely')
# Targeted at the k-th most likely class of the clean prediction ('top2' is the
# runner-up), as AutoAttack's APGD-T picks its targets; k up to 10.
RANKED_TARGETS = tuple(f'top{k}' for k in range(2, 11))
LOSSES = ('ce', 'dlr', 'margin')
# DLR divides by the gap between the largest and the 3rd (4th, targeted) largest logit.
DLR_MIN_CLASSES = {'untargeted': 3}
DLR_MIN_CLASSES_TARGETED = 4


def is_multilabel(y: jnp.ndarray) -> bool:
  return y.ndim == 2


def least_likely_targets(clean_logits: jnp.ndarray) -> jnp.ndarray:
  """The class the model finds least likely on the clean image, (N, K) -> (N,)."""
  return jnp.argmin(clean_logits, axis=-1)


def attack_labels(logits_fn, x, y, target_mode: str) -> jnp.ndarray:
  """Labels the objective refers to: the true label, or the target class."""
  if target_mode == 'untargeted':
    return y
  if is_multilabel(y):
    raise ValueError(f'multi-label attacks are untargeted; got target {target_mode!r}')
  if target_mode == 'least_likely':
    return least_likely_targets(logits_fn(x))
  if target_mode in RANKED_TARGETS:
    rank = int(target_mode[3:])
    return jnp.argsort(-logits_fn(x), axis=-1)[:, rank - 1]
  raise ValueError(f'unknown target mode {target_mode!r}; allowed '
                   f'{TARGET_MODES + RANKED_TARGETS}')


def cross_entropy_objective(logits: jnp.ndarray, labels: jnp.ndarray,
                            target_mode: str) -> jnp.ndarray:
  """Per-example value to maximise, (N,).

  Untargeted: the cross-entropy of the true label (push away from it).
  Targeted: minus the cross-entropy of the target (pull towards it).
  """
  ce = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
  return ce if target_mode == 'untargeted' else -ce


def _other_max(logits: jnp.ndarray, labels: jnp.ndarray) -> jnp.ndarray:
  """Largest logit among the classes other than `labels`, (N,)."""
  mask = jnp.arange(logits.shape[-1]) == labels[:, None]
  return jnp.max(jnp.where(mask, -jnp.inf, logits), axis=-1)


def _logit_of(logits: jnp.ndarray, labels: jnp.ndarray) -> jnp.ndarray:
  return jnp.take_along_axis(logits, labels[:, None], axis=-1)[:, 0]


def margin_objective(logits: jnp.ndarray, labels: jnp.ndarray,
                     target_mode: str) -> jnp.ndarray:
  """Carlini-Wagner margin in logit units, (N,); positive once the attack succeeds.

  Untargeted: max_{i != y} z_i - z_y. Targeted: z_t - max_{i != t} z_i.
  """
  gap = _logit_of(logits, labels) - _other_max(logits, labels)
  return -gap if target_mode == 'untargeted' else gap


def dlr_objective(logits: jnp.ndarray, y: jnp.ndarray, targets: jnp.ndarray,
                  target_mode: str) -> jnp.ndarray:
  """Difference of logits ratio (Croce and Hein 2020), (N,); scale-invariant.

  Untargeted: -(z_y - max_{i != y} z_i) / (z_pi1 - z_pi3).
  Targeted:   -(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2).
  With fewer classes than the denominator needs (binary tasks; 3 classes when
  targeted) DLR is undefined and the margin objective is used instead.
  """
  if logits.shape[-1] < DLR_MIN_CLASSES.get(target_mode, DLR_MIN_CLASSES_TARGETED):
    return margin_objective(logits, targets, target_mode)
  ordered = -jnp.sort(-logits, axis=-1)
  z_y = _logit_of(logits, y)
  if target_mode == 'untargeted':
    return -(z_y - _other_max(logits, y)) / (ordered[:, 0] - ordered[:, 2] + 1e-12)
  spread = ordered[:, 0] - 0.5 * (ordered[:, 2] + ordered[:, 3])
  return -(z_y - _logit_of(logits, targets)) / (spread + 1e-12)


def multilabel_objective(logits: jnp.ndarray, y: jnp.ndarray, loss: str) -> jnp.ndarray:
  """Untargeted objective on sigmoid outputs, (N, L) logits and 0/1 labels -> (N,).

  'ce': summed binary cross-entropy (every label pushed away from the truth);
  'margin' / 'dlr': minus the smallest signed logit, i.e. the label closest to
  flipping (DLR has no multi-label form).
  """
  if loss == 'ce':
    return jnp.sum(optax.sigmoid_binary_cross_entropy(logits, y.astype(logits.dtype)), -1)
  return -jnp.min(signed_logits(logits, y), axis=-1)


def signed_logits(logits: jnp.ndarray, y: jnp.ndarray) -> jnp.ndarray:
  """(2y - 1) z: positive where a sigmoid label is right, (N, L)."""
  return jnp.where(y > 0, logits, -logits)


def objective(loss: str, logits, y, targets, target_mode: str) -> jnp.ndarray:
  """Per-example value to maximise, (N,), for loss in LOSSES."""
  if is_multilabel(y):
    return multilabel_objective(logits, y, loss)
  if loss == 'ce':
    return cross_entropy_objective(logits, targets, target_mode)
  if loss == 'margin':
    return margin_objective(logits, targets, target_mode)
  if loss == 'dlr':
    return dlr_objective(logits, y, targets, target_mode)
  raise ValueError(f'unknown loss {loss!r}; allowed {LOSSES}')


def value_and_grad_fn(logits_fn, loss: str, y, targets, target_mode: str):
  """`x -> ((sum of objective, (per-example objective, logits)), grad)`.

  Summing is exact for per-example gradients as long as `logits_fn` treats
  examples independently (eval-mode BatchNorm).
  """
  def summed(x):
    logits = logits_fn(x)
    values = objective(loss, logits, y, targets, target_mode)
    return jnp.sum(values), (values, logits)
  return jax.value_and_grad(summed, has_aux=True)


def correct(logits: jnp.ndarray, y: jnp.ndarray) -> jnp.ndarray:
  """Whether each example is classified right, (N,) bool.

  Single-label: argmax == y. Multi-label: every sigmoid label on the right side
  of 0.5 (exact match), so flipping any one label fools the model.
  """
  if is_multilabel(y):
    return jnp.all(signed_logits(logits, y) > 0, axis=-1)
  return jnp.argmax(logits, axis=-1) == y


def misclassified(logits: jnp.ndarray, y: jnp.ndarray) -> jnp.ndarray:
  return ~correct(logits, y)


def success_level(logits, y, targets, target_mode: str) -> jnp.ndarray:
  """0: not fooled; 1: misclassified; 2: classified as the target (targeted only), (N,)."""
  fooled = misclassified(logits, y)
  if target_mode == 'untargeted':
    return fooled.astype(jnp.int32)
  hit = fooled & (jnp.argmax(logits, axis=-1) == targets)
  return fooled.astype(jnp.int32) + hit.astype(jnp.int32)


def max_success_level(target_mode: str) -> int:
  return 1 if target_mode == 'untargeted' else 2
