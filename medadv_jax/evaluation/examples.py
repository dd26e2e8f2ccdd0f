"""A few attacked test images of one trained model, for the gallery and saliency figures.

`compute_examples` picks a small, model-independent set of attack-subset images
(so cells of the same seed show the same images), runs the study's untargeted
PGD settings on them at a few radii with the study's per-image keys (the attack
the study runs at that radius, even where the study's own config has no
untargeted PGD, or its cascade stopped attacking an image already fooled at a
smaller radius), and takes a gradient saliency map of each clean image. Everything
comes back as numpy arrays; `cell_data.save_examples` / `load_examples` keep them
in one compressed npz per cell.
"""

import pathlib
from typing import Optional, Sequence

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import logging

from medadv_jax import cell_data
from medadv_jax.attacks import eps_grid, from_config, registry
from medadv_jax.data.dataset import attack_subset
from medadv_jax.errors import ConfigError
from medadv_jax.models.eval_apply import EvalApply
from medadv_jax.ops import xla_options

NUM_EXAMPLES = 4
# A barely visible and a clearly visible radius, in 1/255 units; the nearest
# radii of the config's grid are used, so the gallery shows measured radii.
DEFAULT_RADII_255 = (2.0, 8.0)


def example_positions(labels: np.ndarray, per_class: int, seed: int,
                      count: int = NUM_EXAMPLES) -> tuple[np.ndarray, np.ndarray]:
  """Which attack-subset images to show: (positions in the subset, test-set indices).

  Classes take turns (class 0, 1, ..., 0, 1, ...), each contributing images in a
  random order fixed by `seed`, until `count` images (or the subset) run out.
  Independent of the model, so cells of one seed show the same images.
  labels: int (N,) test labels; per_class, seed: as `attack_subset`.
  Returns two int arrays (k,), k = min(count, subset size).
  """
  subset = attack_subset(labels, per_class, seed)
  subset_labels = labels[subset]
  # A stream of its own, so the choice does not repeat the subset's draws.
  rng = np.random.default_rng((seed, 1))
  queues = [list(rng.permutation(np.flatnonzero(subset_labels == c)))
            for c in np.unique(subset_labels)]
  positions = []
  while len(positions) < count and any(queues):
    for queue in queues:
      if queue and len(positions) < count:
        positions.append(queue.pop(0))
  positions = np.asarray(positions, np.int64)
  return positions, subset[positions]


def choose_radii_255(grid_255: Sequence[float],
                     wanted_255: Sequence[float] = DEFAULT_RADII_255) -> np.ndarray:
  """For each wanted radius, the positive grid radius nearest to it on a log scale.

  Duplicates are merged; returns float64 (R,) ascending, in 1/255 units.
  """
  grid = np.asarray([g for g in grid_255 if g > 0], np.float64)
  if grid.size == 0:
    raise ConfigError('attack.eps_255', tuple(grid_255), 'at least one radius above 0')
  nearest = [grid[np.argmin(np.abs(np.log(grid) - np.log(w)))] for w in wanted_255]
  return np.unique(nearest)


def pgd_spec(attack_config):
  """The study's untargeted PGD spec (`from_config.attack_specs`), whatever the config runs."""
  config = ml_collections.ConfigDict(attack_config.to_dict())
  config.names, config.targets = ('pgd',), ('untargeted',)
  return from_config.attack_specs(config)[0]


def saliency_map(logits_fn, x: jnp.ndarray, y: jnp.ndarray) -> jnp.ndarray:
  """Plain gradient saliency (Simonyan et al. 2014): max over channels of |d z_y / d x|.

  z_y is the true class's logit (not the loss, whose gradient fades as the model
  grows confident). x (N, H, W, C) in [0, 1], y int (N,); returns (N, H, W) in
  logit units per unit pixel change. No smoothing, no normalisation.
  """
  def true_logit_sum(images):
    # Summing is exact per example: eval-mode models treat examples independently.
    return jnp.sum(jnp.take_along_axis(logits_fn(images), y[:, None], axis=-1))
  return jnp.max(jnp.abs(jax.grad(true_logit_sum)(x)), axis=-1)


