"""Which GPUs each `local_sweep.py` worker sees.

A JAX process takes every GPU it can see, and by default most of each one's
memory, for training and attacks alike; two cell processes on the same GPUs
would fight over it. On a host with several GPUs and small models, one cell
per GPU (or per few) uses them better than one cell split over all. So each
worker slot gets its own `CUDA_VISIBLE_DEVICES`, taken from the GPUs this
machine lists, and a cell runs in whichever slot is free.
"""

import os
import shutil
import subprocess
from typing import Optional

from medadv_jax.errors import MedAdvError


def machine_gpus() -> list[str]:
  """The GPUs a worker may use: those `CUDA_VISIBLE_DEVICES` names if it is
  set, else the indices `nvidia-smi` lists."""
  visible = os.environ.get('CUDA_VISIBLE_DEVICES')
  if visible is not None:
    return [gpu.strip() for gpu in visible.split(',') if gpu.strip()]
  if shutil.which('nvidia-smi') is None:
    raise MedAdvError('--gpus_per_worker needs GPUs, but CUDA_VISIBLE_DEVICES is not set '
                      'and nvidia-smi is not installed: set CUDA_VISIBLE_DEVICES to the '
                      'GPUs to use, or leave --gpus_per_worker at 0.')
  listed = subprocess.run(['nvidia-smi', '--query-gpu=index', '--format=csv,noheader'],
                          capture_output=True, text=True, check=False)
  if listed.returncode != 0:
    raise MedAdvError(f'nvidia-smi failed ({listed.stderr.strip()}): set '
                      'CUDA_VISIBLE_DEVICES to the GPUs to use.')
  return listed.stdout.split()


def worker_gpu_sets(workers: int, gpus_per_worker: int,
                    gpus: Optional[list[str]] = None) -> list[Optional[str]]:
  """One `CUDA_VISIBLE_DEVICES` value per worker slot (disjoint sets of
  `gpus_per_worker` GPUs), or None per slot when `gpus_per_worker` is 0 (every
  worker sees every device). `gpus`: default `machine_gpus()`."""
  if gpus_per_worker == 0:
    return [None] * workers
  gpus = machine_gpus() if gpus is None else gpus
  if workers * gpus_per_worker > len(gpus):
    raise MedAdvError(
        f'--gpus_per_worker={gpus_per_worker} with --workers={workers} needs '
        f'{workers * gpus_per_worker} GPUs, but this machine lists {len(gpus)} '
        f'({",".join(gpus) or "none"}); allowed: at most {len(gpus) // workers} per '
        'worker, or 0 (every worker sees every device).')
  return [','.join(gpus[slot * gpus_per_worker:(slot + 1) * gpus_per_worker])
          for slot in range(workers)]
