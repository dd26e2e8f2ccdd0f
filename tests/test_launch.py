"""Launchers: cell selection, partial aggregation, a killed cell re-run, dry runs."""

import csv
import json
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time

import pytest

from configs import default
from medadv_jax.errors import MedAdvError
from medadv_jax.reporting.claims import plan as plan_lib
from medadv_jax.reporting.inputs import cells_archive

from launch_helpers import launch_module as _launch_module
import terminal_python

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
# Two tiny cells (one width, both training modes), one attack at 29 radii. The
# launchers' tests look at cells, logs, tables and folders, not at the strong
# attack, audit, embedding or sanity reruns, which test_main.py's smoke study
# runs through main.py: off here, a cell compiles a few programs, not dozens.
TINY = ['--config=configs/default.py:smoke', '--config.model.widths=(0.25,)',
        "--config.attack.names=('fgsm',)", "--config.attack.targets=('untargeted',)",
        '--config.train.epochs=3', '--config.attack.strong.eps_255=()',
        '--config.attack.audit.images=0', '--config.report.embedding_images=0',
        '--config.attack.sanity.more_steps_eps_255=()',
        '--config.attack.sanity.certificate_sample=0',
        '--config.attack.sanity.large_eps_255=0']
ROWS_PER_CELL = 29


def _python(script, *args, **kwargs):
  return subprocess.run([sys.executable, script, *args], cwd=REPO_ROOT, capture_output=True,
                        text=True, timeout=600, **kwargs)


def _result_rows(workdir):
  """FGSM rows of results.csv (other rows, such as an ensemble, derive from them)."""
  with open(workdir / 'results.csv', newline='') as f:
    return [r for r in csv.DictReader(f) if r['attack'] == 'fgsm']


