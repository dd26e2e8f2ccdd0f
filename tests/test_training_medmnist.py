"""On real data (PneumoniaMNIST), PGD training buys robustness that standard training lacks."""

import jax
import numpy as np
import pytest

from medadv_jax.attacks import registry
from medadv_jax.data.dataset import load_dataset
from medadv_jax.models.cnn import WidthCNN
from medadv_jax.models.eval_apply import EvalApply
from medadv_jax.runtime import devices
from medadv_jax.training import loop, validation
from training_helpers import default_config

EPS_255 = 4.0


@pytest.fixture(scope='module')
def pneumonia():
  data = default_config().data
  data.download = False
  data.train_limit = 1000  # Of 4708: three epochs learn the task in seconds.
  return load_dataset(data)


def _balanced_accuracy(model, variables, images, labels) -> float:
  predictions = np.asarray(jax.jit(EvalApply(model))(variables, images)).argmax(-1)
  return float(np.mean([np.mean(predictions[labels == c] == c) for c in np.unique(labels)]))


def test_pgd_training_raises_robust_accuracy_over_standard_training(tmp_path, pneumonia):
  model = WidthCNN(num_classes=2, width=0.25)
  config = default_config().train
  config.update(min_steps=0, epochs=3, batch_size=32, learning_rate=3e-3)
  config.adv.eps_255 = EPS_255
  # A stronger attack than the training one (10 steps, not 5) measures robustness.
  test_attack = validation.Validator(
      model, devices.data_mesh(), 1024,
      registry.AttackSpec('pgd', steps=10, step_size_frac=0.25), EPS_255 / 255.0)
  results = {}
  for mode in ('standard', 'pgd'):
    variables, _ = loop.train_model(model, pneumonia, config, mode, 0, tmp_path / mode)
    results[mode] = test_attack(variables, pneumonia.test_images, pneumonia.test_labels,
                                jax.random.key(1))
    results[mode]['balanced'] = _balanced_accuracy(model, variables, pneumonia.test_images,
                                                   pneumonia.test_labels)
  # Both learned the task (a constant guess scores 0.5 balanced accuracy)...
  assert results['standard']['balanced'] > 0.55 and results['pgd']['balanced'] > 0.55, results
  # ...and only adversarial training resists the attack.
  assert results['pgd']['robust_accuracy'] > results['standard']['robust_accuracy'] + 0.15, (
      results)
