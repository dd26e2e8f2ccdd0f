"""Evaluates one trained model: clean accuracy and each attack over the eps grid."""

import jax
import numpy as np
from absl import logging

from medadv_jax.attacks import eps_grid, linf
from medadv_jax.data.dataset import attack_subset
from medadv_jax.evaluation.eval_apply import EvalApply
from medadv_jax.reporting.stats import wilson_interval


def attack_specs(attack_config) -> list[linf.LinfAttack]:
  """Every (attack, target) pair the config asks for, FGSM with its fixed options."""
  specs = []
  for name in attack_config.names:
    for target in attack_config.targets:
      if name == 'fgsm':
        specs.append(linf.LinfAttack('fgsm', target, steps=1, step_size_frac=1.0,
                                     random_start=False))
      else:
        specs.append(linf.LinfAttack(name, target, steps=attack_config.pgd_steps,
                                     step_size_frac=attack_config.pgd_step_size_frac,
                                     random_start=attack_config.random_start))
  return specs


def evaluate_model(model, variables, dataset, config, seed: int) -> list[dict]:
  """Rows of (attack, eps, accuracy, n, 95 % Wilson interval) for one model.

  The reported accuracy at eps is the worst case over every radius up to eps
  (see `eps_grid.worst_case_so_far`); `accuracy_single_eps` is the attack run
  at that radius alone.
  """
  apply_fn = EvalApply(model)
  batch = config.attack.max_images_per_program
  test_predictions = eps_grid.predict(apply_fn, variables, dataset.test_images, batch)
  clean_test_accuracy = float(np.mean(test_predictions == dataset.test_labels))
  subset = attack_subset(dataset.test_labels, config.data.attack_per_class, seed)
  images, labels = dataset.test_images[subset], dataset.test_labels[subset]
  eps_255 = np.asarray(config.attack.eps_255, np.float64)
  rows = []
  for spec_index, spec in enumerate(attack_specs(config.attack)):
    key = jax.random.fold_in(jax.random.key(seed), spec_index)
    single = eps_grid.evaluate_over_eps(spec, apply_fn, variables, images, labels,
                                        (eps_255 / 255.0).astype(np.float32), key, batch)
    worst = eps_grid.worst_case_so_far(single)
    for e, eps in enumerate(eps_255):
      correct = int(worst[e].sum())
      low, high = wilson_interval(correct, labels.size)
      rows.append({
          'attack': spec.name, 'target': spec.target, 'steps': spec.steps,
          'eps': float(eps / 255.0), 'eps_255': float(eps),
          'accuracy': correct / labels.size, 'n': int(labels.size),
          'ci_low': low, 'ci_high': high,
          'accuracy_single_eps': float(single[e].mean()),
          'clean_test_accuracy': clean_test_accuracy,
      })
    logging.info('  %s/%s: accuracy %.3f at eps 0 -> %.3f at eps %g/255',
                 spec.name, spec.target, rows[-len(eps_255)]['accuracy'],
                 rows[-1]['accuracy'], eps_255[-1])
  return rows
