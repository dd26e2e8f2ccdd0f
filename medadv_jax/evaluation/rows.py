"""The results rows of one evaluated model, built from its stages' records:
one row per attack and eps, the per-norm ensembles and the strong attack's
rows, each with the model's sanity, clean and class columns."""

import math

import numpy as np

from medadv_jax import cell_data
from medadv_jax.attacks import min_eps
from medadv_jax.evaluation import fitness, sanity, strong
from medadv_jax.intervals import wilson_interval

ENSEMBLE = 'ensemble'


def build(runs, ensembles, with_strong, eps_255, labels, common: dict,
          strong_members: str) -> list[dict]:
  """Every row of one model: each attack's, each norm's ensemble, and (when
  `with_strong`, `strong_rows`' input) the strong attack's."""
  rows = []
  for run in runs:
    rows += attack_rows(run, dict(fields(run.spec), **common), eps_255, labels)
  for norm, run in ensembles.items():
    members = '; '.join(cell_data.attack_label(fields(r.spec)) for r in runs
                        if r.spec.norm == norm)
    columns = dict(attack=ENSEMBLE, target='any', steps=0, norm=norm, restarts=0,
                   eps_scale=run.spec.eps_scale, members=members)
    rows += attack_rows(run, dict(columns, **common), eps_255, labels)
  if with_strong is not None:
    rows += strong_rows(*with_strong, eps_255, labels,
                        dict(common, schedule='cascade', members=strong_members))
  return rows


def model_columns(metrics, fit, checks, dataset, labels, schedule: str,
                  least_likely_skipped: bool) -> dict:
  """The columns every row of one model carries: clean metrics and fitness,
  sanity checks, the attacked set's class counts."""
  # The test-set size gives the clean accuracy its interval in the report.
  return dict(clean_test_accuracy=metrics.accuracy,
              clean_test_n=int(dataset.test_labels.shape[0]), schedule=schedule,
              **sanity.as_columns(checks), **clean_columns(metrics, fit),
              **class_counts(labels, int(dataset.num_classes), dataset.label_names),
              least_likely_as_untargeted=least_likely_skipped)


def fields(spec) -> dict:
  """An attack's identifying columns."""
  return dict(attack=spec.name, target=spec.target, steps=spec.steps, norm=spec.norm,
              restarts=spec.restarts, eps_scale=spec.eps_scale)


def attack_rows(run: sanity.AttackRun, columns: dict, eps_255: np.ndarray,
                labels: np.ndarray) -> list[dict]:
  """One row per grid radius of one attack (or ensemble)."""
  n = run.worst.shape[1]
  radii = min_eps.min_eps_of(min_eps.first_fooled_index(run.worst), eps_255)
  median = float(np.median(radii)) if n else math.inf
  rows = []
  for e, eps in enumerate(eps_255):
    correct = int(run.worst[e].sum())
    low, high = wilson_interval(correct, n)
    rows.append(dict(
        columns, eps=float(eps / 255.0), eps_255=float(eps),
        eps_radius=float(columns['eps_scale'] * eps / 255.0),
        accuracy=correct / n if n else 0.0, n=int(n), ci_low=low, ci_high=high,
        accuracy_single_eps=float(run.single[e].mean()) if n else 0.0,
        # Beyond the grid (more than half the images never fooled): None.
        median_min_eps_255=median if math.isfinite(median) else None,
        **per_class(run.worst[e], labels)))
  return rows


def strong_rows(at: np.ndarray, paper: np.ndarray, worst: np.ndarray, eps_255, labels,
                common: dict) -> list[dict]:
  """attack='strong' rows at the grid radii `at`, with how far each lies below
  the paper's L-inf ensemble: the share of images only the strong attack
  fooled, with its 95 % Wilson interval (a paired difference: the strong
  attack runs only on images the paper's attacks left correct)."""
  n = worst.shape[1]
  columns = dict(common, attack=strong.NAME, target='any', steps=0, norm='linf',
                 restarts=0, eps_scale=1.0)
  rows = []
  for e, paper_correct, correct_now in zip(at, paper, worst):
    eps = eps_255[e]
    correct = int(correct_now.sum())
    only_strong = int(np.sum(paper_correct & ~correct_now))
    low, high = wilson_interval(correct, n)
    gap_low, gap_high = wilson_interval(only_strong, n)
    rows.append(dict(
        columns, eps=float(eps / 255.0), eps_255=float(eps), eps_radius=float(eps / 255.0),
        accuracy=correct / n if n else 0.0, n=int(n), ci_low=low, ci_high=high,
        accuracy_single_eps=correct / n if n else 0.0, median_min_eps_255=None,
        below_paper=only_strong / n if n else 0.0, below_paper_ci_low=gap_low,
        below_paper_ci_high=gap_high, **per_class(correct_now, labels)))
  return rows


def per_class(correct: np.ndarray, labels: np.ndarray) -> dict:
  """{accuracy_class_<k>: accuracy on the attacked images of class k} (single-label)."""
  if labels.ndim != 1:
    return {}
  return {f'accuracy_class_{k}': float(correct[labels == k].mean())
          for k in np.unique(labels)}


def class_counts(labels: np.ndarray, num_classes: int, names) -> dict:
  """The attacked set's images per class (n_class_<k>) and the class names."""
  if labels.ndim != 1:
    return {}
  counts = np.bincount(labels, minlength=num_classes)
  return dict({f'n_class_{k}': int(counts[k]) for k in range(num_classes)},
              class_names='; '.join(names))


def clean_columns(metrics, fit: dict) -> dict:
  """The model's clean test metrics and fitness (None: not assessed), as row columns."""
  low, high = metrics.balanced_accuracy_ci
  columns = dict(
      balanced_accuracy=metrics.balanced_accuracy, balanced_accuracy_ci_low=low,
      balanced_accuracy_ci_high=high, auc=metrics.auc, chance=metrics.chance,
      majority_prediction_share=metrics.majority_prediction_share)
  if fit is not None:
    columns.update(fit=fit['fit'], fitness_reasons=fit['reasons'], val_rise=fit['val_rise'],
                   **{f'fitness_{name}': fit[name] for name in fitness.CHECKS})
  return columns
