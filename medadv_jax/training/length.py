"""How long a training run lasts, and why it stopped.

Two rules, chosen by `train.min_steps`:
  0 (the paper's protocol): `train.epochs` epochs, or fewer when
    `train.early_stopping_patience` epochs pass without a better validation score;
  > 0: the length is set in optimiser steps, the same for every training-set
    size, so a small dataset gets as many updates as a large one: at least
    `min_steps` (whole epochs), then on while the validation score improves
    (stop once `patience_steps` steps pass without a better one), at most
    `max_steps`. A fixed number of epochs gives a dataset of 546 images a twelfth
    of the updates one of 4,708 gets.
"""

import dataclasses
import math
from typing import Optional

# Why a run ended (RunMeta.stop_reason, results.csv's stop_reason).
EPOCHS_DONE = 'epochs'  # The fixed epoch budget is spent.
MAX_STEPS = 'max_steps'  # The step cap is reached.
EARLY_STOPPING = 'early_stopping'  # No better validation score for the patience.
CATASTROPHIC_OVERFITTING = 'catastrophic_overfitting'  # fgsm_rs only.
STOP_REASONS = (EPOCHS_DONE, MAX_STEPS, EARLY_STOPPING, CATASTROPHIC_OVERFITTING)


@dataclasses.dataclass(frozen=True)
class Length:
  """A run's length in whole epochs of `steps_per_epoch` optimiser steps."""
  min_epochs: int  # Early stopping never stops before these.
  max_epochs: int
  patience_epochs: int  # Epochs without a better validation score; 0 = never stop early.
  by_steps: bool  # Set in optimiser steps (train.min_steps > 0).

  @property
  def cap_reason(self) -> str:
    return MAX_STEPS if self.by_steps else EPOCHS_DONE


def plan(train_config, steps_per_epoch: int) -> Length:
  """The `Length` of a run with `steps_per_epoch` steps per epoch."""
  if not train_config.min_steps:
    return Length(0, int(train_config.epochs), int(train_config.early_stopping_patience),
                  False)
  epochs = lambda steps: max(1, math.ceil(steps / steps_per_epoch))
  low = epochs(train_config.min_steps)
  high = max(low, epochs(train_config.max_steps))
  patience = epochs(train_config.patience_steps) if train_config.patience_steps else 0
  return Length(low, high, patience, True)


def stop_reason(length: Length, epoch: int, best_epoch: int) -> Optional[str]:
  """Why the run stops after `epoch` epochs (best validation score at
  `best_epoch`), or None to go on."""
  if (length.patience_epochs and epoch >= length.min_epochs
      and epoch - best_epoch >= length.patience_epochs):
    return EARLY_STOPPING
  if epoch >= length.max_epochs:
    return length.cap_reason
  return None
