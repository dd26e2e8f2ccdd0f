"""The one module that talks to orbax-checkpoint, so an API change touches one file.

A checkpoint holds an array pytree (`arrays`: train state, best weights) and a
JSON document (`meta`: epoch, position in the epoch, best validation score,
metric history). Checkpoints are numbered by optimiser step, so periodic
mid-epoch and end-of-epoch checkpoints share one sequence; the newest
`max_to_keep` are kept. Orbax writes each step to a temporary folder and
renames it when complete, so a run killed mid-save resumes from the previous
complete step (the half-written folder is removed on the next start).

Arrays restore with the shardings of the template, so a data-parallel state
comes back already placed on its mesh.
"""

import errno
import pathlib
import shutil
from typing import Any, Optional

import orbax.checkpoint as ocp

from medadv_jax.errors import DiskFullError


# Where steps that no longer restore are moved (beside the checkpoint folder).
DAMAGED_DIR = 'damaged_checkpoints'


class Checkpointer:
  """Keeps the newest `max_to_keep` checkpoints of one training run."""

  def __init__(self, directory: pathlib.Path, max_to_keep: int = 1):
    self._directory = pathlib.Path(directory).absolute()
    self._max_to_keep = max_to_keep
    self._manager = self._open()

  def _open(self) -> ocp.CheckpointManager:
    return ocp.CheckpointManager(
        self._directory,
        options=ocp.CheckpointManagerOptions(
            max_to_keep=self._max_to_keep, create=True, enable_async_checkpointing=False,
            cleanup_tmp_directories=True),
        item_names=('arrays', 'meta'))

  def set_aside(self, step: int) -> pathlib.Path:
    """Moves step `step` (one that does not restore) out of the sequence, into
    DAMAGED_DIR beside the checkpoint folder, and returns where it went. Nothing
    is deleted: the files may still tell what damaged them."""
    self._manager.close()
    target = self._directory.parent / DAMAGED_DIR / str(step)
    for n in range(1, 1000):
      if not target.exists():
        break
      target = target.with_name(f'{step}.{n}')
    target.parent.mkdir(parents=True, exist_ok=True)
    (self._directory / str(step)).rename(target)
    self._manager = self._open()
    return target

  def latest_step(self) -> Optional[int]:
    return self._manager.latest_step()

  def all_steps(self) -> list[int]:
    return sorted(self._manager.all_steps())

  def save(self, step: int, arrays: Any, meta: dict) -> None:
    """Raises DiskFullError if the disk fills up (the step is then not saved)."""
    try:
      self._manager.save(step, args=ocp.args.Composite(
          arrays=ocp.args.StandardSave(arrays), meta=ocp.args.JsonSave(meta)))
      self._manager.wait_until_finished()
    except Exception as e:  # pylint: disable=broad-except
      # TensorStore says so in a ValueError, the JSON writer in an OSError.
      if 'No space left on device' not in str(e) and getattr(e, 'errno', None) != errno.ENOSPC:
        raise
      raise DiskFullError(self._directory / f'{step}') from None

  def restore(self, step: int, arrays_template: Any) -> tuple[Any, dict]:
    """Restores step `step` into the structure (and dtypes) of `arrays_template`."""
    restored = self._manager.restore(step, args=ocp.args.Composite(
        arrays=ocp.args.StandardRestore(arrays_template), meta=ocp.args.JsonRestore()))
    return restored['arrays'], restored['meta']

  def restore_meta(self, step: int) -> dict:
    """Only the JSON document of step `step`: cheap, and needs no array template."""
    return self._manager.restore(step, args=ocp.args.Composite(
        meta=ocp.args.JsonRestore()))['meta']

  def close(self) -> None:
    self._manager.close()


def epoch_end_due(step: int, saved_step: int, min_steps: int, last: bool) -> bool:
  """Whether to save at the epoch end at `step`: always after the run's last
  epoch, else at least `min_steps` (config.train.checkpoint_min_steps) after
  the newest checkpoint, `saved_step`."""
  return last or step - saved_step >= min_steps


TEMPORARY_GLOB = '*.orbax-checkpoint-tmp*'


def remove_temporary(directory: pathlib.Path) -> None:
  """Deletes the half-written steps an interrupted save left in `directory`."""
  for path in pathlib.Path(directory).glob(TEMPORARY_GLOB):
    if path.is_dir():
      shutil.rmtree(path, ignore_errors=True)
    else:
      path.unlink(missing_ok=True)
