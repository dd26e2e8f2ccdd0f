"""Files a report reads are checked, and a figure it cannot draw is removed, not
left stale (issue 21, case 11). Training and attacks are faked as in
test_study_per_image."""

import json

import numpy as np
import pytest

from medadv_jax import cell_data
from medadv_jax.errors import DamagedFileError
from medadv_jax.study import runner
from test_study_per_image import _config, fake_training

CELL = 'pneumoniamnist_cnn_w0.25_standard_s0'


@pytest.fixture
def study(tmp_path, monkeypatch):
  """A finished two-cell study in tmp_path, made without training."""
  fake_training(monkeypatch)
  runner.run_study(_config(), tmp_path)
  return tmp_path


def test_a_truncated_or_deleted_sanity_json_is_written_again(study):
  path = study / 'cells' / CELL / 'sanity.json'
  original = json.loads(path.read_text())
  path.write_text(path.read_text()[:20])
  runner.run_study(_config(), study)
  assert json.loads(path.read_text()) == original
  path.unlink()
  runner.run_study(_config(), study)
  assert json.loads(path.read_text()) == original


def test_a_damaged_per_image_json_is_one_clear_error(study):
  (study / 'cells' / CELL / 'per_image.json').write_text('{"eps_255": [0')
  with pytest.raises(DamagedFileError, match='per_image.json is not valid JSON'):
    runner.run_study(_config(), study)


def test_a_figure_that_can_no_longer_be_drawn_is_removed(study):
  figure = study / 'min_eps_distributions.png'
  assert figure.exists()
  gallery = study / 'adversarial_gallery.png'
  gallery.write_bytes(b'\x89PNG stale')  # As an earlier run with examples.npz left it.
  for path in (study / 'cells').glob('*/per_image.json'):
    path.unlink()
  runner.run_study(_config(), study)
  assert not figure.exists() and not gallery.exists()
  report = (study / 'report.md').read_text()
  assert 'min_eps_distributions.png' in report and 'not drawn' in report


def test_a_damaged_examples_npz_is_one_clear_error(tmp_path):
  path = tmp_path / 'examples.npz'
  np.savez(path, labels=np.arange(3), radii_255=np.array([2.0, 8.0]))
  assert cell_data.load_examples(path)['labels'].tolist() == [0, 1, 2]
  path.write_bytes(path.read_bytes()[:100])
  with pytest.raises(DamagedFileError, match='examples.npz does not read as .npz'):
    cell_data.load_examples(path)
