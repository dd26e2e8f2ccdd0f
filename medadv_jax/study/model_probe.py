"""Runs each model named by import path on one batch before the workdir is
written, so that a `__call__` without `train`, a wrong number of outputs or
non-finite outputs at initialisation stop the study in one line, not in a
traceback, a wrong cause or an AUC of nan later."""

import inspect

import jax
import numpy as np

from medadv_jax.data import dataset as data_lib, image_folder, medmnist_catalog
from medadv_jax.errors import ConfigError
from medadv_jax.models import imported, output_checks, registry

_BATCH = 2


def check_imported_models(config) -> None:
  """Raises ConfigError (field model.names) for the first imported model of
  `config` that cannot be trained and attacked as the study does."""
  task, label_names = data_lib.describe(config.data.name)
  images = np.random.default_rng(0).uniform(0, 1, (_BATCH, *input_shape(config.data)))
  for name in config.model.names:
    if not imported.is_import_path(name):
      continue
    for width in config.model.widths:
      for depth in tuple(config.model.depths) or (None,):
        model = registry.get_model(name, num_classes=len(label_names), width=width,
                                   depth=depth, field='model.names')
        _probe(name, model, images.astype(np.float32), task == 'multi-label')


def input_shape(data) -> tuple[int, int, int]:
  """(H, W, C) of the images `config.data` gives a model."""
  if data.name in image_folder.FOLDER_DATASETS:
    channels = 3 if image_folder.FOLDER_DATASETS[data.name].colour else 1
  else:
    channels = medmnist_catalog.CATALOG[data.name].channels
  return data.size, data.size, 3 if data.get('grey_to_rgb', False) else channels


def _probe(name: str, model, images: np.ndarray, multi_label: bool) -> None:
  parameters = inspect.signature(type(model).__call__).parameters
  if 'train' not in parameters and not any(
      p.kind == p.VAR_KEYWORD for p in parameters.values()):
    raise ConfigError('model.names', name,
                      'a module whose __call__ takes a `train` argument (the study '
                      'calls model.apply(variables, images, train=...)); '
                      f'{type(model).__name__}.__call__{inspect.signature(type(model).__call__)}'
                      ' has none')
  outputs, _ = model.init_with_output(jax.random.key(0), images, train=False)
  problem = output_checks.problem(outputs, model.num_classes, multi_label)
  if problem:
    seen, allowed = problem
    raise ConfigError('model.names', name,
                      f'a module giving {allowed} (width {model.width:g} on a batch of '
                      f'{images.shape[1:]} images in [0, 1] at initialisation gave {seen})')
