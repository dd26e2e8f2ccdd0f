"""The per-image worst case of every L-inf attack per size, mode and radius, with
its interval over seeds (the report's and figures' headline number)."""

import collections

from medadv_jax.reporting.inputs import result_rows
from medadv_jax.reporting.statistics import size_slope


def seed_rows(rows) -> dict:
  """{(size, mode, eps_255): {seed: row}}: per seed, the row of the per-image worst
  case of every L-inf attack run where the rows have one (the strong attack's rows
  at its radii, which include the paper attacks' ensemble; the ensemble
  elsewhere), else of the lowest-accuracy attack."""
  by_cell = collections.defaultdict(list)
  for r in rows:
    if result_rows.is_linf(r):
      by_cell[(result_rows.size_key(r), r['train_mode'], r['eps_255'], r['seed'])].append(r)
  out = collections.defaultdict(dict)
  for (size, mode, eps, seed), candidates in by_cell.items():
    ensemble = [r for r in candidates if result_rows.is_ensemble(r)]
    out[(size, mode, eps)][seed] = min(ensemble or candidates, key=lambda r: r['accuracy'])
  return dict(out)


def seed_accuracies(rows) -> dict:
  """{(size, mode, eps_255): {seed: worst-attack accuracy}} (see `seed_rows`)."""
  return {key: {seed: float(r['accuracy']) for seed, r in by_seed.items()}
          for key, by_seed in seed_rows(rows).items()}


def worst_attack_accuracy(rows):
  """{(size, mode, eps_255): (accuracy, ci_low, ci_high, per-seed accuracies in seed
  order)} of the worst case of `seed_rows`. The accuracy is the mean over seeds;
  the interval is the 95 % Wilson interval on the n images with one seed, else
  the 95 % t-interval of the mean over seeds (the seeds are the replicates; each
  seed's accuracy carries its own images' noise), clipped to [0, 1]."""
  out = {}
  for key, by_seed in seed_rows(rows).items():
    found = [by_seed[s] for s in sorted(by_seed)]
    accuracies = [float(r['accuracy']) for r in found]
    if len(found) == 1:
      interval = (accuracies[0], found[0]['ci_low'], found[0]['ci_high'])
    else:  # Averaging per-seed Wilson bounds would be no interval of the mean.
      mean, low, high = (float(v) for v in size_slope.t_interval(accuracies))
      interval = (mean, max(low, 0.0), min(high, 1.0))
    out[key] = (*interval, accuracies)
  return out
