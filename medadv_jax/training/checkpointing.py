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

import pathlib
from typing import Any, Optional

import orbax.checkpoint as ocp


class Checkpointer:
  """Keeps the newest `max_to_keep` checkpoints of one training run."""

  def __init__(self, directory: pathlib.Path, max_to_keep: int = 1):
    self._manager = ocp.CheckpointManager(
        pathlib.Path(directory).absolute(),
        options=ocp.CheckpointManagerOptions(
            max_to_keep=max_to_keep, create=True, enable_async_checkpointing=False,
            cleanup_tmp_directories=True),
        item_names=('arrays', 'meta'))

  def latest_step(self) -> Optional[int]:
    return self._manager.latest_step()

  def all_steps(self) -> list[int]:
    return sorted(self._manager.all_steps())

  def save(self, step: int, arrays: Any, meta: dict) -> None:
    self._manager.save(step, args=ocp.args.Composite(
        arrays=ocp.args.StandardSave(arrays), meta=ocp.args.JsonSave(meta)))
    self._manager.wait_until_finished()

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