def test_single_cell_then_killed_cell_then_sweep(tmp_path):
  workdir = tmp_path / 'study'
  # Cell 1 alone: only it runs, and the aggregate holds just its rows.
  alone = _python('main.py', *TINY, f'--workdir={workdir}', '--config.cell=1')
  assert alone.returncode == 0, alone.stderr[-2000:]
  assert {r['train_mode'] for r in _result_rows(workdir)} == {'pgd'}
  assert len(_result_rows(workdir)) == ROWS_PER_CELL
  # Half a study is not published.
  dest = tmp_path / 'published'
  refused = _python('launch/publish_study.py', *TINY, f'--workdir={workdir}', f'--dest={dest}')
  assert refused.returncode == 1 and not dest.exists()
  assert refused.stderr.startswith(f"error: --workdir={str(workdir)!r}: 1 of 2 cells")
  # The study ran under its plan: another one is a re-analysis, not a resume.
  assert json.loads((workdir / 'plan.json').read_text())['size']['margin'] == 0.01
  other_plan = _python('main.py', *TINY, f'--workdir={workdir}', '--config.cell=0',
                       '--config.analysis.size.margin=0.02')
  assert other_plan.returncode == 1 and 'config field `analysis`' in other_plan.stderr
  assert 'launch/reanalyse.py' in other_plan.stderr

  # Cell 0 killed with SIGKILL right after its first checkpoint (named by step).
  cell0 = workdir / 'cells' / 'pneumoniamnist_cnn_w0.25_standard_s0'
  process = subprocess.Popen([sys.executable, 'main.py', *TINY, f'--workdir={workdir}',
                              '--config.cell=0'], cwd=REPO_ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  checkpoints = lambda: [p for p in (cell0 / 'checkpoints').glob('*') if p.name.isdigit()]
  deadline = time.time() + 300
  while not checkpoints() and time.time() < deadline:
    time.sleep(0.05)
  os.kill(process.pid, signal.SIGKILL)
  process.wait()
  assert checkpoints()
  assert not (cell0 / 'results.json').exists()

  # The sweep runs only the unfinished cell, resuming it, and aggregates both.
  sweep = _python('launch/local_sweep.py', *TINY, f'--workdir={workdir}', '--workers=2')
  assert sweep.returncode == 0, sweep.stderr[-2000:]
  assert '1 of 2 cells to run' in sweep.stderr
  log = (workdir / 'logs' / f'{cell0.name}.log').read_text()
  assert 'resumed' in log and 'epoch 1/3' not in log
  rows = _result_rows(workdir)
  assert len(rows) == 2 * ROWS_PER_CELL
  assert {r['train_mode'] for r in rows} == {'standard', 'pgd'}

  # The sitting is recorded, and the whole study published with how it was made.
  (sitting,) = _launch_module('sittings').read(workdir)
  assert (sitting['cells_to_run'], sitting['cells_finished'], sitting['cells_failed'],
          sitting['workers'], sitting['cut_short']) == (1, 1, 0, 2, False)
  assert sitting['seconds'] > 0
  assert sitting['command'].startswith('python launch/local_sweep.py --config=')
  # Started again on the finished study, the sweep runs nothing and adds no sitting.
  idle = _python('launch/local_sweep.py', *TINY, f'--workdir={workdir}', '--workers=2')
  assert idle.returncode == 0 and '0 of 2 cells to run' in idle.stderr, idle.stderr[-2000:]
  assert _launch_module('sittings').read(workdir) == [sitting]
  published = _python('launch/publish_study.py', *TINY, f'--workdir={workdir}',
                      f'--dest={dest}', '--note=ran beside the test suite')
  assert published.returncode == 0, published.stderr[-2000:]
  names = {p.name for p in dest.iterdir()}
  assert {'README.md', 'report.md', 'summary.csv', 'claims.csv', 'plan.json', 'cells.json.gz',
          'robustness_curves.png'} <= names and 'cells' not in names
  # The archive holds every cell's rows; test_reanalyse.py answers a published
  # folder again from such an archive.
  archived, _, _ = cells_archive.read(dest / cells_archive.FILE_NAME)
  cell_rows = [r for cell in (workdir / 'cells').iterdir()
               for r in json.loads((cell / 'results.json').read_text())]
  as_text = lambda rows: sorted(json.dumps(r, sort_keys=True) for r in rows)
  assert as_text(archived) == as_text(cell_rows)
  assert sum(r['attack'] == 'fgsm' for r in archived) == 2 * ROWS_PER_CELL
  # Answered again under another plan from the workdir (its cells), beside the
  # first answer: the same numbers.
  again = _python('launch/reanalyse.py', *TINY, f'--workdir={workdir}',
                  '--config.analysis.name=wide', '--config.analysis.training.margin=0.1')
  assert again.returncode == 0, again.stderr[-2000:]
  answer = (workdir / 'analyses' / 'wide' / 'claims.csv').read_text().splitlines()
  first = (workdir / 'claims.csv').read_text().splitlines()
  assert [l.replace(',wide,', ',default,') for l in answer] == first
  readme = (dest / 'README.md').read_text()
  commit = json.loads((cell0 / 'environment.json').read_text())['git_commit']
  assert sitting['command'] in readme and f'Cells run at commit: {commit}' in readme
  # The report is written again by the publishing code, which the README names.
  assert '- Report, tables and figures written from the cells\' results at commit ' in readme
  assert 'Wall time: **' in readme and 'Machine: ' in readme and '2 cells' in readme
  assert '- Note: ran beside the test suite' in readme
  made = json.loads((dest / 'made.json').read_text())  # The same, as data.
  assert made['cells'] == 2 and made['cell_commits'] == [commit]
  assert made['wall_seconds'] == sitting['seconds'] and made['sittings'][0]['workers'] == 2
  assert made['cell_seconds'] > 0


def test_slurm_dry_run_prints_one_array_task_per_cell():
  result = _python('launch/slurm.py', *TINY, '--workdir=/shared/study', '--dry_run',
                   '--gpus_per_task=2', '--max_parallel=1')
  assert result.returncode == 0, result.stderr[-2000:]
  out = result.stdout
  assert '#SBATCH --array=0-1%1' in out and '#SBATCH --gres=gpu:2' in out
  assert '--config.cell="$SLURM_ARRAY_TASK_ID"' in out
  assert "'--config.model.widths=(0.25,)'" in out and '--workdir=/shared/study' in out
  assert '--dependency=afterany:$CELLS_JOB' in out and 'aggregate.py' in out


def test_tpu_dry_run_prints_gcloud_commands_for_all_workers():
  result = _python('launch/tpu_vm.py', *TINY, '--workdir=/tmp/study', '--dry_run',
                   '--tpu=pod1', '--zone=us-central2-b', '--accelerator=v4-32', '--create')
  assert result.returncode == 0, result.stderr[-2000:]
  lines = result.stdout.splitlines()
  assert lines[0] == '# 2 cells on TPU VM pod1'
  assert lines[1].startswith('gcloud compute tpus tpu-vm create pod1 --zone=us-central2-b '
                             '--accelerator-type=v4-32')
  assert 'scp --recurse' in lines[2] and '--worker=all' in lines[2]
  assert 'ssh pod1' in lines[3] and '--worker=all' in lines[3]
  assert 'main.py --config=configs/default.py:smoke' in lines[3]


def test_launchers_reject_bad_config_with_one_clear_message():
  result = _python('launch/slurm.py', '--config=configs/default.py', '--workdir=/tmp/x',
                   '--dry_run', '--config.train.epochs=0')
  assert result.returncode == 1
  assert 'train.epochs' in result.stderr and 'Traceback' not in result.stderr


def test_launchers_without_their_tool_or_workdir_stop_with_one_line(tmp_path):
  # Only Python on PATH: no sbatch or gcloud, even on a machine that has them.
  bare = dict(os.environ, PATH=str(pathlib.Path(sys.executable).parent))
  tiny = ['--config=configs/default.py:smoke', f'--workdir={tmp_path / "study"}']
  for script, tool, flags in (('launch/slurm.py', 'sbatch', []),
                              ('launch/tpu_vm.py', 'gcloud', ['--tpu=t', '--zone=z'])):
    result = _python(script, *tiny, *flags, env=bare)
    assert result.returncode == 1, result.stderr[-2000:]
    assert f'error: {tool} is not on PATH' in result.stderr
    assert 'Traceback' not in result.stderr
  assert not (tmp_path / 'study').exists()  # Nothing written for a job never submitted.
  (tmp_path / 'a_file').write_text('kept')
  result = _python('launch/local_sweep.py', tiny[0], f'--workdir={tmp_path / "a_file"}')
  assert result.returncode == 1 and 'Traceback' not in result.stderr
  assert f"--workdir='{tmp_path / 'a_file'}' cannot hold the study" in result.stderr
  assert (tmp_path / 'a_file').read_text() == 'kept'
  # Aggregating a config none of whose cells is finished (a typo in --workdir,
  # other overrides) writes nothing over the tables already there.
  (tmp_path / 'study').mkdir()
  (tmp_path / 'study' / 'results.csv').write_text('earlier tables')
  result = _python('launch/aggregate.py', *tiny)
  assert result.returncode == 1 and 'Traceback' not in result.stderr
  assert 'none of the 4 cells of this config is finished' in result.stderr
  assert (tmp_path / 'study' / 'results.csv').read_text() == 'earlier tables'
  # Nor under a plan other than the one the study ran under: that is a re-analysis.
  plan_lib.write(plan_lib.Plan.from_config(default.get_config('smoke').analysis),
                 tmp_path / 'study')
  result = _python('launch/aggregate.py', *tiny, '--config.analysis.size.margin=0.02')
  assert result.returncode == 1 and 'Traceback' not in result.stderr
  assert 'config field `analysis`' in result.stderr and 'reanalyse.py' in result.stderr
  assert (tmp_path / 'study' / 'results.csv').read_text() == 'earlier tables'


def test_gpu_slots_are_disjoint_and_checked_against_the_machine(monkeypatch):
  gpu_slots = _launch_module('gpu_slots')
  assert gpu_slots.worker_gpu_sets(3, 0) == [None, None, None]
  monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '3, 5,6,7')
  assert gpu_slots.worker_gpu_sets(2, 2) == ['3,5', '6,7']
  assert gpu_slots.worker_gpu_sets(3, 1) == ['3', '5', '6']
  with pytest.raises(MedAdvError, match=r'--gpus_per_worker=2 with --workers=3 needs 6 GPUs, '
                     r'but this machine lists 4 \(3,5,6,7\); allowed: at most 1 per worker'):
    gpu_slots.worker_gpu_sets(3, 2)
  monkeypatch.delenv('CUDA_VISIBLE_DEVICES')
  monkeypatch.setattr(gpu_slots.shutil, 'which', lambda name: None)
  with pytest.raises(MedAdvError, match='CUDA_VISIBLE_DEVICES is not set and nvidia-smi'):
    gpu_slots.worker_gpu_sets(2, 1)


