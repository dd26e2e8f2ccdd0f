"""The machine's practical float32 peak: GFLOP/s of a large square matmul, best of reps.

  python benchmarks/machine_peak.py --matmul_size=4096 --matmul_reps=5

Other scripts import `measure` and report their own GFLOP/s as a percentage of
this figure, measured in the same run, so the percentage does not depend on
which machine (or how busy a shared one) it was. On GPUs, float32 matmuls run at
JAX's default precision (TF32 on recent NVIDIA cards), as the models' convolutions do.
"""

import pathlib
import sys

from absl import app, flags
import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

# pylint: disable=g-import-not-at-top
from benchmarks import common

MATMUL_SIZE = flags.DEFINE_integer('matmul_size', 4096,
                                   'Side of the square float32 matmul that sets the peak.')
MATMUL_REPS = flags.DEFINE_integer('matmul_reps', 5, 'Timed matmuls; the best counts.')


def measure(size: int, reps: int) -> dict:
  """GFLOP/s of (size x size) @ (size x size) in float32: 2 size**3 FLOPs per product.

  Returns a dict with 'size', 'reps', 'best_s', 'median_s', 'gflops' (from the
  best time: the peak) and 'gflops_median'.
  """
  if size < 1 or reps < 1:
    raise ValueError(f'matmul size and reps must be positive, got {size} and {reps}')
  # Drawn by numpy: an eager jax.random call would compile programs of its own.
  a, b = jax.device_put(np.random.default_rng(0).standard_normal((2, size, size),
                                                                 np.float32))
  matmul = jax.jit(jnp.matmul)
  common.timed(lambda: matmul(a, b))  # Compile and warm up.
  seconds = common.repeat_timed(lambda: matmul(a, b), reps)
  flops = 2.0 * size ** 3
  best, median = min(seconds), float(np.median(seconds))
  return {'size': size, 'reps': reps, 'best_s': best, 'median_s': median,
          'gflops': flops / best / 1e9, 'gflops_median': flops / median / 1e9}


def measure_from_flags() -> dict:
  return measure(MATMUL_SIZE.value, MATMUL_REPS.value)


def main(argv):
  del argv
  machine = common.machine_info()
  peak = measure_from_flags()
  print(common.describe_machine(machine))
  print(common.table(
      ('matmul', 'reps', 'best s', 'median s', 'GFLOP/s best', 'GFLOP/s median'),
      [(f'{peak["size"]}^2 f32', peak['reps'], f'{peak["best_s"]:.4f}',
        f'{peak["median_s"]:.4f}', f'{peak["gflops"]:.1f}',
        f'{peak["gflops_median"]:.1f}')]))
  common.write_json('machine_peak', {'machine': machine, 'peak': peak})


if __name__ == '__main__':
  app.run(main)
