"""Times one full robustness curve two ways: a loop over eps, and one vmapped program.

  MEDMNIST_DIR=../shared/medmnist python benchmarks/robustness_curve.py --width=1

Both ways attack the same images with the same PGD and keys; the table gives
wall times (first call, which includes compilation, and a second, warm call),
their ratio, and robust accuracies, which must agree up to random-start noise.
Writes the figures as JSON next to the printed table.
"""

import json
import pathlib
import platform
import sys
import tempfile
import time

from absl import app, flags
import jax
import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

# pylint: disable=g-import-not-at-top
from configs import default as default_config
from medadv_jax.attacks import eps_grid, linf
from medadv_jax.data.dataset import load_dataset
from medadv_jax.evaluation.eval_apply import EvalApply
from medadv_jax.models.cnn import WidthCNN
from medadv_jax.training.loop import train_model

_WIDTH = flags.DEFINE_float('width', 1.0, 'WidthCNN width multiplier.')
_IMAGES = flags.DEFINE_integer('images', 624, 'Test images attacked (624 = all).')
_STEPS = flags.DEFINE_integer('steps', 20, 'PGD steps.')
_EPOCHS = flags.DEFINE_integer('epochs', 1, 'Standard-training epochs before attacking.')
_OUT = flags.DEFINE_string('out', 'benchmarks/robustness_curve.json', 'JSON output.')


def _timed(fn):
  started = time.perf_counter()
  result = fn()
  return result, time.perf_counter() - started


def main(_):
  config = default_config.get_config()
  dataset = load_dataset(config.data)
  model = WidthCNN(num_classes=dataset.num_classes, width=_WIDTH.value)
  config.train.epochs = _EPOCHS.value
  with tempfile.TemporaryDirectory() as run_dir:
    variables, _ = train_model(model, dataset, config.train, 'standard', 0,
                               pathlib.Path(run_dir))
  images = dataset.test_images[:_IMAGES.value]
  labels = dataset.test_labels[:_IMAGES.value]
  grid = np.asarray(default_config.PAPER_EPS_255, np.float32) / 255.0
  attack = linf.LinfAttack('pgd', 'untargeted', steps=_STEPS.value, step_size_frac=0.1)
  apply_fn, key = EvalApply(model), jax.random.key(0)
  budget = config.attack.max_images_per_program

  def per_eps_loop():
    return np.concatenate([eps_grid.evaluate_over_eps(attack, apply_fn, variables, images,
                                                      labels, grid[e:e + 1], key, budget)
                           for e in range(grid.size)])

  def vmapped():
    return eps_grid.evaluate_over_eps(attack, apply_fn, variables, images, labels, grid,
                                      key, budget)

  results = {}
  for name, fn in (('per-eps loop', per_eps_loop), ('vmapped grid', vmapped)):
    _, cold = _timed(fn)
    correct, warm = _timed(fn)
    results[name] = {'cold_s': cold, 'warm_s': warm,
                     'accuracy': eps_grid.worst_case_so_far(correct).mean(axis=1).tolist()}
  base = results['per-eps loop']['warm_s']
  print(f'{platform.processor() or platform.machine()}, {jax.device_count()} '
        f'{jax.default_backend()} device(s); WidthCNN width {_WIDTH.value}; '
        f'{labels.size} images x {grid.size} eps x PGD-{_STEPS.value}')
  print(f'{"method":<14} {"cold s":>8} {"warm s":>8} {"speed-up":>9}  '
        'accuracy at eps 1, 2, 4, 8 /255')
  picks = [list(default_config.PAPER_EPS_255).index(e) for e in (1.0, 2.0, 4.0, 8.0)]
  for name, r in results.items():
    accuracies = ', '.join(f'{r["accuracy"][i]:.3f}' for i in picks)
    print(f'{name:<14} {r["cold_s"]:8.1f} {r["warm_s"]:8.1f} {base / r["warm_s"]:8.2f}x  '
          f'{accuracies}')
  pathlib.Path(_OUT.value).write_text(json.dumps(
      {'width': _WIDTH.value, 'images': int(labels.size), 'steps': _STEPS.value,
       'backend': jax.default_backend(), 'results': results}, indent=1))


if __name__ == '__main__':
  app.run(main)
