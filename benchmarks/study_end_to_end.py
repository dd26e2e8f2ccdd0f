"""Wall time and peak memory of the default study, end to end, as a user runs it.

  python benchmarks/study_end_to_end.py
  python benchmarks/study_end_to_end.py --smoke
  python benchmarks/study_end_to_end.py --override=attack.schedule=cascade

Runs `python main.py --config=configs/default.py[:smoke] --workdir=<folder>`
(plus `--config.<override>` for each --override) as a child process in a fresh
workdir, and reports its wall time, CPU time and peak resident memory
(`getrusage(RUSAGE_CHILDREN).ru_maxrss`: the largest of the waited-for
children, which is main.py). The study's own log goes to <workdir>/main.log.
"""

import os
import pathlib
import resource
import shutil
import subprocess
import sys
import tempfile
import time

from absl import app, flags

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

# pylint: disable=g-import-not-at-top
from benchmarks import common

_SMOKE = flags.DEFINE_bool('smoke', False, "Run configs/default.py:smoke (seconds).")
_OVERRIDES = flags.DEFINE_multi_string(
    'override', [], "Config overrides 'a.b=value', passed as --config.a.b=value.")
_WORKDIR = flags.DEFINE_string('study_workdir', None,
                               'Study workdir (must not exist); default a temporary '
                               'folder, deleted afterwards.')
_TIMEOUT = flags.DEFINE_integer('timeout_s', 4 * 3600, 'Give up after this many seconds.')
_ENTRY_POINT = flags.DEFINE_string('entry_point', 'main.py',
                                   'Script run, relative to the repository root (tests '
                                   'pass a stand-in).')


def study_command(entry_point: str, workdir: pathlib.Path, smoke: bool,
                  overrides) -> list[str]:
  """The command line of main.py for the default study and the given overrides."""
  config = 'configs/default.py' + (':smoke' if smoke else '')
  for override in overrides:
    if '=' not in override or override.startswith('-'):
      raise app.UsageError(f"--override {override!r}: expected 'a.b=value'")
  return ([sys.executable, entry_point, f'--config={config}', f'--workdir={workdir}']
          + [f'--config.{o}' for o in overrides])


def study_environment() -> dict:
  """This process's environment, plus MEDMNIST_DIR pointing at the local MedMNIST
  copy when none is set (the benchmark machines have no internet)."""
  env = dict(os.environ)
  if not env.get('MEDMNIST_DIR') and common.SHARED_MEDMNIST.is_dir():
    env['MEDMNIST_DIR'] = str(common.SHARED_MEDMNIST)
  return env


def run_study(command, workdir: pathlib.Path, timeout_s: int) -> dict:
  """Runs `command`; wall and CPU seconds and peak RSS (KiB, Linux) of the child."""
  before = resource.getrusage(resource.RUSAGE_CHILDREN)
  workdir.mkdir(parents=True)
  log = workdir / 'main.log'
  started = time.perf_counter()
  with open(log, 'w') as f:
    result = subprocess.run(command, cwd=common.REPO_ROOT, env=study_environment(),
                            stdout=f, stderr=subprocess.STDOUT, timeout=timeout_s,
                            check=False)
  wall = time.perf_counter() - started
  after = resource.getrusage(resource.RUSAGE_CHILDREN)
  if result.returncode:
    tail = log.read_text()[-3000:]
    raise RuntimeError(f'{command[1]} failed (exit {result.returncode}); its log ends:\n'
                       f'{tail}')
  # ru_maxrss is a maximum over every child waited for, also before the study
  # (e.g. by a pyenv shim before it exec'd python: a few MB, kept to tell).
  cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
  return {'wall_s': wall, 'cpu_s': cpu, 'cpu_utilisation': cpu / wall,
          'peak_rss_kib': after.ru_maxrss, 'peak_rss_gib': after.ru_maxrss / 2**20,
          'earlier_children_peak_rss_kib': before.ru_maxrss,
          'cells': len(list((workdir / 'cells').glob('*/results.json'))),
          'results_rows': _rows(workdir / 'results.csv')}


def _rows(path: pathlib.Path) -> int:
  # Data rows of the study's results.csv (header excluded); 0 if absent.
  return max(0, len(path.read_text().splitlines()) - 1) if path.exists() else 0


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  temporary = _WORKDIR.value is None
  root = pathlib.Path(tempfile.mkdtemp(prefix='medadv_study_')) if temporary else None
  workdir = root / 'workdir' if temporary else pathlib.Path(_WORKDIR.value)
  if workdir.exists():
    # An existing workdir would resume a study: finished cells are skipped.
    raise app.UsageError(f'--study_workdir {workdir} exists; give a new folder')
  command = study_command(_ENTRY_POINT.value, workdir, _SMOKE.value, _OVERRIDES.value)
  try:
    measured = run_study(command, workdir, _TIMEOUT.value)
  except (RuntimeError, subprocess.TimeoutExpired) as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(1)
  finally:
    if temporary:
      shutil.rmtree(root, ignore_errors=True)
  # After the study: platform.processor() runs `uname`, a child of its own.
  machine = common.machine_info()
  print(common.describe_machine(machine))
  print(' '.join(command[1:]))
  print(common.table(
      ('wall', 'CPU s', 'CPU / wall', 'peak RSS', 'cells', 'result rows'),
      [(_minutes(measured['wall_s']), f'{measured["cpu_s"]:.0f}',
        f'{measured["cpu_utilisation"]:.2f}', f'{measured["peak_rss_gib"]:.2f} GiB',
        measured['cells'], measured['results_rows'])]))
  common.write_json('study_end_to_end', {
      'machine': machine, 'command': command[1:], 'smoke': _SMOKE.value,
      'overrides': list(_OVERRIDES.value),
      'MEDMNIST_DIR': study_environment().get('MEDMNIST_DIR', ''), **measured})


def _minutes(seconds: float) -> str:
  return f'{int(seconds // 60)} min {seconds % 60:04.1f} s'


if __name__ == '__main__':
  app.run(main)
