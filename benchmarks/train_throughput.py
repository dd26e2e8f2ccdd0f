"""Training throughput (images/s) of each training mode at chosen widths.

  python benchmarks/train_throughput.py
  python benchmarks/train_throughput.py --widths=1 --modes=standard,pgd --adv_steps=10

For each width and mode: the train step the training loop uses
(`steps.make_train_step`, jitted over the data mesh, state donated) is compiled
and run once, then `--steps` steps are timed on one device-resident batch,
waiting for the last one; best of `--reps`. Host-side batching and the loop's
logging and checkpointing are left out: this is the compiled step alone. The
cost does not depend on the weights or the images, so images are random.
"""

import pathlib
import sys

from absl import app, flags
import jax
import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

# pylint: disable=g-import-not-at-top
from benchmarks import common
from configs import default as default_config
from medadv_jax.models import complexity, registry as models_registry
from medadv_jax.runtime import devices
from medadv_jax.training import optim, steps
from medadv_jax.training.train_state import create_train_state

_MODEL = flags.DEFINE_string('model', 'cnn', 'Model registry name.')
_WIDTHS = flags.DEFINE_list('widths', ['0.125', '0.25', '0.5', '1'], 'Width multipliers.')
_MODES = flags.DEFINE_list('modes', list(steps.TRAIN_MODES),
                           f'Training modes, of {", ".join(steps.TRAIN_MODES)}.')
_BATCH = flags.DEFINE_integer('batch_size', 64, 'Global batch size (the default study: 64).')
_STEPS = flags.DEFINE_integer('steps', 20, 'Timed train steps per repetition.')
_REPS = flags.DEFINE_integer('reps', 3, 'Repetitions; the best counts.')
_ADV_STEPS = flags.DEFINE_integer('adv_steps', 5,
                                  'PGD / TRADES attack steps (the default study: 5).')
_IMAGE_SIZE = flags.DEFINE_integer('image_size', 28, 'Side of the square grey images.')
_CLASSES = flags.DEFINE_integer('classes', 2, 'Classes (PneumoniaMNIST: 2).')

# Any value: only the step's PRNG key derivation uses it.
_STEPS_PER_EPOCH = 1000


def measure(model, mode: str, train_config, images, labels, n_steps: int,
            reps: int) -> dict:
  """Compile (+ first step) seconds and the best of `reps` runs of `n_steps` steps."""
  mesh = devices.data_mesh()
  schedule = optim.learning_rate_schedule(train_config, _STEPS_PER_EPOCH, train_config.epochs)
  init_key, step_key = jax.random.split(jax.random.key(0))
  state = devices.replicate(create_train_state(
      model, optim.make_optimizer(train_config, schedule), images.shape[1:], init_key,
      optim.make_plateau(train_config)), mesh)
  params = complexity.count_params(state.params)
  step_key = devices.replicate(step_key, mesh)
  x, y = devices.shard_batch(images, mesh), devices.shard_batch(labels, mesh)
  train_step = steps.make_train_step(mode, train_config, schedule, mesh, _STEPS_PER_EPOCH)

  (state, _), first_s = common.timed(lambda: train_step(state, x, y, step_key))

  def run():
    nonlocal state
    for _ in range(n_steps):
      state, metrics = train_step(state, x, y, step_key)
    return state, metrics

  seconds = common.repeat_timed(run, reps)
  best = min(seconds)
  return {'width': model.width, 'mode': mode, 'params': params,
          'compile_and_first_step_s': first_s, 'best_s': best,
          'median_s': float(np.median(seconds)), 'step_ms': 1e3 * best / n_steps,
          'images_per_s': n_steps * images.shape[0] / best}


def main(argv):
  del argv
  machine = common.machine_info()
  train_config = default_config.get_config().train
  train_config.batch_size = _BATCH.value
  train_config.adv.steps = _ADV_STEPS.value
  n_devices = len(devices.data_mesh().devices.flat)
  if _BATCH.value % n_devices:
    raise app.UsageError(f'--batch_size {_BATCH.value} is not a multiple of the '
                         f'{n_devices} devices')
  rng = np.random.default_rng(0)
  side = _IMAGE_SIZE.value
  images = rng.uniform(0, 1, (_BATCH.value, side, side, 1)).astype(np.float32)
  labels = rng.integers(0, _CLASSES.value, _BATCH.value).astype(np.int32)

  rows = []
  for width in map(float, _WIDTHS.value):
    model = models_registry.get_model(_MODEL.value, num_classes=_CLASSES.value, width=width)
    for mode in _MODES.value:
      if mode not in steps.TRAIN_MODES:
        raise app.UsageError(f'--modes: unknown mode {mode!r}; allowed '
                             f'{", ".join(steps.TRAIN_MODES)}')
      rows.append(measure(model, mode, train_config, images, labels, _STEPS.value,
                          _REPS.value))
      standard = [r for r in rows if r['width'] == width and r['mode'] == 'standard']
      rows[-1]['cost_vs_standard'] = (standard[0]['images_per_s'] / rows[-1]['images_per_s']
                                      if standard else None)

  print(common.describe_machine(machine))
  print(f'{_MODEL.value}, batch {_BATCH.value}, {_STEPS.value} steps x best of '
        f'{_REPS.value}; pgd/trades: {_ADV_STEPS.value} attack steps, eps '
        f'{train_config.adv.eps_255:g}/255, BatchNorm {train_config.adv.bn_mode!r}')
  print(common.table(
      ('width', 'mode', 'params', 'compile+1st s', 'ms/step', 'images/s', 'time vs standard'),
      [(f'{r["width"]:g}', r['mode'], f'{r["params"]:,}',
        f'{r["compile_and_first_step_s"]:.2f}', f'{r["step_ms"]:.1f}',
        f'{r["images_per_s"]:,.0f}',
        f'{r["cost_vs_standard"]:.2f}' if r['cost_vs_standard'] else '-') for r in rows]))
  common.write_json('train_throughput', {
      'machine': machine, 'model': _MODEL.value, 'batch_size': _BATCH.value,
      'steps': _STEPS.value, 'reps': _REPS.value, 'adv_steps': _ADV_STEPS.value,
      'adv_eps_255': train_config.adv.eps_255, 'adv_bn_mode': train_config.adv.bn_mode,
      'image_shape': [side, side, 1], 'rows': rows})


if __name__ == '__main__':
  app.run(main)
