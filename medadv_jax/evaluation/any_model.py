"""Robustness of any model in one call, for a notebook or an ablation script:
the rows, intervals and sanity checks the study writes for each of its
models, without the study's training or workdir.

  rows = medadv_jax.evaluate_robustness(apply_fn, variables, images, labels,
                                        config.attack)
"""

import dataclasses
from typing import Callable

import jax.numpy as jnp
import numpy as np

from medadv_jax.data.dataset import Dataset
from medadv_jax.errors import ArgumentError
from medadv_jax.evaluation import robustness
from medadv_jax.models import output_checks


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
                        fitness_config=None, label_names=(), multi_label: bool = False,
                        outputs: str = 'logits') -> list[dict]:
  """The study's results rows for one trained model.

  Args:
    apply_fn: `(variables, images) -> logits`, the model in inference mode
      (e.g. `lambda v, x: model.apply(v, x, train=False)`); logits (N, K), one
      per class (a binary task too: K = 2), or (N, L) sigmoid logits when
      `multi_label`.
    variables: its variables (any pytree `apply_fn` takes).
    images: float (N, H, W, C) in [0, 1] (NHWC, channels last): the test set.
    labels: int (N,) class indices, or 0/1 (N, L) with `multi_label=True`.
    attack_config: a config's `attack` section (`configs/default.py`'s
      `get_config().attack`, overridden as one likes).
    attack_per_class: images attacked per class, drawn with `seed` as the study
      draws them (`data.attack_per_class`); 0 attacks every image.
    seed: the seed of that draw and of the attacks' keys (the study: the cell's).
    fitness_config: a config's `fitness` section, to flag a model that predicts
      one class or is at chance (`evaluation/fitness.py`; its training is not
      seen, so under-training is not checked); None: not assessed.
    label_names: the classes' names, for the report (default '0', '1', ...);
      their number is the number of classes (default: the largest label + 1).
    multi_label: the labels are 0/1 (N, L) findings, each scored by a sigmoid.
    outputs: 'logits', or 'probabilities' for an `apply_fn` ending in softmax
      (sigmoid when `multi_label`): their logarithms (log-odds) are attacked,
      whose gradients vanish where a probability saturates; give logits if you can.

  Returns:
    One dict per attack (and per-image ensemble) and eps, with the columns the
    study writes for it: accuracy, n, 95 % Wilson interval (ci_low, ci_high),
    clean test accuracy, median smallest fooling radius and the sanity_* checks.
    Arguments it cannot read correctly raise ArgumentError (one line) before any work.
  """
  if outputs not in OUTPUTS:
    raise ArgumentError('outputs', repr(outputs), ', '.join(map(repr, OUTPUTS)))
  images = _checked_images(images)
  labels = _checked_labels(labels, images.shape[0], multi_label)
  num_classes = (len(label_names) if label_names else
                 labels.shape[1] if multi_label else int(labels.max(initial=0)) + 1)
  if not multi_label and labels.size and labels.max() >= num_classes:
    raise ArgumentError('label_names', f'{len(label_names)} names for labels up to '
                        f'{labels.max()}', 'one name per class')
  if outputs == 'probabilities':
    apply_fn = _LogOf(apply_fn, multi_label)
  problem = output_checks.problem(apply_fn(variables, images[:_PROBE_IMAGES]), num_classes,
                                  multi_label, probabilities_ok=outputs == 'probabilities')
  if problem:
    seen, allowed = problem
    hint = (" (or outputs='probabilities')" if 'probabilities' in seen else '')
    raise ArgumentError('apply_fn', f'{seen} on the first images', allowed + hint)
  dataset = Dataset(
      name='custom', task='multi-label' if multi_label else 'multi-class',
      label_names=tuple(label_names) or tuple(str(k) for k in range(num_classes)),
      train_images=images[:0], train_labels=labels[:0], val_images=images[:0],
      val_labels=labels[:0], test_images=images, test_labels=labels)
  config = _StudyView(attack=attack_config, data=_DataView(attack_per_class),
                      fitness=fitness_config)
  return robustness.evaluate_model(_ApplyFnModel(apply_fn), variables, dataset, config,
                                   seed)


OUTPUTS = ('logits', 'probabilities')
# Images the outputs are checked on before any work.
_PROBE_IMAGES = 8
_CHANNELS = (1, 3, 4)


def _checked_images(images) -> np.ndarray:
  """float32 NHWC images in [0, 1]; ArgumentError naming what was seen otherwise."""
  images = np.asarray(images)
  if not np.issubdtype(images.dtype, np.floating):
    raise ArgumentError('images', f'{images.dtype} images',
                        'float images in [0, 1] (uint8 pixels: images / 255)')
  if images.ndim != 4:
    raise ArgumentError('images', f'images of shape {images.shape}',
                        'NHWC images (N, H, W, C)')
  if images.shape[1] in _CHANNELS and images.shape[3] not in _CHANNELS:
    raise ArgumentError('images', f'images of shape {images.shape}, channels second (NCHW)',
                        'NHWC images (N, H, W, C), channels last: '
                        'images.transpose(0, 2, 3, 1)')
  if images.size and not (images.min() >= 0 and images.max() <= 1):
    raise ArgumentError('images', f'pixels spanning [{images.min():g}, {images.max():g}]',
                        'pixels in [0, 1] (eps is in those units)')
  return images.astype(np.float32)


def _checked_labels(labels, n: int, multi_label: bool) -> np.ndarray:
  """int (N,) class indices, or 0/1 (N, L) when `multi_label`; ArgumentError otherwise."""
  labels = np.asarray(labels)
  seen = f'{labels.dtype} labels of shape {labels.shape}'
  if multi_label:
    if labels.ndim != 2 or labels.shape[0] != n or not np.isin(labels, (0, 1)).all():
      raise ArgumentError('labels', seen, f'0/1 findings of shape ({n}, L) with '
                          'multi_label=True')
    return labels.astype(np.int32)
  integer = np.issubdtype(labels.dtype, np.integer) and labels.dtype != bool
  if (not integer or labels.shape != (n,)
      or (labels.size and labels.min() < 0)):
    one_hot = ' (one-hot: labels.argmax(1))' if labels.ndim == 2 else ''
    raise ArgumentError('labels', seen, f'integer class indices >= 0 of shape ({n},), one '
                        f'per image{one_hot}; 0/1 (N, L) with multi_label=True for a '
                        'multi-label task')
  return labels.astype(np.int32)


@dataclasses.dataclass(frozen=True)
class _LogOf:
  """Logits from an `apply_fn` returning probabilities: log p (softmax), or the
  log-odds log p - log(1 - p) (sigmoid, multi-label)."""
  apply_fn: Callable
  multi_label: bool

  def __call__(self, variables, images):
    p = self.apply_fn(variables, images)
    if self.multi_label:  # float32 resolves 1 - p down to about 1e-7.
      p = jnp.clip(p, 1e-7, 1 - 1e-7)
      return jnp.log(p) - jnp.log1p(-p)
    return jnp.log(jnp.maximum(p, 1e-30))


@dataclasses.dataclass(frozen=True)
class _DataView:
  attack_per_class: int


@dataclasses.dataclass(frozen=True)
class _StudyView:
  """The two sections of a study config the evaluation reads."""
  attack: object
  data: _DataView
  fitness: object = None
