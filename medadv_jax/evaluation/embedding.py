"""Penultimate features of clean and adversarial test images of one trained model,
for the decision-boundary figure (reporting/figures/boundary_figure.py).

The features are the input of the model's last `nn.Dense` call, caught with
`nn.intercept_methods`, so no model family needs a method of its own; a model
whose last dense layer does not give the logits (an imported one, perhaps) has
none, and its cell no embedding file. The adversarial images are the study's
untargeted PGD at one radius, with the study's per-image keys (as
`examples.compute_examples`), on a fixed, class-balanced sample of the attack subset.
"""

import pathlib
from typing import Optional

import flax.linen as nn
import jax.numpy as jnp
import numpy as np
from absl import logging

from medadv_jax import cell_data
from medadv_jax.attacks import eps_grid, registry
from medadv_jax.evaluation import examples
from medadv_jax.models.eval_apply import EvalApply
from medadv_jax.ops import xla_options


class NoFeaturesError(ValueError):
  """The model's forward pass ends in no `nn.Dense` call that gives its logits."""


def _last_dense(model: nn.Module, variables, images):
  """(input of the last nn.Dense call flattened per image, its output, the logits)."""
  caught = []

  def catch(next_fun, args, kwargs, context):
    out = next_fun(*args, **kwargs)
    if isinstance(context.module, nn.Dense) and context.method_name == '__call__':
      caught.append((args[0] if args else kwargs['inputs'], out))
    return out

  with nn.intercept_methods(catch):
    logits = model.apply(variables, images, train=False)
  if not caught or caught[-1][1].shape != logits.shape:
    raise NoFeaturesError(f'{type(model).__name__} has no last nn.Dense layer giving its '
                          f'logits {logits.shape}')
  inputs, out = caught[-1]
  return inputs.reshape(images.shape[0], -1), out, logits


@xla_options.jit(static_argnums=(0,))
def _features(apply_fn: EvalApply, variables, x):
  return _last_dense(apply_fn.model, variables, x)


def penultimate_features(model: nn.Module, variables, images) -> tuple[np.ndarray,
                                                                        np.ndarray]:
  """(features (N, D) float32, logits (N, K)) of images (N, H, W, C) in [0, 1], eval mode.

  Features are the input of the model's last nn.Dense layer (D its input size);
  NoFeaturesError if the model has no such layer giving the logits.
  """
  features, _, logits = _features(EvalApply(model), variables, jnp.asarray(images))
  return np.asarray(features, np.float32), np.asarray(logits)


@xla_options.jit(static_argnums=(0, 1))
def _attack_and_features(spec, apply_fn: EvalApply, variables, x, y, eps, keys):
  x_adv = spec(lambda images: apply_fn(variables, images), x, y, eps, keys)
  features, _, logits = _last_dense(apply_fn.model, variables, jnp.concatenate([x, x_adv]))
  return features, logits


def compute_embedding(model, variables, dataset, config, seed: int) -> dict[str, np.ndarray]:
  """Features of `config.report.embedding_images` attacked test images, clean and adversarial.

  The images are `examples.example_positions`' (classes take turns, fixed by the
  seed, the same for every size of a seed); the radius is the grid's nearest to
  `config.report.embedding_eps_255`. Returns numpy arrays, N images, D features:
    clean_features, adv_features (N, D) float32; labels, clean_pred, adv_pred (N,) int32;
    fooled (N,) bool: adv_pred != label (images already wrong when clean included);
    test_indices (N,) int64;
    label_names (K,) str; eps_255 () float64; attack () str, e.g. 'PGD-20, untargeted'.
  NoFeaturesError if the model has no penultimate features (`penultimate_features`).
  """
  count = config.report.embedding_images
  eps_255 = examples.choose_radii_255(config.attack.eps_255,
                                      (config.report.embedding_eps_255,))[0]
  positions, test_indices = examples.example_positions(
      dataset.test_labels, config.data.attack_per_class, seed, count)
  x = dataset.test_images[test_indices]
  y = dataset.test_labels[test_indices].astype(np.int32)
  spec = examples.pgd_spec(config.attack)
  keys = eps_grid.keys_of(registry.attack_key(seed, spec), jnp.asarray(positions, jnp.int32))
  features, logits = _attack_and_features(spec, EvalApply(model), variables, x, y,
                                          jnp.float32(eps_255 / 255.0), keys)
  features = np.asarray(features, np.float32)
  pred = np.argmax(np.asarray(logits), -1).astype(np.int32)
  n = len(y)
  return dict(
      clean_features=features[:n], adv_features=features[n:], labels=y,
      clean_pred=pred[:n], adv_pred=pred[n:], fooled=pred[n:] != y,
      test_indices=test_indices, label_names=np.asarray(dataset.label_names, str),
      eps_255=np.float64(eps_255),
      attack=np.asarray(cell_data.attack_label(dict(
          attack=spec.name, target=spec.target, steps=spec.steps, restarts=spec.restarts))))


def write_cell_embedding(path: pathlib.Path, model, variables, dataset, config,
                         seed: int) -> bool:
  """`compute_embedding` saved to `path` (`cell_data.save_examples`); nothing for a
  multi-label dataset or a model without penultimate features. Returns whether written."""
  if dataset.is_multi_label:
    logging.info('  no embedding: %s is multi-label', dataset.name)
    return False
  try:
    embedding = compute_embedding(model, variables, dataset, config, seed)
  except NoFeaturesError as e:
    logging.info('  no embedding: %s', e)
    return False
  cell_data.save_examples(path, embedding)
  return True
