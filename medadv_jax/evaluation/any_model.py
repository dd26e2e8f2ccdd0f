"""Robustness of any model in one call, for a notebook or an ablation script:
the rows, intervals and sanity checks the study writes for each of its
models, without the study's training or workdir.

  rows = medadv_jax.evaluate_robustness(apply_fn, variables, images, labels,
                                        config.attack)
"""

import dataclasses
from typing import Callable

import numpy as np

from medadv_jax.data.dataset import Dataset
from medadv_jax.errors import DataError
from medadv_jax.evaluation import robustness


@dataclasses.dataclass(frozen=True)
class _ApplyFnModel:
  """`apply_fn(variables, images) -> logits` behind the `model.apply(variables,
  images, train=False)` call the evaluation makes; hashes by `apply_fn`."""
  apply_fn: Callable

  def apply(self, variables, images, train: bool = False):
    del train  # The caller's apply_fn is already its inference-mode forward pass.
    return self.apply_fn(variables, images)


def evaluate_robustness(apply_fn: Callable, variables, images, labels, attack_config, *,
                        attack_per_class: int = 0, seed: int = 0,
                        fitness_config=None, label_names=()) -> list[dict]:
  """The study's results rows for one trained model.

  Args:
    apply_fn: `(variables, images) -> logits`, the model in inference mode
      (e.g. `lambda v, x: model.apply(v, x, train=False)`); logits (N, K)
      (softmax classes) or (N, L) (sigmoid, multi-label).
    variables: its variables (any pytree `apply_fn` takes).
    images: float (N, H, W, C) in [0, 1]: the test set.
    labels: int (N,) classes, or 0/1 (N, L) for a multi-label task.
    attack_config: a config's `attack` section (`configs/default.py`'s
      `get_config().attack`, overridden as one likes).
    attack_per_class: images attacked per class, drawn with `seed` as the study
      draws them (`data.attack_per_class`); 0 attacks every image.
    seed: the seed of that draw and of the attacks' keys (the study: the cell's).
    fitness_config: a config's `fitness` section, to flag a model that predicts
      one class or is at chance (`evaluation/fitness.py`; its training is not
      seen, so under-training is not checked); None: not assessed.
    label_names: the classes' names, for the report (default '0', '1', ...).

  Returns:
    One dict per attack (and per-image ensemble) and eps, with the columns the
    study writes for it: accuracy, n, 95 % Wilson interval (ci_low, ci_high),
    clean test accuracy, median smallest fooling radius and the sanity_* checks.
  """
  images = np.asarray(images, np.float32)
  labels = np.asarray(labels)
  if images.ndim != 4 or labels.ndim not in (1, 2) or labels.shape[0] != images.shape[0]:
    raise DataError(f'images {images.shape} and labels {labels.shape}: need images '
                    '(N, H, W, C) and labels (N,) or (N, L) for the same N.')
  if images.size and (images.min() < 0 or images.max() > 1):
    raise DataError(f'images span [{images.min():g}, {images.max():g}]; attacks need '
                    'pixels in [0, 1] (eps is in those units).')
  num_outputs = labels.shape[1] if labels.ndim == 2 else int(labels.max()) + 1
  dataset = Dataset(
      name='custom', task='multi-label' if labels.ndim == 2 else 'multi-class',
      label_names=tuple(label_names) or tuple(str(k) for k in range(num_outputs)),
      train_images=images[:0], train_labels=labels[:0], val_images=images[:0],
      val_labels=labels[:0], test_images=images, test_labels=labels)
  config = _StudyView(attack=attack_config, data=_DataView(attack_per_class),
                      fitness=fitness_config)
  return robustness.evaluate_model(_ApplyFnModel(apply_fn), variables, dataset, config,
                                   seed)


@dataclasses.dataclass(frozen=True)
class _DataView:
  attack_per_class: int


@dataclasses.dataclass(frozen=True)
class _StudyView:
  """The two sections of a study config the evaluation reads."""
  attack: object
  data: _DataView
  fitness: object = None
