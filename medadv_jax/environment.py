"""The software and hardware that made a cell's numbers.

Written next to each cell's results (`FILE_NAME`) and summarised in the
report, so that a published number can be traced to the code, packages and
devices that produced it, and a study whose cells were made in different
environments says so.
"""

import importlib.metadata
import pathlib
import platform
import subprocess
from typing import Optional

import jax

from medadv_jax import cell_data

FILE_NAME = 'environment.json'
# The packages whose versions can move a cell's numbers or read its files.
PACKAGES = ('jax', 'jaxlib', 'flax', 'optax', 'orbax-checkpoint', 'numpy',
            'tensorflow-datasets', 'ml-collections')
_REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent


def describe() -> dict:
  """This process's environment, as plain JSON data.

  git_commit is None outside a git checkout (an installed copy); git_dirty says
  whether tracked files differ from that commit, so the commit alone does not
  name the code. Changes under docs/ (prose and published results, such as a
  study being published there) do not count: they change no number.
  """
  commit = _git('rev-parse', 'HEAD')
  status = (_git('status', '--porcelain', '--untracked-files=no', '--', '.', ':(exclude)docs')
            if commit else None)
  devices = jax.devices()
  return {
      'results_version': cell_data.RESULTS_VERSION,
      'git_commit': commit,
      'git_dirty': None if status is None else bool(status),
      'python': platform.python_version(),
      'packages': {name: _version(name) for name in PACKAGES},
      'backend': jax.default_backend(),
      'devices': f'{len(devices)} x {devices[0].device_kind}',
      'processes': jax.process_count(),
      'host_cpu': host_cpu(),
  }


# Widest vector instruction set first: XLA compiles CPU programs for the one the
# host has, so float rounding, and after training every number, differs
# between hosts with different sets (the same config and seed gave PGD-trained
# width 1 a clean accuracy of 0.796 on an AVX2 host and 0.864 on an AVX-512 one).
_VECTOR_SETS = ('avx512f', 'avx2', 'avx', 'asimd', 'neon')


def host_cpu(cpuinfo: str = '/proc/cpuinfo') -> dict:
  """The host CPU's model and widest vector instruction set, None where the
  system does not say (no /proc/cpuinfo outside Linux)."""
  try:
    text = pathlib.Path(cpuinfo).read_text(errors='replace')
  except OSError:
    return {'model': platform.processor() or None, 'vector_isa': None}
  fields = {}
  for line in text.splitlines():
    name, _, value = line.partition(':')
    fields.setdefault(name.strip(), value.strip())
  flags = set((fields.get('flags') or fields.get('Features') or '').split())
  return {'model': fields.get('model name') or platform.processor() or None,
          'vector_isa': next((isa for isa in _VECTOR_SETS if isa in flags), None)}


def _version(package: str) -> Optional[str]:
  try:
    return importlib.metadata.version(package)
  except importlib.metadata.PackageNotFoundError:
    return None


def _git(*args: str) -> Optional[str]:
  """git's stripped output in the code's own checkout; None without one."""
  if not (_REPO_ROOT / '.git').exists():
    return None
  try:
    result = subprocess.run(['git', '-C', str(_REPO_ROOT), *args], capture_output=True,
                            text=True, timeout=30, check=False)
  except (OSError, subprocess.TimeoutExpired):  # No git program, or a hung one.
    return None
  return result.stdout.strip() if result.returncode == 0 else None
