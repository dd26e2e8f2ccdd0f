"""Claim statistics from per-image verdicts (per_image.json), paired across models.

Every model of one seed is attacked on the same images (`attack_subset` depends
on the seed only), so sizes, and the two training modes of a size, are
compared image by image: `paired_statistics.hierarchical_bootstrap` resamples
seeds, then images within each seed, jointly for every model of a comparison.
Three views of claim (a), each with that interval:
  headline     accuracy under the worst attack at eps (as the tables);
  matched set  the same, on the images every size of the mode gets right when
               clean, so a size's clean errors do not count as non-robustness;
  min-eps      each matched image's smallest fooling radius (log, censored at the
               grid's end), its median over images per size.
Cells finished before per_image.json held the worst case have no such data; the
callers fall back to `statistics` (per-model accuracies, unpaired) and say so.
"""

import dataclasses
from typing import Optional

import numpy as np

from medadv_jax.reporting.inputs import result_rows
from medadv_jax.reporting.statistics import paired_statistics as ps

# per_image.json labels of the per-image worst case, strongest first.
WORST_LABELS = ('Strong + paper attacks (per image)', 'Ensemble (per image)')


@dataclasses.dataclass(frozen=True, eq=False)
class Arm:
  """Per-image data of several models over the seeds all of them have."""
  sizes: tuple  # Size keys, in model order.
  params: tuple  # Parameter count per model.
  modes: tuple  # Train mode per model.
  paired: ps.Paired
  grid_max: float  # Largest grid radius (x 1/255).

  @property
  def n_seeds(self) -> int:
    return len(self.paired.min_eps)


def arm(rows, per_image: dict, models) -> Optional[Arm]:
  """The `Arm` of `models` ((size key, mode) pairs) from `per_image`
  (`per_image_data.load`), over the seeds of `rows` where every model has
  per-image worst-case data on the same images; None where no seed has."""
  seeds = sorted({r['seed'] for r in rows})
  min_eps, clean, grid_max = [], [], None
  for seed in seeds:
    found = [per_image.get((size, mode, seed)) for size, mode in models]
    label = _shared_label(found)
    if label is None or len({tuple(f['test_indices']) for f in found}) != 1:
      continue
    min_eps.append(np.array([[np.nan if r is None else r for r in f['min_eps_255'][label]]
                             for f in found], float))
    clean.append(np.array([f['clean_correct'] for f in found], bool))
    grid_max = float(found[0]['eps_255'][-1])
  if not min_eps:
    return None
  params = tuple(result_rows.first(rows, size, mode)['params'] for size, mode in models)
  return Arm(tuple(s for s, _ in models), params, tuple(m for _, m in models),
             ps.Paired(min_eps, clean), grid_max)


def _shared_label(found) -> Optional[str]:
  if any(f is None for f in found):
    return None
  for label in WORST_LABELS:
    if all(label in f['min_eps_255'] for f in found):
      return label
  return None


def size_arm(rows, per_image, mode) -> Optional[Arm]:
  """The sizes of `mode` in `rows`, fewest parameters first."""
  sizes = sorted({result_rows.size_key(r) for r in rows if r['train_mode'] == mode},
                 key=lambda s: result_rows.first(rows, s, mode)['params'])
  return arm(rows, per_image, [(s, mode) for s in sizes])


_UNDEFINED = ps.Estimate(float('nan'), float('nan'), float('nan'))


def _bootstrap(values, statistic, **bootstrap) -> ps.Estimate:
  """`hierarchical_bootstrap`, undefined (NaN) where a seed has no image left
  (e.g. an empty matched set)."""
  if not all(v.shape[1] for v in values):
    return _UNDEFINED
  return ps.hierarchical_bootstrap(values, statistic, **bootstrap)


def _accuracies(a: Arm, eps: float, matched: bool) -> list:
  values = ps.correct_per_seed(a.paired, eps)
  return ps.restrict(values, ps.matched_set(a.paired.clean_correct)) if matched else values


def spearman(a: Arm, eps: float, matched: bool = False, **bootstrap) -> ps.Estimate:
  """Rho of parameter count with accuracy at `eps` (on the matched set)."""
  return _bootstrap(_accuracies(a, eps, matched), ps.spearman_with(a.params), **bootstrap)


def difference(a: Arm, eps: float, i: int, j: int, matched: bool = False,
               **bootstrap) -> ps.Estimate:
  """Accuracy of model i minus model j at `eps` (on the matched set), paired over
  images and seeds."""
  return _bootstrap(_accuracies(a, eps, matched), ps.difference(i, j), **bootstrap)


def min_eps_spearman(a: Arm, **bootstrap) -> ps.Estimate:
  """Rho of parameter count with the median log fooling radius on the matched set."""
  return _bootstrap(ps.matched_log_radii(a.paired, a.grid_max), ps.spearman_with(a.params),
                    reduce='median', **bootstrap)


def min_eps_difference(a: Arm, i: int, j: int, reduce: str = 'median',
                       **bootstrap) -> ps.Estimate:
  """Median (or mean) log fooling radius of model i minus model j, matched set."""
  return _bootstrap(ps.matched_log_radii(a.paired, a.grid_max), ps.difference(i, j),
                    reduce=reduce, **bootstrap)
