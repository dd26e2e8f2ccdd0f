"""Is a trained model fit to enter a verdict about robustness?

A model that predicts one class for every image cannot be fooled on the images
of that class, so it looks robust; a model at chance, or one still learning
when training stopped, says nothing about how size changes robustness. Each
such model is flagged here, stays in the report's tables with its reasons, and
is left out of every difference, Spearman column and claim verdict. Three checks,
thresholds from `config.fitness`:
  one_class       one class takes at least `max_class_share` of the test
                  predictions (multi-label: every label is that constant);
  chance          the lower end of the 95 % interval of the balanced accuracy is
                  not above chance (1 / classes) by `chance_margin`;
  under_trained   training ended at its length cap (not by early stopping) while
                  the validation score was still rising: its mean over the last
                  `improving_window` of the epochs beats its mean over as many
                  epochs before them by more than `improving_delta` (means, not
                  maxima, so that epoch-to-epoch noise of the validation score
                  does not read as a rise);
  masks_gradients at the whole pixel box (255/255), where any image is allowed,
                  the paper's attacks and the strong ensemble (Square
                  included) leave more than the sanity tolerance unfooled:
                  its accuracies are upper bounds of unknown slack
                  (`with_masking`, after the attacks).
"""

import math
from typing import Optional, Sequence

import numpy as np

from medadv_jax.evaluation.clean_metrics import CleanMetrics

CHECKS = ('one_class', 'chance', 'under_trained', 'masks_gradients')
# Stop reasons that end a run at its length cap rather than on a plateau.
_CAPPED = ('epochs', 'max_steps')


def assess(metrics: CleanMetrics, val_scores: Sequence[float], stop_reason: Optional[str],
           fitness_config) -> dict:
  """{'fit': bool, 'reasons': '; '-joined text ('' when fit), and per check of
  CHECKS a bool (True = flagged, None = not applicable)}."""
  c = fitness_config
  one_class = metrics.majority_prediction_share >= c.max_class_share
  chance = metrics.balanced_accuracy_ci[0] <= metrics.chance + c.chance_margin
  rise = still_rising(val_scores, c.improving_window)
  under_trained = (None if rise is None else
                   stop_reason in _CAPPED and rise > c.improving_delta)
  reasons = []
  if one_class:
    reasons.append(f'one class takes {metrics.majority_prediction_share:.0%} of its '
                   'predictions')
  if chance:
    low, high = metrics.balanced_accuracy_ci
    reasons.append(f'balanced accuracy {metrics.balanced_accuracy:.3f} [{low:.2f}, '
                   f'{high:.2f}] not above chance ({metrics.chance:.2f}) by '
                   f'{c.chance_margin:g}')
  if under_trained:
    reasons.append(f'validation score still rising when training stopped at its cap '
                   f'(mean +{rise:.3f} over the last {c.improving_window:.0%} of its epochs)')
  return {'fit': not reasons, 'reasons': '; '.join(reasons), 'one_class': bool(one_class),
          'chance': bool(chance), 'under_trained': under_trained,
          'masks_gradients': None, 'val_rise': rise}


def with_masking(fit: Optional[dict], whole_box_accuracy: Optional[float],
                 tolerance: float) -> Optional[dict]:
  """`fit` with the masks_gradients flag from the accuracy every attack left at
  the whole pixel box (None: not measured, flag not applicable). A model not
  assessed (`fit` None) stays so; its sanity large_eps check still says it."""
  if whole_box_accuracy is None or fit is None:
    return fit
  fit = dict(fit)
  masks = whole_box_accuracy > tolerance + 1e-12
  fit['masks_gradients'] = bool(masks)
  if masks:
    reason = (f'masks gradients: the strong attack leaves {whole_box_accuracy:.0%} of its '
              f'images unfooled at 255/255 (allowed {tolerance:g})')
    fit['reasons'] = '; '.join(r for r in (fit['reasons'], reason) if r)
    fit['fit'] = False
  return fit


def still_rising(val_scores: Sequence[float], window: float) -> Optional[float]:
  """How much the mean validation score of the last `window` of the epochs beats
  its mean over as many epochs before them (<= 0: no rise); None with fewer than
  two epochs."""
  scores = np.asarray(val_scores, float)
  if scores.size < 2:
    return None
  last = min(scores.size // 2, max(1, math.ceil(window * scores.size)))
  return float(scores[-last:].mean() - scores[-2 * last:-last].mean())
