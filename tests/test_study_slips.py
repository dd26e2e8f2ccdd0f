"""The study's smaller slips (issue 30, item 4): a data summary for every source in
the log and the report, a failed cell that lets the others run, a rerun with fewer
seeds that says what it leaves out, and a study that computed nothing changing
its data settings. Training and attacks are faked where they are not the point."""

import logging
import os
import pathlib

import numpy as np
import pytest

from medadv_jax import cell_data
from medadv_jax.data import dataset as data_lib, summary
from medadv_jax.errors import DataError
from medadv_jax.study import runner
from medadv_jax.training.loop import TrainingDivergedError
from data_helpers import data_config, make_chest_folder
from test_study_per_image import _config, fake_training

SHARED = pathlib.Path(os.environ['MEDMNIST_DIR'])
CHEST_SPLITS = {'train': 6, 'val': 4, 'test': 4}  # make_chest_folder's (3, 2, 2) per class.


def _summary(config):
  raw = data_lib.load_raw_splits(config)
  return summary.describe(config, raw, data_lib.load_dataset(config, 0, raw))


@pytest.mark.parametrize('source', ['medmnist', 'image folder', 'tfds'])
def test_the_data_summary_counts_images_splits_and_classes_of_every_source(
    tmp_path, source):
  if source == 'medmnist':
    config = data_config(SHARED, name='breastmnist')
    # BreastMNIST's official splits; its test set has 42 malignant, 114 benign.
    sizes, test_counts = {'train': 546, 'val': 78, 'test': 156}, {
        'malignant': 42, 'normal, benign': 114}
  else:
    root = make_chest_folder(tmp_path / 'chest_xray')
    config = data_config(root, name='chest_xray_folder', size=28, cache_dir='',
                         tfds_dir=str(tmp_path / 'tfds') if source == 'tfds' else '')
    sizes, test_counts = CHEST_SPLITS, {'normal': 2, 'pneumonia': 2}
  described = _summary(config)
  assert described['images_read'] == sum(sizes.values())
  assert {name: s['images'] for name, s in described['splits'].items()} == sizes
  assert described['splits']['test']['class_counts'] == test_counts
  for split in described['splits'].values():
    assert sum(split['class_counts'].values()) == split['images']
  line = summary.line(described)
  assert '\n' not in line and f'{sum(sizes.values())} images read; official' in line
  assert {'medmnist': 'MedMNIST file', 'image folder': f'image folder {config.dir}',
          'tfds': 'tfds records in'}[source] in line


def test_a_failed_cell_is_reported_and_the_others_still_run(tmp_path, monkeypatch, caplog):
  fake_training(monkeypatch)
  trained = runner.train_model

  def diverging(model, *args, **kwargs):  # The fake model is its width.
    if model == 0.25:
      raise TrainingDivergedError('loss not finite at step 3')
    return trained(model, *args, **kwargs)

  monkeypatch.setattr(runner, 'train_model', diverging)
  caplog.set_level(logging.INFO)
  with pytest.raises(runner.CellsFailedError) as error:
    runner.run_study(_config(), tmp_path)
  assert str(error.value).startswith('1 of 2 cells failed (loss not finite at step 3)')
  failed, ran = (tmp_path / 'cells' / f'pneumoniamnist_cnn_w{w}_standard_s0'
                 for w in ('0.25', '0.5'))
  assert (ran / 'results.json').exists() and not (failed / 'results.json').exists()
  assert 'pneumoniamnist_cnn_w0.25_standard_s0 failed; the other cells go on' in caplog.text
  report = (tmp_path / 'report.md').read_text()
  assert ('- **Failed**, not in the tables: pneumoniamnist_cnn_w0.25_standard_s0: loss not '
          'finite at step 3') in report
  # The data summary went to the log and the report.
  line = ('pneumoniamnist (MedMNIST file, 28 px): 12 images read; official: train 4 '
          '(normal 2, pneumonia 2), val 4 (normal 2, pneumonia 2), test 4 (normal 2, '
          'pneumonia 2)')
  assert f'data: {line}' in caplog.text and f'- Data of every cell: {line}.' in report

  monkeypatch.setattr(runner, 'train_model', trained)  # Fixed: the rerun retries it.
  runner.run_study(_config(), tmp_path)
  assert (failed / 'results.json').exists() and not (failed / cell_data.FAILED_FILE).exists()
  assert '**Failed**' not in (tmp_path / 'report.md').read_text()


def test_a_rerun_with_fewer_seeds_names_the_finished_seeds_it_leaves_out(
    tmp_path, monkeypatch, caplog):
  fake_training(monkeypatch)
  config = _config()
  config.seeds = (0, 1)
  runner.run_study(config, tmp_path)
  config.seeds = (0,)
  caplog.set_level(logging.INFO)
  rows = runner.run_study(config, tmp_path)
  assert {r['seed'] for r in rows} == {0}
  line = ('2 finished cell(s) of this workdir are left out of this report, the config not '
          'naming them (seeds 1: pneumoniamnist_cnn_w0.25_standard_s1, '
          'pneumoniamnist_cnn_w0.5_standard_s1); add them back to the config to report them.')
  assert line in caplog.text and f'- {line}' in (tmp_path / 'report.md').read_text()


def test_a_study_that_computed_nothing_may_change_its_data_settings(tmp_path, monkeypatch):
  config = _config()
  config.data.name, config.data.size = 'chest_xray_folder', 28
  config.model.widths = (0.25,)
  config.data.dir = str(tmp_path / 'not_there')
  with pytest.raises(DataError):
    runner.run_study(config, tmp_path / 'study')
  (cell_dir,) = (tmp_path / 'study' / 'cells').iterdir()
  assert [p.name for p in cell_dir.iterdir()] == [runner.FINGERPRINT_FILE]

  class Reached(Exception):
    """The cell started: its settings were accepted."""

  def reached(*args):
    raise Reached()

  monkeypatch.setattr(runner, 'run_cell', reached)
  config.data.dir = str(make_chest_folder(tmp_path / 'chest_xray'))
  with pytest.raises(Reached):
    runner.run_study(config, tmp_path / 'study')
  assert str(tmp_path / 'chest_xray') in (cell_dir / runner.FINGERPRINT_FILE).read_text()
  # A cell that computed something keeps the settings that made it.
  (cell_dir / 'checkpoints').mkdir()
  config.data.dir = str(tmp_path / 'elsewhere')
  with pytest.raises(runner.StaleCellError, match='data.dir'):
    runner.run_study(config, tmp_path / 'study')