def test_sweep_runs_each_cell_in_a_slot_no_running_cell_holds():
  local_sweep = _launch_module('local_sweep')
  lock, holding, seen = threading.Lock(), set(), []

  def run(cell, argv, gpus):
    with lock:
      assert gpus not in holding  # No two running cells share GPUs.
      holding.add(gpus)
      seen.append((cell, gpus))
    time.sleep(0.02 * (cell % 3))
    with lock:
      holding.remove(gpus)
    return cell

  commands = [(cell, ['main.py']) for cell in range(12)]
  codes = local_sweep.run_in_free_slots(commands, ['0,1', '2,3', '4,5'], run)
  assert codes == list(range(12))  # In command order, whatever finished first.
  assert sorted(cell for cell, _ in seen) == list(range(12))
  assert {gpus for _, gpus in seen} == {'0,1', '2,3', '4,5'}


def test_slurm_refuses_bad_flags_before_printing_a_script():
  for flags, shown in ((['--time=banana', '--cpus_per_task=8'],
                        'flag --time=banana: allowed: a SLURM wall time'),
                       (['--time=1-12:00:00', '--cpus_per_task=-3'],
                        'flag --cpus_per_task=-3: -3 is not a positive integer')):
    result = _python('launch/slurm.py', '--config=configs/default.py:smoke',
                     '--workdir=/tmp/x', '--dry_run', *flags)
    assert result.returncode != 0 and shown in result.stderr
    assert '#SBATCH' not in result.stdout and 'Traceback' not in result.stderr
  # The same flags, valid: the script carries them (D-HH:MM:SS is one of sbatch's forms).
  result = _python('launch/slurm.py', '--config=configs/default.py:smoke', '--workdir=/tmp/x',
                   '--dry_run', '--time=1-12:00:00', '--cpus_per_task=8', '--config.cell=1')
  assert result.returncode == 0
  # Each array task gets its own cell; a forwarded one would be a field given twice.
  assert '--config.cell=1' not in result.stdout
  assert '#SBATCH --time=1-12:00:00' in result.stdout
  assert '#SBATCH --cpus-per-task=8' in result.stdout


