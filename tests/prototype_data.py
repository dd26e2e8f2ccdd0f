"""A small classifier trained to high clean accuracy on noisy class prototypes
(4x4 grey images), for the evaluation tests: quick to train, attackable."""

import jax
import numpy as np
import optax

from medadv_jax.data.dataset import Dataset


def trained_on_prototypes(model, low: float, high: float, name: str = 'toy'):
  """(params, dataset) of `model` (3 classes) after 60 Adam steps on 96 images:
  3 prototypes uniform in [low, high] plus noise of std 0.08; test = train."""
  rng = np.random.default_rng(0)
  prototypes = rng.uniform(low, high, (3, 4, 4, 1))
  labels = np.repeat(np.arange(3), 32).astype(np.int32)
  images = np.clip(prototypes[labels] + rng.normal(0, 0.08, (96, 4, 4, 1)), 0, 1)
  images = images.astype(np.float32)
  params = model.init(jax.random.key(0), images[:1])
  tx = optax.adam(3e-2)

  @jax.jit
  def step(params, opt_state):
    loss = lambda p: optax.softmax_cross_entropy_with_integer_labels(
        model.apply(p, images), labels).mean()
    updates, opt_state = tx.update(jax.grad(loss)(params), opt_state)
    return optax.apply_updates(params, updates), opt_state

  opt_state = tx.init(params)
  for _ in range(60):
    params, opt_state = step(params, opt_state)
  return params, Dataset(name, 'multi-class', ('a', 'b', 'c'), images, labels, images,
                         labels, images, labels)
