"""Models trained for real on PneumoniaMNIST, for tests that must see the
weights a study produces (certificates, schedules), not random ones."""

import pathlib

from benchmarks.reference_cnn import ReferenceCNN
from medadv_jax.data import dataset as dataset_lib
from medadv_jax.models.eval_apply import EvalApply
from medadv_jax.models import registry as model_registry
from medadv_jax.training import loop

import training_helpers


def pneumonia(seed: int = 0):
  """PneumoniaMNIST's official splits, and the study's attacked test images
  (100 per class) as (images, labels)."""
  config = training_helpers.default_config()
  dataset = dataset_lib.load_dataset(config.data, seed)
  subset = dataset_lib.attack_subset(dataset.test_labels, 100, seed)
  return dataset, (dataset.test_images[subset], dataset.test_labels[subset])


def trained(name: str, width: float, mode: str, epochs: int, run_dir: pathlib.Path,
            dataset):
  """(EvalApply, variables) of model `name` ('reference': the benchmarks' CNN)
  trained with the default study's recipe for `epochs` epochs."""
  config = training_helpers.default_config().train
  config.min_steps = 0  # Exactly `epochs` epochs.
  config.epochs = epochs
  model = (ReferenceCNN(num_classes=2, width=width) if name == 'reference'
           else model_registry.get_model(name, num_classes=2, width=width))
  variables, _ = loop.train_model(model, dataset, config, mode, 0, run_dir)
  return EvalApply(model), variables
