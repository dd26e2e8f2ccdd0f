"""PGD throughput along the width family, against the machine's matmul peak.

  python benchmarks/attack_throughput.py
  python benchmarks/attack_throughput.py --widths=0.25,1 --images=256 --steps=10

For each width: one compiled program attacks `--images` images at one radius
each with untargeted PGD (the program `schedules.correct_at` runs for the
'loop' and 'cascade' schedules), timed warm, best of `--reps`. The table gives
images x steps per second, the program's FLOPs from XLA's cost analysis, the
GFLOP/s achieved, and that as a % of a large float32 matmul's GFLOP/s measured
in the same run before and after the widths (the better of the two is the peak;
a gap between them means something else used the machine meanwhile).

The cost does not depend on the weights or the images (a fixed number of
steps, no early exit), so models are freshly initialised and images random.
"""

import pathlib
import sys

from absl import app, flags
import jax
import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

# pylint: disable=g-import-not-at-top
from benchmarks import common, machine_peak
from medadv_jax.attacks import eps_grid, objectives, registry as attacks_registry
from medadv_jax.models import complexity, registry as models_registry
from medadv_jax.models.eval_apply import EvalApply
from medadv_jax.ops import xla_options

_MODEL = flags.DEFINE_string('model', 'cnn', 'Model registry name.')
_WIDTHS = flags.DEFINE_list('widths', ['0.125', '0.25', '0.5', '1', '2', '4'],
                            'Width multipliers.')
_IMAGES = flags.DEFINE_integer('images', 624, 'Images attacked by one program call.')
_STEPS = flags.DEFINE_integer('steps', 20, 'PGD steps.')
_EPS_255 = flags.DEFINE_float('eps_255', 8.0, 'Radius x 1/255 (does not change the cost).')
_REPS = flags.DEFINE_integer('reps', 3, 'Timed calls per width; the best counts.')
_IMAGE_SIZE = flags.DEFINE_integer('image_size', 28, 'Side of the square grey images.')
_CLASSES = flags.DEFINE_integer('classes', 2, 'Classes (PneumoniaMNIST: 2).')


def xla_flops(compiled) -> float:
  """FLOPs XLA's cost analysis gives a compiled program."""
  analysis = compiled.cost_analysis()
  if isinstance(analysis, (list, tuple)):  # Older jax: one dict per device program.
    analysis = analysis[0]
  return float(analysis['flops'])


def attack_flops(reported: float, step: float, steps: int) -> float:
  """The attack program's FLOPs with every PGD step counted.

  XLA's cost analysis counts a while loop's body once, whatever its trip count
  (a 20-step program reports the FLOPs of a 2-step one), so the other steps'
  FLOPs, each one gradient of the loss with respect to the images, are added.
  """
  return reported + max(0, steps - 1) * step


def attack_program(spec, apply_fn):
  """(variables, x, y, radii, ids) -> correct (N,): as `schedules.correct_at`'s program."""
  def run(variables, x, y, radii, ids):
    logits_fn = lambda images: apply_fn(variables, images)
    x_adv = spec(logits_fn, x, y, radii, eps_grid.keys_of(jax.random.key(0), ids))
    return objectives.correct(logits_fn(x_adv), y)
  # The study's options (on a CPU: level 1, no YNNPACK fusions; see xla_options).
  return jax.jit(run, compiler_options=xla_options.compiler_options())


def step_program(apply_fn):
  """One PGD step's gradient, the loop body that cost analysis counts once."""
  def gradient(variables, x, y):
    logits_fn = lambda images: apply_fn(variables, images)
    return objectives.value_and_grad_fn(logits_fn, 'ce', y, y, 'untargeted')(x)
  return jax.jit(gradient)


def measure_width(model, spec, x, y, radius: float, reps: int) -> dict:
  """Compile time, FLOPs and warm wall time of `spec` on `model` for the batch x, y."""
  # One jitted init: run eagerly, every initialiser op would compile on its own
  # (seconds on a small CPU). For the same reason the inputs come from numpy.
  variables = jax.jit(lambda: model.init(jax.random.key(0), x[:1], train=False))()
  apply_fn = EvalApply(model)
  n = x.shape[0]
  # On the device once: the timed calls then measure the attack, not transfers.
  args = jax.device_put((variables, x, y, np.full((n,), radius, np.float32),
                         np.arange(n, dtype=np.int32)))
  compiled, compile_s = common.timed(lambda: attack_program(spec, apply_fn).lower(
      *args).compile())
  step = xla_flops(step_program(apply_fn).lower(*args[:3]).compile())
  reported = xla_flops(compiled)
  flops = attack_flops(reported, step, spec.steps)
  _, first_s = common.timed(lambda: compiled(*args))
  seconds = common.repeat_timed(lambda: compiled(*args), reps)
  best = min(seconds)
  return {
      'width': model.width,
      'params': complexity.count_params(variables['params']),
      'forward_flops_per_image': complexity.forward_flops_per_image(
          model, variables, x.shape[1:]),
      'compile_s': compile_s, 'first_call_s': first_s,
      'xla_reported_flops': reported, 'step_flops': step, 'flops': flops,
      'best_s': best, 'median_s': float(np.median(seconds)),
      'image_steps_per_s': n * spec.steps / best, 'gflops': flops / best / 1e9,
  }


def main(argv):
  del argv
  machine = common.machine_info()
  spec = attacks_registry.AttackSpec('pgd', 'untargeted', steps=_STEPS.value,
                                     step_size_frac=0.1, random_start=True)
  rng = np.random.default_rng(0)
  n, side = _IMAGES.value, _IMAGE_SIZE.value
  x = rng.uniform(0, 1, (n, side, side, 1)).astype(np.float32)
  y = rng.integers(0, _CLASSES.value, n).astype(np.int32)

  peak_before = machine_peak.measure_from_flags()
  rows = []
  for width in map(float, _WIDTHS.value):
    model = models_registry.get_model(_MODEL.value, num_classes=_CLASSES.value, width=width)
    rows.append(measure_width(model, spec, x, y, _EPS_255.value / 255.0, _REPS.value))
  peak_after = machine_peak.measure_from_flags()
  peak = max(peak_before['gflops'], peak_after['gflops'])
  for row in rows:
    row['percent_of_peak'] = 100.0 * row['gflops'] / peak

  print(common.describe_machine(machine))
  print(f'{_MODEL.value}: {n} images x PGD-{spec.steps} per call, best of {_REPS.value}; '
        f'peak = {peak_before["size"]}^2 f32 matmul: {peak_before["gflops"]:.1f} GFLOP/s '
        f'before, {peak_after["gflops"]:.1f} after')
  print(common.table(
      ('width', 'params', 'fwd MFLOP/img', 'compile s', 'call s', 'img*steps/s',
       'GFLOP/call', 'GFLOP/s', '% of peak'),
      [(f'{r["width"]:g}', f'{r["params"]:,}', f'{r["forward_flops_per_image"] / 1e6:.2f}',
        f'{r["compile_s"]:.2f}', f'{r["best_s"]:.3f}', f'{r["image_steps_per_s"]:,.0f}',
        f'{r["flops"] / 1e9:.2f}', f'{r["gflops"]:.1f}', f'{r["percent_of_peak"]:.1f}')
       for r in rows]))
  common.write_json('attack_throughput', {
      'machine': machine, 'model': _MODEL.value, 'images': n, 'steps': spec.steps,
      'image_shape': [side, side, 1], 'reps': _REPS.value,
      'peak': {'before': peak_before, 'after': peak_after, 'gflops': peak},
      'widths': rows})


if __name__ == '__main__':
  app.run(main)