@xla_options.jit(static_argnums=(0, 1))
def _attack_and_saliency(spec, apply_fn, variables, x, y, radii, keys):
  logits_fn = lambda images: apply_fn(variables, images)

  def at_radius(eps):
    x_adv = spec(logits_fn, x, y, eps, keys)
    return x_adv, logits_fn(x_adv)

  adv_images, adv_logits = jax.vmap(at_radius)(radii)
  return logits_fn(x), adv_images, adv_logits, saliency_map(logits_fn, x, y)


def compute_examples(model, variables, dataset, config, seed: int,
                     radii_255: Optional[Sequence[float]] = None,
                     count: int = NUM_EXAMPLES) -> dict[str, np.ndarray]:
  """Clean / adversarial images, predictions and saliency of `count` test images.

  Args:
    model: the Flax module (applied in eval mode, `EvalApply`).
    variables: its trained variables.
    dataset: a single-label `Dataset`.
    config: the study config (config.data.attack_per_class, config.attack.*).
    seed: the cell's seed (picks the images and the attack's random starts).
    radii_255: radii in 1/255 units; None: the grid radii nearest DEFAULT_RADII_255.
    count: number of images.

  Returns:
    numpy arrays, N images of shape (H, W, C), R radii, K classes:
      images (N, H, W, C) float32 in [0, 1]; labels (N,) int32;
      test_indices (N,) int64 into dataset.test_images; label_names (K,) str;
      radii_255 (R,) float64; attack () str, e.g. 'PGD-20, untargeted';
      adv_images (R, N, H, W, C) float32; perturbations = adv_images - images;
      clean_pred, clean_prob (N,): predicted class and its softmax probability;
      adv_pred, adv_prob (R, N): the same on the adversarial images;
      saliency (N, H, W) float32 (`saliency_map`).
  """
  if dataset.is_multi_label:
    raise ValueError(f'examples need single-label classes; {dataset.name} is multi-label')
  radii_255 = (choose_radii_255(config.attack.eps_255) if radii_255 is None
               else np.asarray(radii_255, np.float64))
  if radii_255.size == 0 or np.any(radii_255 <= 0):
    raise ValueError(f'radii_255 must be positive; got {radii_255.tolist()}')
  positions, test_indices = example_positions(
      dataset.test_labels, config.data.attack_per_class, seed, count)
  x = dataset.test_images[test_indices]
  y = dataset.test_labels[test_indices].astype(np.int32)
  spec = pgd_spec(config.attack)
  # The study keys example i of the attack subset by fold_in(key, i), the same
  # at every radius; reusing them reproduces the study's adversarial images.
  key = registry.attack_key(seed, spec)
  keys = eps_grid.keys_of(key, jnp.asarray(positions, jnp.int32))
  clean_logits, adv_images, adv_logits, saliency = _attack_and_saliency(
      spec, EvalApply(model), variables, x, y,
      jnp.asarray(radii_255 / 255.0, jnp.float32), keys)
  adv_images = np.asarray(adv_images)
  clean_pred, clean_prob = _prediction(clean_logits)
  adv_pred, adv_prob = _prediction(adv_logits)
  return dict(
      images=x, labels=y, test_indices=test_indices,
      label_names=np.asarray(dataset.label_names, str), radii_255=radii_255,
      attack=np.asarray(cell_data.attack_label(dict(
          attack=spec.name, target=spec.target, steps=spec.steps,
          restarts=spec.restarts))),
      adv_images=adv_images, perturbations=adv_images - x[None],
      clean_pred=clean_pred, clean_prob=clean_prob, adv_pred=adv_pred,
      adv_prob=adv_prob, saliency=np.asarray(saliency))


def _prediction(logits) -> tuple[np.ndarray, np.ndarray]:
  """(argmax class int32, its softmax probability float32), each of logits' shape[:-1]."""
  probs = np.asarray(jax.nn.softmax(logits, axis=-1))
  pred = np.argmax(probs, axis=-1)
  return pred.astype(np.int32), np.take_along_axis(probs, pred[..., None], -1)[..., 0]


def write_cell_examples(path: pathlib.Path, model, variables, dataset, config,
                        seed: int) -> bool:
  """`compute_examples` then `cell_data.save_examples` to `path`; a multi-label dataset is
  skipped (no single predicted class to show). Returns whether a file was written."""
  if dataset.is_multi_label:
    logging.info('  no example gallery: %s is multi-label', dataset.name)
    return False
  cell_data.save_examples(path, compute_examples(model, variables, dataset, config, seed))
  return True
