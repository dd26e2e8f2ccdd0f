"""data.dir and data.tfds_dir that cannot serve: one error naming the field
(issue 21, cases 5 and 9)."""

import os
import pathlib
import subprocess
import sys

import pytest

from medadv_jax.data import dataset, medmnist_source
from medadv_jax.errors import ConfigError, DataError
from training_helpers import default_config

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_a_data_dir_that_is_no_folder_is_refused_not_replaced_by_medmnist_dir(tmp_path):
  assert os.environ.get('MEDMNIST_DIR')  # The fallback the refusal must not take.
  with pytest.raises(ConfigError) as error:
    medmnist_source.locate_file('pneumoniamnist', 28, str(tmp_path / 'nonexistent'),
                                str(tmp_path / 'cache'), False)
  assert error.value.field == 'data.dir'
  assert 'pneumoniamnist.npz' in str(error.value) and 'MEDMNIST_DIR' in str(error.value)


@pytest.mark.parametrize('where', ['file', 'under_a_file'])
def test_a_tfds_dir_that_cannot_hold_records_gives_the_cannot_hold_line(tmp_path, where):
  (tmp_path / 'file').write_text('not a folder')
  config = default_config('smoke').data
  config.tfds_dir = str(tmp_path / 'file' if where == 'file' else tmp_path / 'file' / 'sub')
  with pytest.raises(DataError, match=r"--config.data.tfds_dir='.*file.*' cannot hold the "
                     r'prepared tfds records \(.*\); allowed: a folder'):
    dataset.load_raw_splits(config)


def test_main_names_data_dir_when_it_does_not_exist(tmp_path):
  result = subprocess.run(
      [sys.executable, 'main.py', '--config=configs/default.py:smoke',
       f'--workdir={tmp_path / "w"}', '--config.data.dir=/nonexistent'],
      cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
  assert result.returncode == 1
  assert "config field `data.dir` is '/nonexistent'" in result.stderr
  assert 'Traceback' not in result.stderr
