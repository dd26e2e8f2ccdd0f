"""Copies a finished study's outputs into a folder meant to be committed, with a
README saying how they were made.

  python launch/publish_study.py --config=configs/replication.py:dataset=breast,family=width \
      --workdir=runs/replication/breast_width --dest=docs/replication/breast_width

Writes the study's report, tables and figures again with this code, copies
report.md, summary.csv, claims.csv, plan.json and the figures (no checkpoints),
the cells' rows and per-image outcomes compressed (cells.json.gz), and writes
README.md, and made.json with the same as data:
the commands of the sittings that ran it (WORKDIR/sittings.jsonl, written by
local_sweep), the commits the cells ran at, the wall time summed over
sittings (those cut short by a kill included), the cells' compute time and
the machine, from the cells' environment.json and timing.json. Refuses a
study with unfinished cells, so a published folder is always a whole study.
"""

import datetime
import json
import pathlib
import shutil
import sys

from absl import flags

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common  # pylint: disable=g-import-not-at-top,wrong-import-position
import sittings  # pylint: disable=g-import-not-at-top,wrong-import-position

# pylint: disable=g-import-not-at-top
from medadv_jax import atomic_files, environment
from medadv_jax.errors import MedAdvError
from medadv_jax.reporting import write_outputs
from medadv_jax.reporting.claims import cross_study, plan as plan_lib
from medadv_jax.reporting.inputs import cells_archive
from medadv_jax.study import exits, runner

_DEST = flags.DEFINE_string('dest', None, 'Folder to publish into (replaced).', required=True)
_NOTE = flags.DEFINE_string('note', '', 'A remark for the README, e.g. what else the machine '
                            'ran meanwhile; empty: none.')
OUTPUTS = ('report.md', 'summary.csv', 'claims.csv', plan_lib.FILE_NAME)


def _cell_files(workdir: pathlib.Path, name: str) -> list:
  return [atomic_files.read_json(p) for p in sorted((workdir / 'cells').glob(f'*/{name}'))]


def made_record(workdir: pathlib.Path, config_arg: str, n_cells: int) -> dict:
  """How the study was made, from what its workdir recorded, as plain JSON data
  (published as made.json, which `launch/cross_study.py` sums)."""
  runs = sittings.read(workdir)
  publisher = environment.describe()
  envs = _cell_files(workdir, environment.FILE_NAME)
  timings = _cell_files(workdir, runner.TIMING_FILE)
  return dict(
      config=config_arg, cells=n_cells, sittings=runs,
      wall_seconds=round(sum(r['seconds'] or 0.0 for r in runs), 1) if runs else None,
      sittings_of_unknown_length=sum(r['seconds'] is None for r in runs),
      cell_seconds=round(sum(t.get('total', 0.0) for t in timings), 1),
      cell_commits=sorted({e.get('git_commit') or 'unknown' for e in envs}),
      cells_dirty=any(e.get('git_dirty') for e in envs),
      publisher_commit=publisher.get('git_commit') or 'unknown',
      publisher_dirty=bool(publisher.get('git_dirty')),
      cpus=sorted({f'{e.get("host_cpu", {}).get("model", "?")} '
                   f'({e.get("host_cpu", {}).get("vector_isa", "?")})' for e in envs}),
      devices=envs[0].get('devices', '?') if envs else '?',
      jax=envs[0].get('packages', {}).get('jax', '?') if envs else '?')


