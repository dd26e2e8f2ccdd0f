"""Runs a study's cells in parallel worker processes on this machine.

  python launch/local_sweep.py --config=configs/default.py --workdir=runs/default \
      --workers=2 [--config.a.b=value ...]   (flags in --flag=value form)

Each cell is one `main.py --config.cell=K` process with its log in
WORKDIR/logs/<cell>.log. Finished cells are skipped, so the sweep can simply
be started again after a kill; the tables, figure and report are written from
all finished cells at the end.
"""

import concurrent.futures
import pathlib
import subprocess
import sys

from absl import app, flags, logging

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common  # pylint: disable=g-import-not-at-top,wrong-import-position

# pylint: disable=g-import-not-at-top
from medadv_jax.errors import MedAdvError
from medadv_jax.reporting import write_outputs
from medadv_jax.study import runner

_WORKERS = flags.DEFINE_integer('workers', 2, 'Cells run at the same time.')


def pending_commands(cells, forwarded: list[str], workdir: pathlib.Path):
  """(cell, argv) for every cell not finished yet."""
  main_py = str(common.REPO_ROOT / 'main.py')
  return [(cell, [sys.executable, main_py, *forwarded, f'--workdir={workdir}',
                  f'--config.cell={index}'])
          for index, cell in enumerate(cells)
          if not (workdir / 'cells' / cell.name / runner.RESULTS_FILE).exists()]


def _run(cell, argv, log_dir: pathlib.Path) -> int:
  with open(log_dir / f'{cell.name}.log', 'a') as log:
    return subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, check=False).returncode


def main(argv):
  del argv
  workdir = pathlib.Path(common.WORKDIR.value).absolute()
  log_dir = workdir / 'logs'
  try:
    cells = common.validated_cells()
    commands = pending_commands(cells, common.config_args(), workdir)
    log_dir.mkdir(parents=True, exist_ok=True)
    logging.info('%d of %d cells to run with %d workers; logs in %s', len(commands),
                 len(cells), _WORKERS.value, log_dir)
    with concurrent.futures.ThreadPoolExecutor(_WORKERS.value) as pool:
      codes = list(pool.map(lambda command: _run(*command, log_dir), commands))
    failed = [cell.name for (cell, _), code in zip(commands, codes) if code != 0]
    write_outputs.write_all(runner.collect_finished_rows(common.CONFIG.value, workdir),
                            workdir)
  except MedAdvError as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(1)
  if failed:
    print(f'error: {len(failed)} cell(s) failed: {", ".join(failed)}; see their logs in '
          f'{log_dir}. Start the sweep again to retry them.', file=sys.stderr)
    sys.exit(1)
  logging.info('all %d cells finished; results in %s', len(cells), workdir)


if __name__ == '__main__':
  app.run(main)
