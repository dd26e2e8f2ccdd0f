"""Where a training run stands: saved as JSON with every checkpoint, returned at the end."""

import dataclasses
from typing import Optional


@dataclasses.dataclass(frozen=True)
class RunMeta:
  """Counters, best validation score and per-epoch history of one training run.

  `stop_reason` is None while the run goes on, then one of `length.STOP_REASONS`;
  `history` holds one dict of train and validation means per finished epoch.
  """
  epoch: int = 0  # Epochs finished.
  batch: int = 0  # Batches of the next epoch already trained (mid-epoch checkpoints).
  step: int = 0  # Optimiser steps taken.
  steps_per_epoch: int = 0
  best_epoch: int = 0
  best_score: float = -1.0
  history: tuple[dict, ...] = ()
  stop_reason: Optional[str] = None

  def to_json(self, running: dict) -> dict:
    """The checkpoint's JSON document, with the partial metric sums `running`."""
    return dict(dataclasses.asdict(self), history=list(self.history), running=running)

  @classmethod
  def from_json(cls, document: dict) -> tuple['RunMeta', dict]:
    """(meta, running sums) of a checkpoint's JSON document."""
    fields = {k: v for k, v in document.items() if k != 'running'}
    fields['history'] = tuple(fields.get('history', ()))
    return cls(**fields), document['running']
