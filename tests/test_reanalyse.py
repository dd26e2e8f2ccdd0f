"""launch/reanalyse.py: a published study answered under another named plan, beside
the first answer, with no training or attacking; a reused name is refused."""

import json
import pathlib
import subprocess
import sys

import pytest

from medadv_jax import cell_data
from medadv_jax.errors import MedAdvError
from medadv_jax.reporting import write_outputs
from medadv_jax.reporting.claims import claim_summary, plan as plan_lib
from medadv_jax.reporting.inputs import audits, cells_archive, per_image_data

import analysis_fixtures as fx
import launch_helpers

REPO = pathlib.Path(__file__).resolve().parent.parent


def _published(folder: pathlib.Path):
  """A published-looking folder: outputs under the default plan and cells.json.gz."""
  rows, per_image = fx.study(lambda mode, k, s: 0.5 - 0.03 * k + (0.2 if mode == 'pgd' else 0))
  work = folder.parent / 'work'
  for r in rows:
    cell = work / 'cells' / cell_data.Cell.from_row(r).name
    cell.mkdir(parents=True, exist_ok=True)
  for (size, mode, seed), data in per_image.items():
    row = next(r for r in rows if (r['model'], 0, r['width']) == size
               and (r['train_mode'], r['seed']) == (mode, seed))
    (work / 'cells' / cell_data.Cell.from_row(row).name / per_image_data.FILE_NAME).write_text(
        json.dumps(data))
  audit = {'eps_255': [2.0], 'audited': 10, 'shortfall': [1], 'budget': 'test'}
  (work / 'cells' / cell_data.Cell.from_row(rows[0]).name / cell_data.AUDIT_FILE).write_text(
      json.dumps(audit))
  folder.mkdir()
  write_outputs.write_all(rows, folder, fx.plan(), cells_dir=work)
  plan_lib.write(fx.plan(), folder)
  cells_archive.write(work, rows, folder / cells_archive.FILE_NAME)
  return rows, per_image


def _reanalyse(folder, *overrides):
  return subprocess.run([sys.executable, 'launch/reanalyse.py', '--config=configs/default.py',
                         f'--workdir={folder}', *overrides], cwd=REPO, capture_output=True,
                        text=True, timeout=600, check=False)


def test_a_published_study_is_answered_again_under_a_named_plan(tmp_path):
  folder = tmp_path / 'published'
  rows, per_image = _published(folder)
  assert cells_archive.read(folder / cells_archive.FILE_NAME) == (rows, per_image, [
      audits.record(rows[0], {'eps_255': [2.0], 'audited': 10, 'shortfall': [1],
                              'budget': 'test'})])
  before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
  done = _reanalyse(folder, '--config.analysis.name=strict',
                    '--config.analysis.size.margin=0.002')
  assert done.returncode == 0, done.stderr[-2000:]
  out = folder / 'analyses' / 'strict'
  assert {'report.md', 'claims.csv', 'plan.json', 'robust_vs_size.png'} <= {
      p.name for p in out.iterdir()}
  assert plan_lib.read(out / plan_lib.FILE_NAME).size.margin == 0.002
  assert 'Under the analysis plan **strict**' in (out / 'report.md').read_text()
  assert '| 1/10 [' in (out / 'report.md').read_text()  # The archive's audit, analysed.
  # The first answer is untouched; the two claims files differ only by plan and margin.
  assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before
  first = claim_summary.read_csv(folder / claim_summary.FILE_NAME)
  second = claim_summary.read_csv(out / claim_summary.FILE_NAME)
  assert {r['plan'] for r in first} == {'default'} and {r['plan'] for r in second} == {'strict'}
  assert [r['estimate'] for r in first] == [r['estimate'] for r in second]
  # Another plan under a name already answered is refused, in one line, and nothing moves.
  refused = _reanalyse(folder, '--config.analysis.name=strict',
                       '--config.analysis.size.margin=0.003')
  assert refused.returncode == 1 and len(refused.stderr.strip().splitlines()) == 1
  assert 'holds another plan of that name' in refused.stderr
  assert plan_lib.read(out / plan_lib.FILE_NAME).size.margin == 0.002
  reanalyse = launch_helpers.launch_module('reanalyse')
  # The same plan under its name answers again; the study's own name with other content
  # is refused; a folder without cells too.
  assert reanalyse.check_name(folder, plan_lib.read(out / plan_lib.FILE_NAME)) == out
  with pytest.raises(MedAdvError, match='holds another plan of that name'):
    reanalyse.check_name(folder, fx.plan(**{'size.margin': 0.003}))
  with pytest.raises(MedAdvError, match='has no finished cells'):
    reanalyse.study_cells(None, tmp_path)


def test_a_published_folder_rebuilds_its_claims_csv_byte_for_byte(tmp_path):
  """From the folder alone (cells.json.gz, plan.json): the same plan answers the same."""
  folder = tmp_path / 'published'
  _published(folder)
  done = _reanalyse(folder, '--config.analysis.name=default')
  assert done.returncode == 0, done.stderr[-2000:]
  rebuilt = folder / 'analyses' / 'default' / claim_summary.FILE_NAME
  assert rebuilt.read_bytes() == (folder / claim_summary.FILE_NAME).read_bytes()
  assert 'seed_values' in rebuilt.read_text().splitlines()[0]
