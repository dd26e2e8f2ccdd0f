"""Model fitness: constant and chance-level classifiers are flagged and kept out of
every verdict; a weak but real model is not; the whole-box check fails a
constant model."""

import jax.numpy as jnp
import numpy as np
import pytest

import medadv_jax
from medadv_jax.evaluation import clean_metrics, fitness
from medadv_jax.reporting import report
from medadv_jax.reporting.claims import analysis
from training_helpers import default_config

import analysis_fixtures

FITNESS = default_config().fitness


def _logits_for(predicted, k, rng):
  """Logits whose argmax is `predicted`, with some spread in the other scores."""
  logits = rng.normal(0, 0.1, (predicted.size, k))
  logits[np.arange(predicted.size), predicted] += 2.0
  return logits


def test_balanced_accuracy_and_auc_on_a_worked_example():
  labels = np.array([0, 0, 0, 0, 1, 1])
  # Class 0: 3 of 4 right; class 1: 1 of 2 right.
  logits = np.array([[2, 0], [2, 0], [2, 0], [0, 1], [0, 3], [1, 0]], float)
  m = clean_metrics.from_logits(logits, labels)
  assert m.accuracy == pytest.approx(4 / 6)
  assert m.balanced_accuracy == pytest.approx((3 / 4 + 1 / 2) / 2)
  # Class-1 softmax scores rise with logit1 - logit0: positives at +3 and -1,
  # negatives at -2, -2, -2, +1: the +3 beats all four, the -1 beats three.
  assert m.auc == pytest.approx(7 / 8)
  assert m.predicted_counts == (4, 2) and m.majority_prediction_share == pytest.approx(4 / 6)
  assert m.balanced_accuracy_ci[0] <= m.balanced_accuracy <= m.balanced_accuracy_ci[1]


def test_a_constant_classifier_is_flagged_one_class_and_chance():
  # BreastMNIST's test set: 42 malignant, 114 benign; always 'benign'.
  labels = np.array([0] * 42 + [1] * 114)
  m = clean_metrics.from_logits(np.tile([0.0, 1.0], (labels.size, 1)), labels)
  assert m.accuracy == pytest.approx(114 / 156) and m.balanced_accuracy == 0.5
  assert m.auc == pytest.approx(0.5)  # Every score tied.
  verdict = fitness.assess(m, [0.7, 0.73, 0.73], 'early_stopping', FITNESS)
  assert verdict['fit'] is False and verdict['one_class'] and verdict['chance']
  assert 'one class takes 100%' in verdict['reasons']


def test_a_chance_level_classifier_is_flagged_even_with_spread_predictions():
  rng = np.random.default_rng(0)
  labels = rng.integers(0, 5, 400)
  m = clean_metrics.from_logits(_logits_for(rng.integers(0, 5, 400), 5, rng), labels)
  assert m.majority_prediction_share < 0.5  # Not one class ...
  verdict = fitness.assess(m, [0.2, 0.22, 0.21], 'early_stopping', FITNESS)
  assert verdict['fit'] is False and verdict['chance'] and not verdict['one_class']


def test_a_weak_but_real_model_on_a_hard_five_class_task_is_fit():
  # RetinaMNIST-like: majority class 43.5 %; the model is right on 60 % of class 0
  # (else a random other grade) and 35 % of the rarer grades (else grade 0).
  rng = np.random.default_rng(1)
  labels = np.repeat(np.arange(5), [174, 46, 92, 68, 20])
  right = rng.random(labels.size) < np.where(labels == 0, 0.6, 0.35)
  wrong = np.where(labels == 0, rng.integers(1, 5, labels.size), 0)
  predicted = np.where(right, labels, wrong)
  m = clean_metrics.from_logits(_logits_for(predicted, 5, rng), labels)
  # Accuracy near the majority share, as MedMNIST's own 28 px baselines.
  assert 0.4 < m.accuracy < 0.55 and m.majority_prediction_share < 0.95
  assert 0.3 < m.balanced_accuracy < 0.5
  verdict = fitness.assess(m, [0.3, 0.4, 0.45, 0.45, 0.44], 'early_stopping', FITNESS)
  assert verdict['fit'] is True and verdict['reasons'] == ''


