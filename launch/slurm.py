"""Submits a study to SLURM as a job array: one array task per cell, then a report job.

  python launch/slurm.py --config=configs/default.py --workdir=/shared/runs/default \
      --gpus_per_task=1 --time=04:00:00 [--partition=gpu] [--dry_run] [--config.a.b=v]

The workdir must be on a file system every node sees. Array task K runs
`main.py --config.cell=K`; finished cells are skipped, so resubmitting after a
failure reruns only what is missing. A last job (afterany) writes the tables,
figure and report from all finished cells. --dry_run prints the script and
the sbatch commands instead of submitting.
"""

import pathlib
import re
import sys

from absl import flags

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common  # pylint: disable=g-import-not-at-top,wrong-import-position

from medadv_jax.errors import MedAdvError  # pylint: disable=g-import-not-at-top
from medadv_jax.study import groups, runner, workdir_checks  # pylint: disable=g-import-not-at-top

_DRY_RUN = flags.DEFINE_bool('dry_run', False, 'Print instead of submitting.')
_PARTITION = flags.DEFINE_string('partition', '', 'SLURM partition; empty: the default.')
_GPUS = flags.DEFINE_integer('gpus_per_task', 1, 'GPUs per cell (0 for CPU-only).',
                             lower_bound=0)
_CPUS = flags.DEFINE_integer('cpus_per_task', 8, 'CPU cores per cell.', lower_bound=1)
_TIME = flags.DEFINE_string('time', '04:00:00', 'Wall-time limit per cell.')
_PARALLEL = flags.DEFINE_integer('max_parallel', 0, 'Cells running at once; 0: no limit.',
                                 lower_bound=0)
# sbatch --time: M, M:S, H:M:S, D-H, D-H:M or D-H:M:S.
TIME_FORMAT = re.compile(r'^(\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d+(:\d{1,2}){0,2})$')
flags.register_validator(
    'time', lambda value: bool(TIME_FORMAT.match(value)) and value.strip('0:-') != '',
    message='allowed: a SLURM wall time above 0, such as 04:00:00, 90 (minutes) or '
    '1-12:00:00 (D-HH:MM:SS)')


def array_script(n_cells: int, forwarded: list[str], workdir: str, cells=None) -> str:
  """The sbatch script of the cell array; `cells` (one cell index per task, e.g.
  each group's first with config.seed_groups) maps task k to its cell."""
  throttle = f'%{_PARALLEL.value}' if _PARALLEL.value else ''
  n_tasks = n_cells if cells is None else len(cells)
  lines = ['#!/bin/bash', '#SBATCH --job-name=medadv-cells',
           f'#SBATCH --array=0-{n_tasks - 1}{throttle}',
           f'#SBATCH --cpus-per-task={_CPUS.value}', f'#SBATCH --time={_TIME.value}',
           f'#SBATCH --output={workdir}/logs/slurm-%A_%a.log']
  if _GPUS.value:
    lines.append(f'#SBATCH --gres=gpu:{_GPUS.value}')
  if _PARTITION.value:
    lines.append(f'#SBATCH --partition={_PARTITION.value}')
  main = common.quoted(['python', str(common.REPO_ROOT / 'main.py'), *forwarded,
                        f'--workdir={workdir}'])
  lines.append('set -euo pipefail')
  if cells is None or list(cells) == list(range(n_cells)):
    lines.append(f'{main} --config.cell="$SLURM_ARRAY_TASK_ID"')
  else:  # A group's task runs every cell of its group.
    lines += [f'CELLS=({" ".join(map(str, cells))})',
              f'{main} --config.cell="${{CELLS[$SLURM_ARRAY_TASK_ID]}}"']
  return '\n'.join(lines) + '\n'


def report_command(forwarded: list[str], workdir: str) -> str:
  return common.quoted(['python', str(common.REPO_ROOT / 'launch' / 'aggregate.py'),
                        *forwarded, f'--workdir={workdir}'])


def main(argv):
  del argv
  workdir = str(pathlib.Path(common.WORKDIR.value).absolute())
  try:
    cells = common.validated_cells()
    n_cells = len(cells)
    workdir_checks.check_study_folder(pathlib.Path(workdir))
  except MedAdvError as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(1)
  forwarded = common.config_args()
  script = array_script(n_cells, forwarded, workdir,
                        groups.leading_indices(cells) if groups.selects_groups(common.CONFIG.value)
                        else None)
  script_path = pathlib.Path(workdir) / 'slurm_cells.sbatch'
  submit = f'sbatch --parsable {script_path}'
  wrap = common.quoted([report_command(forwarded, workdir)])
  report = (f'sbatch --dependency=afterany:$CELLS_JOB --job-name=medadv-report '
            f'--output={workdir}/logs/slurm-report-%j.log --wrap={wrap}')
  if _DRY_RUN.value:
    print(f'# {n_cells} cells; script {script_path}:\n{script}')
    print(f'CELLS_JOB=$({submit})\n{report}')
    return
  common.require_tool('sbatch', 'on a SLURM login node')
  try:
    (pathlib.Path(workdir) / 'logs').mkdir(parents=True, exist_ok=True)
    script_path.write_text(script)
  except OSError as e:
    print(f'error: {runner.WorkdirError.unusable(workdir, e)}', file=sys.stderr)
    sys.exit(1)
  cells_job = common.run_tool(submit.split(), capture_output=True,
                              text=True).stdout.strip().split(';')[0]
  common.run_tool(['bash', '-c', report.replace('$CELLS_JOB', cells_job)])
  print(f'submitted {n_cells} cells as job {cells_job}; the report follows when they end')


if __name__ == '__main__':
  common.run(main)
