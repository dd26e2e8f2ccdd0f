"""Study cells: a family as widths, depths or named presets; fingerprints."""

import json

import pytest

from configs import default
from medadv_jax import cell_data
from medadv_jax.errors import DamagedFileError
from medadv_jax.study import cells, config_validation, runner


def _config(**model):
  config = default.get_config('smoke')
  config.model.update(model)
  return config


def test_width_family_gives_one_cell_per_width_mode_and_seed():
  config = _config(widths=(0.5, 1.0, 2.0))
  config.seeds = (0, 1)
  expanded = cells.expand_cells(config)
  assert len(expanded) == 3 * 2 * 2
  assert {(c.width, c.depth) for c in expanded} == {(0.5, None), (1.0, None), (2.0, None)}
  assert len({c.name for c in expanded}) == len(expanded)


def test_depth_family_sweeps_resnet_depths():
  config = _config(names=('resnet',), widths=(1.0,), depths=(8, 20, 32))
  config_validation.validate(config)
  expanded = cells.expand_cells(config)
  assert sorted({c.depth for c in expanded}) == [8, 20, 32]
  assert 'pneumoniamnist_resnet_d20_w1_standard_s0' in {c.name for c in expanded}


def test_named_presets_are_swept_as_models():
  config = _config(names=('cbr_large_t', 'resnet8', 'resnet50'), widths=(1.0,))
  config_validation.validate(config)
  assert {c.model for c in cells.expand_cells(config)} == {'cbr_large_t', 'resnet8',
                                                          'resnet50'}


def test_fingerprint_ignores_where_data_lives_but_not_what_changes_numbers():
  config = default.get_config('smoke')
  cell = cells.expand_cells(config)[0]
  before = cells.cell_fingerprint(config, cell)
  config.data.dir = '/elsewhere'
  config.train.keep_checkpoints = 5
  config.train.checkpoint_min_steps = 50  # How often to save: not a number of the cell.
  assert cells.cell_fingerprint(config, cell) == before
  config.attack.pgd_steps = 7
  assert cells.fingerprint_differences(before, cells.cell_fingerprint(config, cell)) == [
      'attack.pgd_steps: 3 -> 7']


def test_fingerprint_holds_the_folder_of_data_without_a_checksum(tmp_path):
  # An image folder, or a file read with verify_md5 off, has nothing else that
  # says which data made a cell.
  config = default.get_config('smoke')
  config.data.name, config.data.dir = 'chest_xray_folder', str(tmp_path / 'xray')
  cell = cells.expand_cells(config)[0]
  assert cells.cell_fingerprint(config, cell)['data']['dir'] == str(tmp_path / 'xray')
  config.data.name, config.data.verify_md5 = 'pneumoniamnist', False
  before = cells.cell_fingerprint(config, cell)
  config.data.dir = str(tmp_path / 'other')
  assert cells.fingerprint_differences(before, cells.cell_fingerprint(config, cell)) == [
      f"data.dir: '{tmp_path / 'xray'}' -> '{tmp_path / 'other'}'"]


def test_refused_runs_write_nothing(tmp_path, monkeypatch):
  config = default.get_config('smoke')
  config.cell = 99
  with pytest.raises(Exception, match='cell'):
    runner.run_study(config, tmp_path / 'out_of_range')
  assert not (tmp_path / 'out_of_range').exists()
  # A batch the devices cannot share is refused before any cell, not in one.
  config.cell = -1
  with monkeypatch.context() as patch:
    patch.setattr(runner.jax, 'device_count', lambda: 3)
    with pytest.raises(Exception, match=r'train.batch_size.*multiple of the number of '
                       r'devices \(3\)'):
      runner.run_study(config, tmp_path / 'three_devices')
  assert not (tmp_path / 'three_devices').exists()
  # A workdir that is a file, or lies under one: one error naming the flag.
  (tmp_path / 'a_file').write_text('kept')
  for workdir in (tmp_path / 'a_file', tmp_path / 'a_file' / 'study'):
    with pytest.raises(runner.WorkdirError, match=f"--workdir='{workdir}' cannot hold the "
                       r'study \(\[Errno \d+\] .*\); allowed: a folder'):
      runner.run_study(config, workdir)
  assert (tmp_path / 'a_file').read_text() == 'kept'
  # Results without a fingerprint: nothing says what made them.
  cell_dir = tmp_path / 'orphan' / 'cells' / cells.expand_cells(config)[1].name
  cell_dir.mkdir(parents=True)
  (cell_dir / runner.RESULTS_FILE).write_text('[]')
  with pytest.raises(runner.StaleCellError, match='holds results but no cell_config.json'):
    runner.run_study(config, tmp_path / 'orphan')
  assert sorted(p.name for p in (tmp_path / 'orphan').rglob('*')) == [
      'cells', cell_dir.name, runner.RESULTS_FILE]
  # A fingerprint damaged from outside: one clear error, and still nothing written.
  (cell_dir / runner.FINGERPRINT_FILE).write_text('{"data": {"name": "pneumo')
  with pytest.raises(DamagedFileError, match=f'{runner.FINGERPRINT_FILE} is not valid JSON'):
    runner.run_study(config, tmp_path / 'orphan')
  assert sorted(p.name for p in (tmp_path / 'orphan').rglob('*')) == sorted([
      'cells', cell_dir.name, runner.FINGERPRINT_FILE, runner.RESULTS_FILE])


def test_cell_made_by_code_with_other_numbers_stops_the_study_untouched(tmp_path):
  """A cell folder from before RESULTS_VERSION (its fingerprint has none) or
  from another results version is not resumed or aggregated with new cells."""
  config = default.get_config('smoke')
  cell = cells.expand_cells(config)[0]
  fingerprint = cells.cell_fingerprint(config, cell)
  assert fingerprint[cell_data.RESULTS_VERSION_FIELD] == cell_data.RESULTS_VERSION
  for old_version in (None, cell_data.RESULTS_VERSION - 1):
    old = dict(fingerprint)
    if old_version is None:
      del old[cell_data.RESULTS_VERSION_FIELD]
    else:
      old[cell_data.RESULTS_VERSION_FIELD] = old_version
    cell_dir = tmp_path / str(old_version) / 'cells' / cell.name
    cell_dir.mkdir(parents=True)
    stored = json.dumps(old)
    (cell_dir / runner.FINGERPRINT_FILE).write_text(stored)
    # Training had begun (a folder holding its settings alone may be replaced).
    (cell_dir / 'checkpoints').mkdir()
    with pytest.raises(runner.StaleCellError) as error:
      runner.run_study(config, tmp_path / str(old_version))
    message = str(error.value)
    assert (f'{cell_data.RESULTS_VERSION_FIELD}: {old_version!r} -> {cell_data.RESULTS_VERSION}'
            in message)
    assert 'another version of medadv-jax' in message and 'new --workdir' in message
    assert (cell_dir / runner.FINGERPRINT_FILE).read_text() == stored
    assert not (cell_dir / runner.RESULTS_FILE).exists()
    assert not (tmp_path / str(old_version) / 'config.json').exists()