def readme_lines(name: str, made: dict, note: str = '') -> list[str]:
  """The README of the published study `name`, from its `made_record`."""
  runs = made['sittings']
  commits = made['cell_commits']
  lines = [f'# {name}', '',
           f'The study `{made["config"]}`: {made["cells"]} cells, every one finished. '
           'These files are copies of its workdir\'s outputs (no checkpoints); '
           '`report.md` is the report, `claims.csv` its verdicts as numbers, `plan.json` '
           'the analysis plan it ran under, `cells.json.gz` every cell\'s rows and per-image '
           'outcomes (for `launch/reanalyse.py`), `made.json` this section as data.', '',
           '## How it was made', '']
  if runs:
    lines.append(f'- Command ({len(runs)} sitting{"s" if len(runs) > 1 else ""}; finished '
                 'cells are skipped when a sitting starts):')
    for command in dict.fromkeys(r['command'] for r in runs):
      lines += ['', '  ```bash', f'  {command}', '  ```', '']
    spans = ', '.join(sitting_text(r) for r in runs)
    wall = f'**{cross_study.duration(made["wall_seconds"])}**'
    unknown = made['sittings_of_unknown_length']
    if unknown:
      wall = f'at least {wall} ({unknown} sitting{"s" if unknown > 1 else ""} of unknown length)'
    lines.append(f'- Wall time: {wall} over the sittings ({spans}).')
  else:
    lines.append('- Command and wall time: not recorded (run without launch/local_sweep.py).')
  lines += [f'- Compute: {cross_study.duration(made["cell_seconds"])} of cell time (the sum '
            'of the cells\' timing.json; with several workers it exceeds the wall time).',
            f'- Cells run at commit{"s" if len(commits) > 1 else ""}: {", ".join(commits)}'
            + (' (with uncommitted changes)' if made['cells_dirty'] else '') + '.',
            f'- Report, tables and figures written from the cells\' results at commit '
            f'{made["publisher_commit"]}'
            + (' (with uncommitted changes)' if made['publisher_dirty'] else '') + '.',
            f'- Machine: {", ".join(made["cpus"])}; {made["devices"]}; jax {made["jax"]}.']
  return lines + ([f'- Note: {note}'] if note else [])


def sitting_text(sitting: dict) -> str:
  """'2026-12-05 08:15 UTC, 20 min 03 s (13 of 13 cells finished, 2 workers)'."""
  start = datetime.datetime.fromtimestamp(sitting['started'], datetime.timezone.utc)
  details = []
  if sitting['seconds'] is None:
    length = 'length unknown'
    details.append('cut short before it wrote anything')
  else:
    length = cross_study.duration(sitting['seconds'])
    if sitting['cut_short']:
      details.append('cut short, so ending at its last log or cell write')
  if sitting['cells_finished'] is None:
    details.append(f'{sitting["cells_to_run"]} cells to run')
  else:
    details.append(f'{sitting["cells_finished"]} of {sitting["cells_to_run"]} cells finished'
                   + (f', {sitting["cells_failed"]} failed' if sitting['cells_failed'] else ''))
  details.append(f'{sitting["workers"]} workers')
  return f'{start:%Y-%m-%d %H:%M} UTC, {length} ({"; ".join(details)})'


def main(argv):
  del argv
  workdir = pathlib.Path(common.WORKDIR.value)
  dest = pathlib.Path(_DEST.value)
  config_arg = next((a.split('=', 1)[1] for a in sys.argv[1:] if a.startswith('--config=')),
                    '?')
  # Everything is read and checked before the destination is touched, so a
  # failure leaves an earlier publication whole.
  try:
    cells = common.validated_cells()
    finished = sum((workdir / 'cells' / c.name / runner.RESULTS_FILE).exists() for c in cells)
    if finished < len(cells):
      raise MedAdvError(f'--workdir={str(workdir)!r}: {finished} of {len(cells)} cells '
                        'finished; allowed: a study whose cells all finished (run the sweep '
                        'again to finish it)')
    runner.check_plan(workdir, common.CONFIG.value)  # Another plan: launch/reanalyse.py.
  except MedAdvError as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(1)
  with exits.one_line_errors():  # A damaged cell file or a full disk: one line.
    # Written again by this code, so the report and its README name one commit.
    rows = runner.collect_finished_rows(common.CONFIG.value, workdir)
    write_outputs.write_all(rows, workdir, plan_lib.Plan.from_config(common.CONFIG.value.analysis))
    made = made_record(workdir, config_arg, len(cells))
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    for path in [workdir / name for name in OUTPUTS] + sorted(workdir.glob('*.png')):
      shutil.copy2(path, dest / path.name)
    # The cells' rows and per-image outcomes, compressed: re-analysis needs no workdir.
    cells_archive.write(workdir, rows, dest / cells_archive.FILE_NAME)
    atomic_files.write_text(dest / cross_study.MADE_FILE, json.dumps(made, indent=1) + '\n')
    atomic_files.write_text(dest / 'README.md',
                            '\n'.join(readme_lines(dest.name, made, _NOTE.value)) + '\n')
  print(f'{workdir} published to {dest}')

if __name__ == '__main__':
  common.run(main)
