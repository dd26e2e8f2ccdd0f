"""A folder built once per test session, shared by pytest-xdist's workers, for
expensive finished artefacts (a study run through main.py) that tests only read."""

import fcntl
import os
import pathlib
import shutil
import tempfile


def folder(tmp_path_factory, name: str, build) -> pathlib.Path:
  """The folder `name`, made by `build(path)` the first time any worker asks for it.

  Under xdist the workers' temporary folders share a parent that is fresh for
  each session: one worker builds while the others wait on a lock, then all
  read the same folder. Without xdist it is built in this process's temporary
  folder. A failed build leaves nothing behind, so the next asker builds again.
  """
  if 'PYTEST_XDIST_WORKER' not in os.environ:
    path = tmp_path_factory.mktemp(name)
    build(path)
    return path
  root = tmp_path_factory.getbasetemp().parent / 'built_once'
  root.mkdir(exist_ok=True)
  path = root / name
  with open(root / f'{name}.lock', 'w') as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    if not path.exists():  # Renamed into place only once finished.
      partial = pathlib.Path(tempfile.mkdtemp(prefix=f'{name}.', dir=root))
      try:
        build(partial)
      except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
      partial.rename(path)
  return path
