"""benchmarks/: each script end to end on tiny sizes, and the FLOP accounting.

Timings are machine- and load-dependent, so nothing here asserts one: the
tests check the JSON's shape and numbers, and the invariants the scripts
report (identical verdicts of the eps schedules, counted loop FLOPs, peak RSS).
"""

import json
import math
import os
import pathlib
import subprocess
import sys

import flax.linen as nn
import jax
import numpy as np
import pytest

from benchmarks import attack_throughput, machine_peak
from medadv_jax.attacks import registry as attacks_registry
from medadv_jax.models.eval_apply import EvalApply

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
MACHINE_KEYS = {'platform', 'cpu_count', 'devices', 'jax_version', 'XLA_FLAGS', 'backend'}


def run_script(name, out, *flags):
  """Runs benchmarks/<name>.py with `flags` and --out=out; returns its JSON."""
  result = subprocess.run(
      [sys.executable, f'benchmarks/{name}.py', f'--out={out}', *flags], cwd=REPO_ROOT,
      capture_output=True, text=True, env=os.environ.copy(), timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  return json.loads(out.read_text()), result.stdout


def positive(value) -> bool:
  return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def test_matmul_peak_is_flops_over_best_time():
  peak = machine_peak.measure(256, 2)
  assert peak['best_s'] <= peak['median_s']
  assert peak['gflops'] == pytest.approx(2 * 256**3 / peak['best_s'] / 1e9)
  assert positive(peak['gflops']) and peak['gflops'] >= peak['gflops_median']


class _Linear(nn.Module):
  """The smallest classifier: the loop accounting does not depend on the model, and
  this one compiles fast."""

  @nn.compact
  def __call__(self, x, train=False):
    del train
    return nn.Dense(2)(x.reshape((x.shape[0], -1)))


def test_attack_flops_count_every_pgd_step():
  # If XLA's cost analysis ever multiplies a loop body by its trip count, the
  # correction in attack_flops double counts and this fails.
  model = _Linear()
  x, y = np.zeros((4, 12, 12, 1), np.float32), np.zeros((4,), np.int32)
  # Jitted: an eager init compiles every initialiser op on its own (slow).
  variables = jax.jit(lambda: model.init(jax.random.key(0), x, train=False))()
  apply_fn = EvalApply(model)
  args = (variables, x, y, np.full((4,), 0.1, np.float32), np.arange(4, dtype=np.int32))
  step = attack_throughput.xla_flops(
      attack_throughput.step_program(apply_fn).lower(variables, x, y).compile())
  flops = {}
  for steps in (2, 3):
    spec = attacks_registry.AttackSpec('pgd', steps=steps)
    compiled = attack_throughput.attack_program(spec, apply_fn).lower(*args).compile()
    flops[steps] = attack_throughput.attack_flops(
        attack_throughput.xla_flops(compiled), step, steps)
  assert flops[3] - flops[2] == pytest.approx(step, rel=0.02)


def test_attack_throughput(tmp_path):
  out, _ = run_script('attack_throughput', tmp_path / 'a.json', '--widths=0.25',
                      '--images=16', '--steps=2', '--reps=1', '--matmul_size=256',
                      '--matmul_reps=2')
  assert MACHINE_KEYS <= set(out['machine'])
  assert positive(out['peak']['gflops'])
  (row,) = out['widths']
  assert row['width'] == 0.25
  for key in ('params', 'compile_s', 'best_s', 'flops', 'step_flops', 'image_steps_per_s',
              'gflops', 'percent_of_peak', 'forward_flops_per_image'):
    assert positive(row[key]), key
  assert row['flops'] == pytest.approx(row['xla_reported_flops'] + row['step_flops'])
  # Each step costs a forward pass and a backward pass (about two forwards' worth),
  # and the program adds a few forwards: between 1 and 3 forwards per step and image.
  forwards = row['flops'] / (out['images'] * row['forward_flops_per_image'])
  assert out['steps'] < forwards < 3 * out['steps'] + 3


def test_robustness_curve_ways_agree(tmp_path):
  # Untrained weights (--epochs=0) still lose accuracy as eps grows, so the
  # verdicts compared are not all the same.
  out, stdout = run_script('robustness_curve', tmp_path / 'c.json', '--models=reference',
                           '--images=32', '--steps=2', '--eps_255=0,4,16', '--epochs=0')
  assert MACHINE_KEYS <= set(out['machine'])
  (model,) = out['models']
  runs = model['schedules']
  assert list(runs) == ['loop', 'vmap', 'cascade']
  accuracies = [r['accuracy'] for r in runs.values()]
  assert accuracies[0] == accuracies[1] == accuracies[2]
  assert len(accuracies[0]) == 3 and accuracies[0][-1] < accuracies[0][0]
  for run in runs.values():
    assert run['differing_verdicts'] == 0 and not run['ever_higher_than_baseline']
    for key in ('cold_s', 'warm_s', 'speedup_vs_baseline'):
      assert positive(run[key]), key
    # Not the reference's settings: no ratio to its time.
    assert run['torchattacks_s_over_warm_s'] is None
  # The cascade attacks only survivors; vmap attacks inside one program, uncounted.
  assert runs['loop']['attacked_examples'] >= runs['cascade']['attacked_examples'] > 0
  assert runs['vmap']['attacked_examples'] == 0
  # The images no radius fools: the loop attacks them at all 3 radii, the cascade
  # at the 2 above 0 (PGD-2 over 3 radii is not worth certifying).
  never = runs['loop']['never_fooled_images']
  assert never == round(accuracies[0][-1] * 32) > 0
  assert runs['loop']['attacks_on_never_fooled'] == never * 3
  assert runs['cascade']['certify_tried_examples'] == 0
  assert runs['cascade']['attacks_on_never_fooled'] == never * 2
  assert not model['comparable_to_torchattacks_reference']
  assert out['external_reference']['seconds'] == 171.0
  assert 'differing verdicts' in stdout


def test_train_throughput(tmp_path):
  out, _ = run_script('train_throughput', tmp_path / 't.json', '--widths=0.25',
                      '--modes=standard,pgd', '--batch_size=16', '--steps=2', '--reps=1',
                      '--adv_steps=1')
  assert MACHINE_KEYS <= set(out['machine'])
  assert [r['mode'] for r in out['rows']] == ['standard', 'pgd']
  for row in out['rows']:
    for key in ('images_per_s', 'step_ms', 'compile_and_first_step_s', 'cost_vs_standard'):
      assert positive(row[key]), key
  assert out['rows'][0]['cost_vs_standard'] == 1.0


def test_seed_groups_times_both_ways_and_pairs_the_seeds(tmp_path):
  out, stdout = run_script('seed_groups', tmp_path / 's.json', '--widths=0.25', '--steps=8',
                           '--seeds=0,1', '--train_limit=256', '--attack_images=16')
  assert MACHINE_KEYS <= set(out['machine']) and out['seeds'] == [0, 1]
  (row,) = out['rows']
  assert positive(row['alone_s']) and positive(row['group_s'])
  assert row['speedup'] == pytest.approx(row['alone_s'] / row['group_s'])
  difference = np.mean(row['group_accuracy']) - np.mean(row['alone_accuracy'])
  assert row['mean_difference'] == pytest.approx(difference)
  assert row['ci'][0] <= row['mean_difference'] <= row['ci'][1]
  assert f'{row["speedup"]:.2f}x' in stdout and 'over all widths:' in stdout
  # The seeds' attacks, one by one and as one vmapped program: the same attack up
  # to float rounding, so at most a boundary image or two may change its verdict.
  attack = row['attack']
  assert attack['images'] == 16 and attack['verdicts'] == 2 * 16
  assert attack['verdicts_agree'] >= attack['verdicts'] - 2
  assert all(positive(attack[k]) for k in ('alone_warm_s', 'group_warm_s', 'alone_cold_s',
                                           'group_cold_s'))
  assert attack['warm_speedup'] == pytest.approx(attack['alone_warm_s'] / attack['group_warm_s'])
  assert f'{attack["warm_speedup"]:.2f}x' in stdout and 'attacks over all widths' in stdout


# Stands in for main.py: holds ~300 MiB resident, writes one cell's results.
_FAKE_MAIN = '''
import pathlib, sys
args = dict(a.split('=', 1) for a in sys.argv[1:])
ballast = b'x' * (300 * 2**20)
workdir = pathlib.Path(args['--workdir'])
(workdir / 'cells' / 'c0').mkdir(parents=True)
(workdir / 'cells' / 'c0' / 'results.json').write_text('[]')
(workdir / 'results.csv').write_text('h\\n1\\n2\\n')
print(args['--config'], args.get('--config.train.epochs'), len(ballast))
'''


def test_study_end_to_end_measures_the_child(tmp_path):
  fake = tmp_path / 'fake_main.py'
  fake.write_text(_FAKE_MAIN)
  workdir = tmp_path / 'study'
  out, _ = run_script('study_end_to_end', tmp_path / 's.json', '--smoke',
                      f'--entry_point={fake}', f'--study_workdir={workdir}',
                      '--override=train.epochs=1')
  assert MACHINE_KEYS <= set(out['machine'])
  assert out['command'][1:] == ['--config=configs/default.py:smoke', f'--workdir={workdir}',
                                '--config.train.epochs=1']
  assert out['peak_rss_kib'] >= 300 * 1024
  assert positive(out['wall_s']) and positive(out['cpu_s'])
  assert (out['cells'], out['results_rows']) == (1, 2)
  assert 'configs/default.py:smoke 1' in (workdir / 'main.log').read_text()


def test_study_end_to_end_reports_a_failed_study(tmp_path):
  fake = tmp_path / 'fake_main.py'
  fake.write_text('import sys\nprint("boom")\nsys.exit(3)\n')
  result = subprocess.run(
      [sys.executable, 'benchmarks/study_end_to_end.py', f'--entry_point={fake}',
       f'--out={tmp_path / "s.json"}'], cwd=REPO_ROOT, capture_output=True, text=True,
      timeout=120)
  assert result.returncode == 1
  assert 'failed (exit 3)' in result.stderr and 'boom' in result.stderr
  assert 'Traceback' not in result.stderr
  assert not (tmp_path / 's.json').exists()


def test_schedule_agreement_compares_every_schedule_with_the_loop(tmp_path):
  out, stdout = run_script('schedule_agreement', tmp_path / 'agree.json', '--widths=0.25',
                           '--epochs=1', '--train_limit=256', '--per_class=8')
  assert out['backend'] == 'cpu'
  assert [r['attack'] for r in out['results']] == ['pgd-20 least_likely', 'pgd-20 untargeted']
  for row in out['results']:
    assert row['images'] == 16 and row['radii'] == 29
    assert 0 <= row['robust_at_largest'] <= row['clean_correct'] <= 16
    assert row['certified_images'] <= row['clean_correct']
    for schedule in ('vmap', 'cascade', 'min_eps'):
      assert row[f'{schedule}_mismatches'] == 0, (schedule, row)
  assert '"vmap_mismatches": 0' in stdout
