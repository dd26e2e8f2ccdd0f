"""JAX's persistent compilation cache, so that equal programs compile once.

Every cell of a study builds its train step and attack programs anew; the cells
of a second seed (or of a resumed or relaunched study) compile programs equal to
those of the first, which on a CPU is a large share of a cell's time. With a
cache folder, XLA stores each compiled program under a key of its HLO and
compiler options, and an equal program later loads instead of compiling.
Numbers do not change: the loaded program is the one that would be compiled.
"""

import os

import jax
from absl import logging

# Programs that compile faster than this are not worth a file.
MIN_COMPILE_SECONDS = 0.05


def enable(folder: str) -> None:
  """Caches compiled programs in `folder` ('~' expanded); '' leaves caching off.
  Call before the first compilation of the process."""
  if not folder:
    return
  folder = os.path.abspath(os.path.expanduser(folder))
  try:
    os.makedirs(folder, exist_ok=True)
  except OSError as e:  # A read-only home: run without the cache rather than stop.
    logging.warning('compilation cache off: %s cannot be created (%s)', folder, e)
    return
  jax.config.update('jax_compilation_cache_dir', folder)
  jax.config.update('jax_persistent_cache_min_compile_time_secs', MIN_COMPILE_SECONDS)
