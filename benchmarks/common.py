"""What every benchmark script shares: the machine's description, timing, tables, JSON.

Every script measures ratios inside one run on one machine, so its JSON
carries the machine it ran on (`machine_info`) next to the figures.
"""

import datetime
import json
import logging as std_logging
import os
import pathlib
import platform
import tempfile
import time

from absl import flags, logging
import jax
import numpy as np

from configs import default as default_config
from medadv_jax.training.loop import train_model

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO_ROOT / 'benchmarks' / 'results'
# The project's offline copy of the MedMNIST files (see ../shared/medmnist/README.md).
SHARED_MEDMNIST = REPO_ROOT.parent / 'shared' / 'medmnist'

_OUT = flags.DEFINE_string('out', None,
                           'JSON output path; default benchmarks/results/<script>.json.')


def machine_info() -> dict:
  """Platform, CPU count, JAX version and devices, and XLA_FLAGS of this process."""
  devices = jax.devices()
  try:
    usable_cpus = len(os.sched_getaffinity(0))
  except AttributeError:  # Not on Linux.
    usable_cpus = os.cpu_count()
  return {
      'utc': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
      'platform': platform.platform(),
      'processor': platform.processor() or platform.machine(),
      'python': platform.python_version(),
      'cpu_count': os.cpu_count(),
      'usable_cpus': usable_cpus,
      'jax_version': jax.__version__,
      'backend': jax.default_backend(),
      'devices': [str(d) for d in devices],
      'device_kind': devices[0].device_kind,
      'XLA_FLAGS': os.environ.get('XLA_FLAGS', ''),
      # A persistent compilation cache turns "cold" (first-call) times warm.
      'JAX_COMPILATION_CACHE_DIR': os.environ.get('JAX_COMPILATION_CACHE_DIR', ''),
  }


def describe_machine(info: dict) -> str:
  """One line for the top of a printed table."""
  return (f'{info["processor"]}, {info["usable_cpus"]} usable CPUs, '
          f'{len(info["devices"])} {info["backend"]} device(s) ({info["device_kind"]}), '
          f'jax {info["jax_version"]}, XLA_FLAGS={info["XLA_FLAGS"]!r}')


def timed(fn):
  """(fn(), wall seconds), waiting for every device array fn returns."""
  started = time.perf_counter()
  result = jax.block_until_ready(fn())
  return result, time.perf_counter() - started


def repeat_timed(fn, reps: int) -> list[float]:
  """Wall seconds of `reps` calls of `fn` (already compiled: call it once first)."""
  return [timed(fn)[1] for _ in range(reps)]


def table(headers, rows) -> str:
  """Right-aligned plain-text table; cells are printed as given (format them first)."""
  cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
  widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
  lines = ['  '.join(c.rjust(w) for c, w in zip(row, widths)) for row in cells]
  lines.insert(1, '  '.join('-' * w for w in widths))
  return '\n'.join(lines)


def write_json(name: str, payload: dict) -> pathlib.Path:
  """Writes `payload` to --out (default benchmarks/results/<name>.json); returns the path."""
  path = pathlib.Path(_OUT.value) if _OUT.value else RESULTS_DIR / f'{name}.json'
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_text(json.dumps(payload, indent=1, default=_to_json) + '\n')
  print(f'wrote {path}')
  return path


def _to_json(value):
  if isinstance(value, np.generic):
    return value.item()
  if isinstance(value, np.ndarray):
    return value.tolist()
  raise TypeError(f'not JSON serialisable: {type(value).__name__}')


class _HideLibraryInfo(std_logging.Filter):
  """Drops orbax's INFO lines (it logs every checkpoint save), as main.py does."""

  def filter(self, record):
    return record.levelno >= std_logging.WARNING or '/orbax/' not in record.pathname


def hide_library_info_logs() -> None:
  """Keeps the training loop's own progress lines and the tables readable."""
  logging.get_absl_handler().addFilter(_HideLibraryInfo())


def pneumonia_config(train_limit: int = 0):
  """The default study's config, reading the local MedMNIST copy when no
  MEDMNIST_DIR is set (the benchmark machines have no internet)."""
  config = default_config.get_config()
  config.data.train_limit = train_limit
  if not os.environ.get('MEDMNIST_DIR') and SHARED_MEDMNIST.is_dir():
    config.data.dir = str(SHARED_MEDMNIST)
  return config


def train_briefly(model, dataset, train_config, seed: int = 0):
  """Standard training by the project's own loop in a throw-away folder.

  Returns (variables, images per second of the last epoch as the loop measured
  it). With train_config.epochs = 0: the initial weights and None (smoke runs).
  """
  with tempfile.TemporaryDirectory() as run_dir:
    variables, meta = train_model(model, dataset, train_config, 'standard', seed,
                                  pathlib.Path(run_dir))
  history = meta.history
  return variables, history[-1]['images_per_second'] if history else None
