"""Training losses and metrics for every task type, chosen by the labels' rank.

Single-label tasks (binary, multi-class, ordinal) have int labels (N,) and
softmax logits (N, K); multi-label tasks (ChestMNIST) have 0/1 labels (N, L)
and one sigmoid logit per label (N, L), as MedMNIST's reference training
(BCEWithLogitsLoss). The rank is known at trace time, so one jitted step
serves either.
"""

import jax
import jax.numpy as jnp
import optax

from medadv_jax.attacks import objectives


def cross_entropy(logits: jnp.ndarray, labels: jnp.ndarray) -> jnp.ndarray:
  """Per-example loss in nats, (N,).

  Multi-label: the binary cross-entropy averaged over labels (not summed), so
  the loss keeps the scale of a single-label task and `train.l2_coeff` means
  the same for both.
  """
  if objectives.is_multilabel(labels):
    return jnp.mean(optax.sigmoid_binary_cross_entropy(
        logits, labels.astype(logits.dtype)), axis=-1)
  return optax.softmax_cross_entropy_with_integer_labels(logits, labels)


def accuracy(logits: jnp.ndarray, labels: jnp.ndarray) -> jnp.ndarray:
  """Fraction classified right (multi-label: every label right, as the attacks count)."""
  return jnp.mean(objectives.correct(logits, labels))


def kl_to_clean(clean_logits: jnp.ndarray, logits: jnp.ndarray,
                multi_label: bool = False) -> jnp.ndarray:
  """Per-example KL(p_clean || p) in nats, (N, K) x (N, K) -> (N,).

  Multi-label: the KL between the labels' independent Bernoulli outputs,
  averaged over labels (not summed) like `cross_entropy`, so TRADES' beta weighs
  it against the natural loss on the same scale as for single-label tasks.
  """
  if multi_label:
    def bernoulli_kl(log_p, log_q):
      return jnp.exp(log_p) * (log_p - log_q)
    log_p, log_q = jax.nn.log_sigmoid(clean_logits), jax.nn.log_sigmoid(logits)
    log_not_p, log_not_q = jax.nn.log_sigmoid(-clean_logits), jax.nn.log_sigmoid(-logits)
    return jnp.mean(bernoulli_kl(log_p, log_q) + bernoulli_kl(log_not_p, log_not_q), -1)
  log_p = jax.nn.log_softmax(clean_logits)
  return jnp.sum(jnp.exp(log_p) * (log_p - jax.nn.log_softmax(logits)), axis=-1)