def test_under_training_is_a_rise_at_the_cap_not_a_late_best_after_early_stopping():
  m = clean_metrics.from_logits(np.array([[2.0, 0], [0, 2.0]] * 50), np.array([0, 1] * 50))
  rising = [0.74, 0.74, 0.77, 0.79, 0.80, 0.83]  # Means of the last 2 and 2 before.
  assert fitness.still_rising(rising, 0.25) == pytest.approx(0.815 - 0.78)
  assert fitness.assess(m, rising, 'max_steps', FITNESS)['under_trained'] is True
  assert fitness.assess(m, rising, 'early_stopping', FITNESS)['under_trained'] is False
  flat = [0.74, 0.80, 0.83, 0.84, 0.82, 0.845]  # Noise, not a rise: a late best.
  assert fitness.assess(m, flat, 'epochs', FITNESS)['fit'] is True
  assert fitness.assess(m, [0.8], 'epochs', FITNESS)['under_trained'] is None


def _claim_rows(unfit_ranks=(), constant_accuracy=0.7, seeds=range(5)):
  """Ensemble rows of 4 standard sizes and 5 seeds: fit models are equally robust
  up to seed noise; `unfit_ranks` are constant models whose accuracy at every
  radius is the majority share (so they look robust)."""
  rows = []
  widths = {0.125: 500, 0.25: 2_000, 0.5: 8_000, 1.0: 30_000}
  for seed in seeds:
    for rank, (width, params) in enumerate(widths.items()):
      unfit = rank in unfit_ranks
      for e in (0.0, 1.0, 2.0, 4.0):
        acc = constant_accuracy if unfit else (0.9 if e == 0 else
                                               0.30 + 0.01 * ((seed + rank) % 3 - 1))
        rows.append(dict(
            dataset='toy', model='cnn', width=width, depth=None, params=params,
            flops=10.0 * params, train_mode='standard', seed=seed, attack='ensemble',
            target='any', steps=0, norm='linf', eps=e / 255, eps_255=e, accuracy=acc,
            n=1000, ci_low=acc - 0.02, ci_high=acc + 0.02, accuracy_single_eps=acc,
            clean_test_accuracy=0.73 if unfit else 0.9, clean_test_n=1000,
            balanced_accuracy=0.5 if unfit else 0.85, auc=0.5 if unfit else 0.9,
            fit=not unfit, fitness_reasons='one class takes 100% of its predictions'
            if unfit else '', epochs_run=10, stop_reason='early_stopping'))
  return rows


def _claim_a(rows):
  plan = analysis_fixtures.plan()
  text = report.render_report(rows, analysis=analysis.analyse(rows, {}, plan))
  section = text.split('## Agreement with the paper')[1].split('\n- (b)')[0]
  return text, section[section.index('- (a)'):]


def test_constant_models_are_out_of_the_primary_analysis_and_counted_as_failures():
  # Without fitness the two small constant models make "smaller is more robust" agree.
  unchecked = [{k: v for k, v in r.items() if k != 'fit'} for r in _claim_rows((0, 1))]
  assert '**agrees**' in _claim_a(unchecked)[1].splitlines()[0]
  # Two of four flagged in every seed: no seed keeps 3 fit sizes, no verdict; the
  # sensitivity row (flagged in) agrees, and the failures are the result.
  text, claim = _claim_a(_claim_rows((0, 1)))
  assert '**no verdict: 0 seeds, the plan needs 5**' in claim.splitlines()[0]
  assert 'Sensitivity, flagged models in:' in claim and 'seeds: agrees.' in claim
  assert 'cnn w=0.125 5/5 [0.48, 1.00]; cnn w=0.25 5/5 [0.48, 1.00]; cnn w=0.5 0/5' in claim
  fitness_section = text.split('## Are the models fit to attack?')[1].split('\n## ')[0]
  assert fitness_section.count('**no**: one class takes 100%') == 10
  # One flagged: the primary analysis rests on the 3 fit sizes (equal: no agreement).
  claim = _claim_a(_claim_rows((0,)))[1].splitlines()[0]
  assert '**agrees**' not in claim and 'over 5 seeds' in claim


