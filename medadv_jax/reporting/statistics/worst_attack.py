"""The per-image worst case of every L-inf attack per size, mode and radius, with
its interval over seeds and images (the report's and figures' headline number)."""

import collections

from medadv_jax.reporting.inputs import result_rows
from medadv_jax.reporting.statistics import bootstrap


def worst_attack_accuracy(rows):
  """{(size, mode, eps_255): (accuracy, ci_low, ci_high, per-seed accuracies)} of the
  per-image worst case of every L-inf attack run where the rows have one (the
  strong attack's rows at its radii, which include the paper attacks'
  ensemble; the ensemble elsewhere), else of the lowest-accuracy attack. The accuracy is the mean over seeds; the interval is the
  95 % Wilson interval on the n images with one seed, else a 95 % bootstrap
  interval of the seed mean over seeds and images (`bootstrap.bootstrap_mean`)."""
  by_cell = collections.defaultdict(list)
  for r in rows:
    if result_rows.is_linf(r):
      by_cell[(result_rows.size_key(r), r['train_mode'], r['eps_255'], r['seed'])].append(r)
  seeds = collections.defaultdict(list)
  for (size, mode, eps, _), candidates in by_cell.items():
    ensemble = [r for r in candidates if result_rows.is_ensemble(r)]
    lowest = min(ensemble or candidates, key=lambda r: r['accuracy'])
    seeds[(size, mode, eps)].append(
        (lowest['accuracy'], lowest['ci_low'], lowest['ci_high'], lowest['n']))
  out = {}
  for key, values in seeds.items():
    accuracies = [v[0] for v in values]
    if len(values) == 1:
      interval = values[0][:3]
    else:  # Averaging per-seed Wilson bounds would be no interval of the mean.
      interval = bootstrap.bootstrap_mean(accuracies, int(values[0][3]))
    # The per-seed accuracies ride along for the bootstrap statistics.
    out[key] = (*interval, accuracies)
  return out
