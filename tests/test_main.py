"""main.py end to end on the smoke config: artefacts, resume, and user errors."""

import csv
import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

import built_once

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
SMOKE = 'configs/default.py:smoke'
# Smoke: 2 widths x 2 modes; 2 attacks, untargeted only on PneumoniaMNIST's 2
# classes (least-likely is the same attack there), plus their per-image ensemble.
N_CELLS, N_ATTACKS, N_EPS = 4, 2 + 1, 29
# The strong attack's worst case, from its smallest radius (0.5/255) on.
N_STRONG = 15


def run_main(workdir, *overrides, env=None):
  return subprocess.run(
      [sys.executable, 'main.py', f'--config={SMOKE}', f'--workdir={workdir}', *overrides],
      cwd=REPO_ROOT, capture_output=True, text=True, env=env or os.environ.copy(),
      timeout=900)


def _run_smoke_study(workdir):
  result = run_main(workdir)
  assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture(scope='module')
def smoke_workdir(tmp_path_factory):
  """The smoke study, run once per session (whichever xdist worker asks first);
  tests read it, or run main.py again on a copy of their own."""
  return built_once.folder(tmp_path_factory, 'smoke_study', _run_smoke_study)


def _copy(workdir, tmp_path):
  return shutil.copytree(workdir, tmp_path / workdir.name)


def test_smoke_study_writes_every_artefact(smoke_workdir):
  for name in ('config.json', 'results.csv', 'results.json', 'robustness_curves.png',
               'report.md'):
    assert (smoke_workdir / name).stat().st_size > 0, name
  with open(smoke_workdir / 'results.csv', newline='') as f:
    rows = list(csv.DictReader(f))
  required = {'dataset', 'model', 'width', 'params', 'train_mode', 'seed', 'attack', 'eps',
              'accuracy', 'n', 'ci_low', 'ci_high'}
  assert required <= set(rows[0])
  assert len(rows) == N_CELLS * (N_ATTACKS * N_EPS + N_STRONG)
  assert {r['width'] for r in rows} == {'0.25', '0.5'}
  assert {r['train_mode'] for r in rows} == {'standard', 'pgd'}
  eps = sorted({float(r['eps']) for r in rows})
  assert eps[0] == 0.0 and eps[-1] == pytest.approx(10 / 255) and len(eps) == N_EPS
  for r in rows:
    assert float(r['ci_low']) <= float(r['accuracy']) <= float(r['ci_high'])
  params = {r['width']: int(r['params']) for r in rows}
  assert params['0.5'] > 2 * params['0.25']
  assert (smoke_workdir / 'robustness_curves.png').read_bytes()[:4] == b'\x89PNG'
  report = (smoke_workdir / 'report.md').read_text()
  assert '## Sanity checks' in report
  # Every cell records the environment that made it; the report says it is shared.
  for cell_dir in sorted((smoke_workdir / 'cells').iterdir()):
    assert json.loads((cell_dir / 'environment.json').read_text())['backend'] == 'cpu'
  assert f'Every cell that recorded it ({N_CELLS}): results_version' in report
  assert 'Cells differ' not in report and 'without environment.json' not in report


def test_results_json_holds_the_csv_rows(smoke_workdir):
  rows = json.loads((smoke_workdir / 'results.json').read_text())
  with open(smoke_workdir / 'results.csv', newline='') as f:
    csv_rows = list(csv.DictReader(f))
  assert len(rows) == len(csv_rows)
  assert [r['accuracy'] for r in rows] == [float(r['accuracy']) for r in csv_rows]


def test_second_run_skips_finished_cells(smoke_workdir, tmp_path):
  smoke_workdir = _copy(smoke_workdir, tmp_path)
  cell_results = sorted((smoke_workdir / 'cells').glob('*/results.json'))
  assert len(cell_results) == N_CELLS
  before = {p: p.stat().st_mtime_ns for p in cell_results}
  result = run_main(smoke_workdir)
  assert result.returncode == 0, result.stderr[-3000:]
  assert result.stderr.count('finished earlier; skipped') == N_CELLS
  assert 'epoch' not in result.stderr  # Nothing was trained again.
  assert {p: p.stat().st_mtime_ns for p in cell_results} == before


def test_changed_settings_on_same_workdir_fail_without_touching_results(smoke_workdir,
                                                                       tmp_path):
  smoke_workdir = _copy(smoke_workdir, tmp_path)
  before = {name: (smoke_workdir / name).read_bytes() for name in ('results.csv',
                                                                   'config.json')}
  result = run_main(smoke_workdir, '--config.train.epochs=3')
  assert result.returncode != 0
  assert 'train.epochs: 2 -> 3' in result.stderr and 'new --workdir' in result.stderr
  assert 'Traceback' not in result.stderr
  # config.json still describes the results beside it.
  assert {name: (smoke_workdir / name).read_bytes() for name in before} == before


def test_bad_config_value_names_field_value_and_allowed(tmp_path):
  result = run_main(tmp_path, "--config.attack.targets=('untargeted','most_likely')")
  assert result.returncode != 0
  assert 'attack.targets' in result.stderr and "'most_likely'" in result.stderr
  assert 'least_likely' in result.stderr and 'Traceback' not in result.stderr


def test_missing_data_file_is_a_clear_error_not_a_traceback(tmp_path):
  env = dict(os.environ, MEDMNIST_DIR=str(tmp_path / 'empty'))
  result = run_main(tmp_path / 'work', f'--config.data.cache_dir={tmp_path}/cache',
                    '--config.data.download=False', env=env)
  assert result.returncode != 0
  assert 'pneumoniamnist.npz not found' in result.stderr and 'MEDMNIST_DIR' in result.stderr
  assert 'Traceback' not in result.stderr


def test_corrupt_data_file_is_a_clear_error_not_a_traceback(tmp_path):
  data_dir = tmp_path / 'data'
  data_dir.mkdir()
  (data_dir / 'pneumoniamnist.npz').write_bytes(b'PK\x03\x04 not really a zip file')
  result = run_main(tmp_path / 'work', f'--config.data.dir={data_dir}')
  assert result.returncode != 0
  assert 'MD5' in result.stderr and 'official' in result.stderr
  assert 'Traceback' not in result.stderr