class _Constant:
  """Predicts class 1 whatever the image (no gradient to follow)."""

  def __call__(self, variables, images):
    return jnp.zeros((images.shape[0], 2)) + variables['bias']


class _Brightness:
  """Separates the classes by mean brightness: any image can be moved across."""

  def __call__(self, variables, images):
    score = variables['scale'] * (images.mean(axis=(1, 2, 3)) - 0.5)
    return jnp.stack([-score, score], axis=1)


@pytest.fixture(scope='module')
def whole_box_rows():
  rng = np.random.default_rng(0)
  labels = np.array([0, 1] * 16)
  images = np.clip(rng.uniform(0, 0.4, (32, 6, 6, 1)) + 0.4 * labels[:, None, None, None],
                   0, 1).astype(np.float32)
  config = default_config('smoke').attack
  config.eps_255 = (0.0, 2.0, 8.0)
  config.names = ('fgsm', 'pgd')
  config.targets = ('untargeted',)
  config.sanity.more_steps_eps_255 = ()
  config.strong.eps_255 = ()
  return {name: medadv_jax.evaluate_robustness(
      apply_fn, variables, images, labels, config, fitness_config=FITNESS)
          for name, apply_fn, variables in (
              ('constant', _Constant(), {'bias': jnp.array([0.0, 2.0])}),
              ('brightness', _Brightness(), {'scale': jnp.array(20.0)}))}


def test_the_whole_box_check_fails_a_constant_model_and_passes_a_separating_one(
    whole_box_rows):
  constant, separating = whole_box_rows['constant'][0], whole_box_rows['brightness'][0]
  # The constant model keeps its class-1 images at 255/255: accuracy 0.5, the
  # majority share the old check allowed, far above the tolerance.
  assert constant['sanity_large_eps'] is False
  assert constant['sanity_large_eps_value'] == pytest.approx(0.5)
  assert separating['sanity_large_eps'] is True and separating['sanity_large_eps_value'] == 0
  assert constant['fit'] is False and constant['fitness_one_class'] is True
  assert separating['fit'] is True and separating['balanced_accuracy'] > 0.9


def test_the_report_gives_the_attacked_sets_class_counts_and_balanced_metrics():
  rows = _claim_rows(seeds=(0,))
  for r in rows:
    r.update(n_class_0=42, n_class_1=100, class_names='malignant; normal, benign')
  text = report.render_report(rows)
  assert 'Attacked images per class: malignant 42; normal, benign 100.' in text
  sizes = text.split('## Model sizes and clean accuracy')[1].split('\n## ')[0]
  assert '| 0.900 | 0.850 | 0.900 |' in sizes  # Clean, balanced accuracy, AUC.


def test_a_model_the_strong_attack_cannot_fool_at_the_whole_box_masks_gradients():
  fit = {'fit': True, 'reasons': '', 'one_class': False, 'chance': False,
         'under_trained': None, 'masks_gradients': None, 'val_rise': None}
  flagged = fitness.with_masking(fit, 0.25, 0.03)
  assert flagged['fit'] is False and flagged['masks_gradients'] is True
  assert flagged['reasons'].startswith('masks gradients') and '25%' in flagged['reasons']
  assert fit['fit'] is True  # The input is not changed.
  passed = fitness.with_masking(fit, 0.03, 0.03)
  assert passed['fit'] is True and passed['masks_gradients'] is False
  assert fitness.with_masking(fit, None, 0.03) is fit  # Not measured: not applicable.
  assert fitness.with_masking(None, 0.5, 0.03) is None  # Not assessed stays so.
