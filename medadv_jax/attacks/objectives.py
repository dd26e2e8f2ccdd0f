"""Losses an attack ascends, and how targets are chosen."""

import jax.numpy as jnp
import optax

TARGET_MODES = ('untargeted', 'least_likely')


def least_likely_targets(clean_logits: jnp.ndarray) -> jnp.ndarray:
  """The class the model finds least likely on the clean image, (N, K) -> (N,)."""
  return jnp.argmin(clean_logits, axis=-1)


def attack_labels(logits_fn, x, y, target_mode: str) -> jnp.ndarray:
  """Labels the objective refers to: the true label, or the target class."""
  if target_mode == 'untargeted':
    return y
  if target_mode == 'least_likely':
    return least_likely_targets(logits_fn(x))
  raise ValueError(f'unknown target mode {target_mode!r}; allowed {TARGET_MODES}')


def cross_entropy_objective(logits: jnp.ndarray, labels: jnp.ndarray,
                            target_mode: str) -> jnp.ndarray:
  """Per-example value to maximise, (N,).

  Untargeted: the cross-entropy of the true label (push away from it).
  Targeted: minus the cross-entropy of the target (pull towards it).
  """
  ce = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
  return ce if target_mode == 'untargeted' else -ce


def misclassified(logits: jnp.ndarray, y: jnp.ndarray) -> jnp.ndarray:
  return jnp.argmax(logits, axis=-1) != y


def summed_objective_and_logits(logits_fn, labels, target_mode):
  """`x -> (sum of objective, logits)`, for `jax.value_and_grad(has_aux=True)`.

  Summing is exact for per-example gradients as long as `logits_fn` treats
  examples independently (eval-mode BatchNorm).
  """
  def objective(x):
    logits = logits_fn(x)
    return jnp.sum(cross_entropy_objective(logits, labels, target_mode)), logits
  return objective


