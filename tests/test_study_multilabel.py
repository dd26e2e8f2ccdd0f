"""A multi-label study (ChestMNIST-shaped file the test generates) trains, attacks
and reports end to end; multi-label settings that cannot work are refused."""

import numpy as np
import pytest

from medadv_jax.data import dataset as data_lib
from medadv_jax.errors import ConfigError
from medadv_jax.study import runner
from training_helpers import default_config

N_LABELS = 14  # ChestMNIST's findings.


def _write_chest_like_npz(directory, seed=0):
  """28x28 grey images; finding k brightens row band k, so labels are learnable."""
  rng = np.random.default_rng(seed)
  arrays = {}
  for split, n in (('train', 192), ('val', 48), ('test', 64)):
    labels = (rng.uniform(size=(n, N_LABELS)) < 0.15).astype(np.uint8)
    images = rng.integers(0, 100, (n, 28, 28)).astype(np.float32)
    for k in range(N_LABELS):
      images[labels[:, k] == 1, 2 * k:2 * k + 2, :] += 150
    arrays[f'{split}_images'] = images.clip(0, 255).astype(np.uint8)
    arrays[f'{split}_labels'] = labels
  np.savez(directory / 'chestmnist.npz', **arrays)


def _config(directory):
  config = default_config('smoke')
  config.data.name = 'chestmnist'
  config.data.dir = str(directory)
  config.data.download = False
  config.data.verify_md5 = False  # A generated file, not the official one.
  config.data.attack_per_class = 2
  config.model.widths = (0.25,)
  config.train.modes = ('standard', 'trades')
  config.train.epochs = 1
  config.attack.targets = ('untargeted',)
  config.attack.sanity.more_steps_eps_255 = ()
  return config


def test_multi_label_study_trains_attacks_and_reports(tmp_path):
  _write_chest_like_npz(tmp_path)
  rows = runner.run_study(_config(tmp_path), tmp_path / 'run')
  assert {r['train_mode'] for r in rows} == {'standard', 'trades'}
  test_labels = data_lib.load_dataset(_config(tmp_path).data).test_labels
  expected_n = data_lib.attack_subset(test_labels, 2, seed=0).size
  for mode in ('standard', 'trades'):
    for attack in ('fgsm', 'pgd', 'ensemble'):
      curve = [r for r in rows if r['train_mode'] == mode and r['attack'] == attack]
      accuracies = [r['accuracy'] for r in curve]
      assert len(curve) == 29 and all(r['n'] == expected_n for r in curve)
      assert all(b <= a for a, b in zip(accuracies, accuracies[1:])), (mode, attack)
      assert 0.0 <= curve[0]['clean_test_accuracy'] <= 1.0
  assert (tmp_path / 'run' / 'report.md').read_text().count('chestmnist') >= 1


def test_multi_label_attack_subset_draws_per_finding_and_from_no_finding():
  labels = np.zeros((40, 3), np.int32)
  labels[:5, 0] = 1
  labels[5:10, 1] = 1
  labels[3:5, 2] = 1  # Two images with findings 0 and 2; none with only 2.
  chosen = data_lib.attack_subset(labels, per_class=2, seed=0)
  assert np.array_equal(chosen, np.unique(chosen))
  assert (labels[chosen, 0] == 1).sum() >= 2 and (labels[chosen, 1] == 1).sum() >= 2
  assert (labels[chosen].sum(axis=1) == 0).sum() == 2
  assert np.array_equal(chosen, data_lib.attack_subset(labels, per_class=2, seed=0))


def test_least_likely_targets_are_refused_for_multi_label_data(tmp_path):
  config = _config(tmp_path)
  config.attack.targets = ('least_likely', 'untargeted')
  with pytest.raises(ConfigError, match='attack.targets.*multi-label chestmnist'):
    runner.run_study(config, tmp_path / 'run')
