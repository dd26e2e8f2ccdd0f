"""The study runs unchanged on every shipped MedMNIST file and on an image folder,
with both split protocols; an image folder is decoded once for all seeds."""

import numpy as np
import pytest

from medadv_jax.data import dataset as data_lib, image_folder
from medadv_jax.study import runner
from data_helpers import make_chest_folder
from training_helpers import default_config

EPS_255 = (0.0, 1.0, 4.0)


def _tiny_study_config(name, size, split):
  """One small cell per seed: enough to cross every stage, data to report."""
  config = default_config('smoke')
  config.data.name, config.data.size, config.data.split = name, size, split
  config.data.train_limit = 128
  config.data.attack_per_class = 4
  config.model.widths = (0.25,)
  config.train.modes = ('standard',)
  config.train.epochs = 1
  config.attack.names = ('pgd',)
  config.attack.targets = ('untargeted',)
  config.attack.eps_255 = EPS_255
  config.attack.strong.eps_255 = EPS_255[1:]
  config.attack.sanity.more_steps_eps_255 = ()
  return config


def _check_rows(rows, config, seeds):
  for seed in seeds:
    data = data_lib.load_dataset(config.data, seed)
    expected_n = data_lib.attack_subset(data.test_labels, 4, seed).size
    for attack in ('pgd', 'ensemble'):
      curve = [r for r in rows if r['seed'] == seed and r['attack'] == attack]
      assert [r['eps_255'] for r in curve] == list(EPS_255)
      assert all(r['n'] == expected_n and r['dataset'] == config.data.name for r in curve)
      accuracies = [r['accuracy'] for r in curve]
      assert all(b <= a for a, b in zip(accuracies, accuracies[1:]))


@pytest.mark.parametrize('name, size, split', [
    ('breastmnist', 28, 'pooled'),
    ('breastmnist', 64, 'official'), ('pneumoniamnist', 28, 'pooled'),
    ('retinamnist', 28, 'official')])
def test_study_runs_on_the_shipped_medmnist_files(tmp_path, name, size, split):
  config = _tiny_study_config(name, size, split)
  rows = runner.run_study(config, tmp_path)
  _check_rows(rows, config, seeds=(0,))
  assert (tmp_path / 'report.md').read_text().count(name) >= 1


@pytest.mark.parametrize('split', ['official', 'pooled'])
def test_study_runs_on_an_image_folder_decoding_it_once_for_all_seeds(
    tmp_path, monkeypatch, split):
  root = make_chest_folder(tmp_path / 'chest_xray', per_class=(24, 8, 8))
  # Resized (from 40x30 and up) to 28x28 grey, the shapes of the MedMNIST cases
  # above: the study loads their compiled programs instead of compiling its own.
  config = _tiny_study_config('chest_xray_folder', 28, split)
  config.data.dir = str(root)
  config.seeds = (0, 1)
  decodes = []
  load_folder = image_folder.load_folder
  monkeypatch.setattr(image_folder, 'load_folder',
                      lambda *args: decodes.append(args) or load_folder(*args))
  rows = runner.run_study(config, tmp_path / 'run')
  assert len(decodes) == 1
  _check_rows(rows, config, seeds=(0, 1))
  test_sets = [data_lib.load_dataset(config.data, s).test_images for s in (0, 1)]
  # Pooled: each seed draws its own test set; official: the folder's test/ for both.
  assert np.array_equal(*test_sets) == (split == 'official')
