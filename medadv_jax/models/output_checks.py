"""What a classifier must output before it is trained or attacked: one finite
logit per class (per label on a multi-label task), not probabilities, whose
softmax flattens the attacks' gradients and switches certificates off."""

from typing import Optional

import numpy as np

# Rows whose sums differ from 1 by at most this are taken for probabilities.
_SUM_TOLERANCE = 1e-3


def problem(outputs, num_classes: int, multi_label: bool = False,
            probabilities_ok: bool = False) -> Optional[tuple[str, str]]:
  """None if `outputs` (a batch) are fine, else (what was seen, what is allowed)."""
  outputs = np.asarray(outputs)
  if outputs.ndim != 2 or outputs.shape[1] != num_classes:
    unit = 'label' if multi_label else 'class'
    binary = (' (a binary task too: 2 logits, not 1)'
              if num_classes == 2 and not multi_label else '')
    return (f'outputs of shape {outputs.shape}',
            f'(N, {num_classes}): one logit per {unit} of the {num_classes}{binary}')
  if not np.isfinite(outputs).all():
    return 'non-finite outputs (nan or inf)', 'finite logits'
  if not (multi_label or probabilities_ok) and looks_like_probabilities(outputs):
    return ('outputs whose rows lie in [0, 1] and sum to 1 (probabilities)',
            'logits, the values before softmax')
  return None


def looks_like_probabilities(outputs: np.ndarray) -> bool:
  """Every row in [0, 1] and summing to 1: a softmax's output, not logits."""
  return bool(outputs.size and outputs.min() >= 0 and outputs.max() <= 1
              and np.all(np.abs(outputs.sum(axis=1) - 1) <= _SUM_TOLERANCE))
