"""JAX's persistent compilation cache, so that equal programs compile once.

Every cell of a study builds its train step and attack programs anew; the cells
of a second seed (or of a resumed or relaunched study) compile programs equal to
those of the first, which on a CPU is a large share of a cell's time. With a
cache folder, XLA stores each compiled program under a key of its HLO and
compiler options, and an equal program later loads instead of compiling.
Numbers do not change: the loaded program is the one that would be compiled.
An entry that no longer reads back (a disk error, a killed write, another JAX
version) is deleted, so the program is compiled and stored again, and the
folder is named once in the log instead of a raw warning on every run.
"""

import os
import pathlib

import jax
from absl import logging

try:  # JAX's private cache reader, healed below; without it, caching goes on unhealed.
  from jax._src import compilation_cache as jax_cache  # pylint: disable=g-import-not-at-top
except ImportError:
  jax_cache = None

# Programs that compile faster than this are not worth a file.
MIN_COMPILE_SECONDS = 0.05
# JAX's own setting: JAX caches there whatever the config says, so it names the folder.
ENV_FOLDER = 'JAX_COMPILATION_CACHE_DIR'


def enable(folder: str) -> None:
  """Caches compiled programs in `folder` ('~' expanded); '' leaves caching off.
  A set JAX_COMPILATION_CACHE_DIR (e.g. a test session's fresh folder) wins.
  Call before the first compilation of the process."""
  folder = os.environ.get(ENV_FOLDER) or folder
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
  _healing['folder'] = pathlib.Path(folder)
  read = getattr(jax_cache, 'get_executable_and_time', None) if jax_cache else None
  if read is not None and not getattr(read, 'heals', False):
    jax_cache.get_executable_and_time = _healing_reader(read)


# The folder entries are deleted from, and whether the log has named it.
_healing = {'folder': None, 'named': False}


def _healing_reader(read):
  """JAX's cache reader, but an entry that fails to load is deleted (JAX then
  compiles the program and, finding no file, stores it again)."""

  def healing_read(cache_key, *args, **kwargs):
    try:
      return read(cache_key, *args, **kwargs)
    except Exception as e:  # pylint: disable=broad-except
      if isinstance(e, getattr(jax_cache, 'CacheVerificationError', ())):
        raise
      folder = _healing['folder']
      for path in folder.glob(f'{cache_key}-*'):
        path.unlink(missing_ok=True)
      if not _healing['named']:
        _healing['named'] = True
        logging.warning('compilation cache %s held a damaged entry (%s); deleted, '
                        'compiled again and stored anew', folder, type(e).__name__)
      return None, None

  healing_read.heals = True
  return healing_read