@pytest.mark.parametrize('stop', [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_stops_the_sweep_and_its_workers_with_exit_130(stop, tmp_path):
  workdir = tmp_path / 'study'
  sweep = subprocess.Popen([*terminal_python.PYTHON, 'launch/local_sweep.py', *TINY,
                            f'--workdir={workdir}', '--workers=1'], cwd=REPO_ROOT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
  deadline = time.time() + 120
  while not (workdir / 'config.json').exists() and time.time() < deadline:
    time.sleep(0.05)  # The first worker is inside its study.
  sweep.send_signal(stop)
  time.sleep(0.5)
  sweep.send_signal(stop)  # Impatient: a second one must not cut the shutdown short.
  _, stderr = sweep.communicate(timeout=120)
  assert sweep.returncode == 130, stderr[-3000:]
  assert 'interrupted; run the same command again to resume' in stderr
  assert 'Traceback' not in stderr
  logs = sorted((workdir / 'logs').glob('*.log'))
  assert len(logs) == 1  # The second cell was never started.
  assert 'interrupted; run the same command again to resume' in logs[0].read_text()
  assert not list(workdir.rglob('*.orbax-checkpoint-tmp*'))
  (sitting,) = _launch_module('sittings').read(workdir)  # Recorded, with its end.
  assert (sitting['cells_to_run'], sitting['cells_finished'], sitting['cells_failed'],
          sitting['cut_short']) == (2, 0, 0, False)


def test_sittings_cut_short_by_a_kill_end_at_the_studys_last_write(tmp_path, monkeypatch):
  sittings = _launch_module('sittings')
  clock = iter([1000.0, 1100.0, 2000.0, 3000.0, 3050.0])
  monkeypatch.setattr(sittings, '_now', lambda: next(clock))
  (tmp_path / 'sittings.jsonl').write_text(json.dumps(dict(  # As written before begin/end.
      started=500.0, ended=600.0, seconds=100.0, cells_run=4, workers=2, command='old')) + '\n')
  first = sittings.begin(tmp_path, 3, 2, 'python launch/local_sweep.py')
  sittings.end(tmp_path, first, cells_finished=2, cells_failed=1)
  sittings.begin(tmp_path, 1, 2, 'again')  # Killed: no end; a log written at 2500.
  (tmp_path / 'logs').mkdir()
  for name, mtime in (('a.log', 2500.0), ('b.log', 3020.0)):
    (tmp_path / 'logs' / name).write_text('x')
    os.utime(tmp_path / 'logs' / name, (mtime, mtime))
  sittings.begin(tmp_path, 1, 1, 'last')  # Closes 'again' at 2500; killed too.
  # 'last' writes a.log again (resuming its cell), which must not move 'again''s end.
  os.utime(tmp_path / 'logs' / 'a.log', (3040.0, 3040.0))
  with open(tmp_path / 'sittings.jsonl', 'a') as f:
    f.write('{"started": 30')  # A line cut short by the kill.
  rows = sittings.read(tmp_path)  # Now is the clock's 3050.
  assert [(r['started'], r['ended'], r['seconds'], r['cut_short']) for r in rows] == [
      (500.0, 600.0, 100.0, False), (1000.0, 1100.0, 100.0, False),
      (2000.0, 2500.0, 500.0, True), (3000.0, 3040.0, 40.0, True)]
  assert [(r['cells_to_run'], r['cells_finished'], r['cells_failed'], r['command'])
          for r in rows] == [(4, None, None, 'old'), (3, 2, 1, 'python launch/local_sweep.py'),
                             (1, None, None, 'again'), (1, None, None, 'last')]
  # The next row starts on a line of its own after the cut one.
  monkeypatch.setattr(sittings, '_now', lambda: 4000.0)
  sittings.begin(tmp_path, 1, 1, 'after the cut')
  assert sittings.read(tmp_path, until=4000.0)[-1]['command'] == 'after the cut'
  publish = _launch_module('publish_study')
  assert publish.sitting_text(rows[2]).endswith(
      '8 min 20 s (cut short, so ending at its last log or cell write; 1 cells to run; '
      '2 workers)')
  assert publish.sitting_text(rows[1]).endswith(
      '1 min 40 s (2 of 3 cells finished, 1 failed; 2 workers)')
  nothing = dict(rows[3], seconds=None, ended=None)  # Killed before any write.
  assert 'length unknown (cut short before it wrote anything' in publish.sitting_text(nothing)


@pytest.mark.parametrize('argv', [
    ['--config', 'configs/default.py'], ['--config.train.epochs', '3'],
    ['--noconfig.data.download'], ['--flagfile=flags.txt']])
def test_launchers_refuse_config_flags_they_could_not_forward_whole(argv, monkeypatch, capsys):
  monkeypatch.setattr(sys, 'argv', ['launch/local_sweep.py', '--workdir=w', *argv])
  with pytest.raises(SystemExit) as stop:
    _launch_module('common').config_args()
  assert stop.value.code == 2
  assert capsys.readouterr().err.startswith(f'error: {argv[0]}: the launchers pass --config')


def test_launchers_forward_config_flags_as_typed_but_the_cell(monkeypatch):
  monkeypatch.setattr(sys, 'argv', [
      'launch/local_sweep.py', '--config=configs/default.py:smoke', '--workdir=w',
      "--config.model.widths=(0.25,)", '--config.cell=3', '--workers=2'])
  assert _launch_module('common').config_args() == [
      '--config=configs/default.py:smoke', "--config.model.widths=(0.25,)"]
