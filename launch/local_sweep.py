"""Runs a study's cells in parallel worker processes on this machine.

  python launch/local_sweep.py --config=configs/default.py --workdir=runs/default \
      --workers=2 [--config.a.b=value ...]   (flags in --flag=value form)

Each cell is one `main.py --config.cell=K` process with its log in
WORKDIR/logs/<cell>.log. Finished cells are skipped, so the sweep can simply
be started again after a kill; the tables, figure and report are written from
all finished cells at the end, and each sitting's start and end are added to
WORKDIR/sittings.jsonl (`sittings`). SIGTERM (a scheduler's stop) stops it as
Ctrl-C does. On a host with several GPUs, `--gpus_per_worker=K` gives each
worker its own K of them (`gpu_slots`).
"""

import concurrent.futures
import contextlib
import os
import pathlib
import queue
import signal
import subprocess
import sys
import threading

from absl import flags, logging

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common  # pylint: disable=g-import-not-at-top,wrong-import-position
import gpu_slots  # pylint: disable=g-import-not-at-top,wrong-import-position
import sittings  # pylint: disable=g-import-not-at-top,wrong-import-position

# pylint: disable=g-import-not-at-top
from medadv_jax.study import exits
from medadv_jax.reporting import write_outputs
from medadv_jax.reporting.claims import plan as plan_lib
from medadv_jax.study import groups, locks, runner, workdir_checks

_WORKERS = flags.DEFINE_integer('workers', 2, 'Cells run at the same time.', lower_bound=1)
_GPUS_PER_WORKER = flags.DEFINE_integer(
    'gpus_per_worker', 0, 'GPUs each worker sees (CUDA_VISIBLE_DEVICES), taken from those '
    'CUDA_VISIBLE_DEVICES or nvidia-smi lists; 0: every worker sees every device.',
    lower_bound=0)


def pending_commands(cells, forwarded: list[str], workdir: pathlib.Path,
                     grouped: bool = False):
  """(cell, argv) for every cell not finished yet; `grouped` (config.seed_groups):
  one per group with an unfinished cell, whose worker runs the whole group."""
  main_py = str(common.REPO_ROOT / 'main.py')
  pending = [(index, cell) for index, cell in enumerate(cells)
             if not (workdir / 'cells' / cell.name / runner.RESULTS_FILE).exists()]
  if grouped:
    pending = [group[0] for group in groups.by_group(pending)]
  return [(cell, [sys.executable, main_py, *forwarded, f'--workdir={workdir}',
                  f'--config.cell={index}']) for index, cell in pending]


def run_in_free_slots(commands, gpu_sets, run) -> list[int]:
  """`run(cell, argv, gpus)` for every command, as many at once as there are
  slots in `gpu_sets`; each runs with a slot no other running command holds.
  Returns the exit codes in command order."""
  free = queue.SimpleQueue()
  for gpus in gpu_sets:
    free.put(gpus)

  def in_a_slot(command):
    gpus = free.get()
    try:
      return run(*command, gpus)
    finally:
      free.put(gpus)

  with concurrent.futures.ThreadPoolExecutor(len(gpu_sets)) as pool:
    return list(pool.map(in_a_slot, commands))


# Workers running now, and whether Ctrl-C stopped the sweep (no new worker starts).
_RUNNING = set()
_INTERRUPTED = threading.Event()


def _run(cell, argv, gpus, log_dir: pathlib.Path) -> int:
  env = dict(os.environ)
  if _INTERRUPTED.is_set():
    return exits.INTERRUPTED_EXIT
  with open(log_dir / f'{cell.name}.log', 'a') as log:
    if gpus is not None:
      env['CUDA_VISIBLE_DEVICES'] = gpus
      log.write(f'local_sweep: CUDA_VISIBLE_DEVICES={gpus}\n')
      log.flush()
    # A session of its own: Ctrl-C reaches the worker once, from _interrupt.
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env,
                               start_new_session=True)
    _RUNNING.add(process)
    if _INTERRUPTED.is_set():  # Ctrl-C came while it was starting.
      process.send_signal(signal.SIGINT)
    try:
      return process.wait()
    finally:
      _RUNNING.discard(process)


def _interrupt(signum, frame):
  """SIGINT or SIGTERM (a job scheduler's stop): passes SIGINT to every worker
  (each saves nothing half-written and exits), starts no more, and raises
  KeyboardInterrupt once they are gone."""
  del signum, frame
  # A second signal must not cut short the workers' saving or the sitting's record.
  signal.signal(signal.SIGINT, signal.SIG_IGN)
  signal.signal(signal.SIGTERM, signal.SIG_IGN)
  _INTERRUPTED.set()
  for process in list(_RUNNING):
    process.send_signal(signal.SIGINT)
  raise KeyboardInterrupt


def main(argv):
  del argv
  workdir = pathlib.Path(common.WORKDIR.value).absolute()
  log_dir = workdir / 'logs'
  with exits.one_line_errors(), contextlib.ExitStack() as held:
    cells = common.validated_cells()
    gpu_sets = gpu_slots.worker_gpu_sets(_WORKERS.value, _GPUS_PER_WORKER.value)
    grouped = groups.selects_groups(common.CONFIG.value)
    commands = pending_commands(cells, common.config_args(), workdir, grouped)
    # The cells those commands run (a group's worker runs all of its cells).
    to_run = [cell for cell in cells
              if not (workdir / 'cells' / cell.name / runner.RESULTS_FILE).exists()]
    workdir_checks.check_study_folder(workdir)
    runner.check_plan(workdir, common.CONFIG.value)  # Another plan: launch/reanalyse.py.
    try:
      log_dir.mkdir(parents=True, exist_ok=True)
      held.enter_context(locks.study_lock(workdir))  # Each worker locks its cell.
    except OSError as e:
      raise runner.WorkdirError.unusable(workdir, e) from None
    logging.info('%d of %d cells to run (%d workers\' commands) with %d workers; logs in %s',
                 len(to_run), len(cells), len(commands), _WORKERS.value, log_dir)
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    # Nothing to run is no sitting: a finished study's wall time stays its own.
    started = sittings.begin(workdir, len(to_run), _WORKERS.value,
                             common.quoted(['python', *sys.argv])) if to_run else None
    codes = {}  # Filled as workers end, so a sitting stopped midway counts its failures.

    def run_one(cell, argv, gpus):
      codes[cell.name] = _run(cell, argv, gpus, log_dir)
      return codes[cell.name]

    try:
      run_in_free_slots(commands, gpu_sets, run_one)
    finally:  # A sitting cut short by Ctrl-C or SIGTERM counts too.
      if to_run:
        finished = sum((workdir / 'cells' / cell.name / runner.RESULTS_FILE).exists()
                       for cell in to_run)
        sittings.end(workdir, started, finished,
                     sum(code not in (0, exits.INTERRUPTED_EXIT) for code in codes.values()))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    failed = [cell.name for cell, _ in commands if codes[cell.name] != 0]
    write_outputs.write_all(runner.collect_finished_rows(common.CONFIG.value, workdir),
                            workdir, plan_lib.Plan.from_config(common.CONFIG.value.analysis))
  if failed:
    print(f'error: {len(failed)} cell(s) failed: {", ".join(failed)}; see their logs in '
          f'{log_dir}. Start the sweep again to retry them.', file=sys.stderr)
    sys.exit(1)
  logging.info('all %d cells finished; results in %s', len(cells), workdir)


if __name__ == '__main__':
  common.run(main)
