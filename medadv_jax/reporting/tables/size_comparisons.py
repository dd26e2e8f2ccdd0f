"""Descriptive size and training comparisons beside the planned analysis, per
radius: Spearman's rho of size with worst-attack accuracy (a value, no interval),
largest minus smallest size and a trained mode minus standard, each with a 95 %
paired interval (`statistics.paired_difference`): a t-interval over seeds, or
with one seed Newcombe's paired interval over its images. No verdict words:
verdicts come from `claims/` alone."""

import math

import numpy as np
from scipy import stats

from medadv_jax.reporting.inputs import result_rows
from medadv_jax.reporting.statistics import image_verdicts, paired_difference


def mode_sizes(rows, mode) -> list:
  """The size keys trained in `mode` among `rows`, fewest parameters first."""
  return result_rows.sizes_by_params([r for r in rows if r['train_mode'] == mode])


def size_spearman(rows, seeds, mode, eps_list) -> dict:
  """{eps_255: rho}: parameter count vs worst-attack accuracy (its mean over
  `seeds`: `worst_attack.seed_accuracies`) over `mode`'s sizes; NaN where either
  side is constant. A description only: rho ignores how large the gaps are."""
  sizes = mode_sizes(rows, mode)
  params = [result_rows.first(rows, s, mode)['params'] for s in sizes]
  out = {}
  for e in eps_list:
    means = [float(np.mean(list(seeds[(s, mode, e)].values()))) for s in sizes]
    constant = len(set(means)) < 2 or len(set(params)) < 2
    out[e] = math.nan if constant else float(stats.spearmanr(params, means).statistic)
  return out


def difference(seeds: dict, per_image, a, b, eps) -> paired_difference.Difference:
  """Worst-attack accuracy of model `a` minus `b` ((size key, mode) pairs) at `eps`,
  paired by seed (`seeds`: `worst_attack.seed_accuracies`), by image with one seed."""
  return paired_difference.over_seeds(
      seeds.get((*a, eps), {}), seeds.get((*b, eps), {}),
      lambda seed: image_verdicts.worst_case(per_image or {}, (a, b), seed, eps))


def size_difference(rows, seeds, mode, eps_list, per_image=None) -> dict:
  """{eps_255: Difference}: `mode`'s largest size (by parameters) minus its smallest."""
  sizes = mode_sizes(rows, mode)
  return {e: difference(seeds, per_image, (sizes[-1], mode), (sizes[0], mode), e)
          for e in eps_list}


def training_gains(rows, seeds, mode, eps_list, baseline='standard', per_image=None) -> dict:
  """{(size, eps_255): Difference}: worst-attack accuracy of `mode` minus `baseline`,
  for the sizes trained both ways (the two modes of a seed attack the same images)."""
  return {(size, e): difference(seeds, per_image, (size, mode), (size, baseline), e)
          for size in result_rows.sizes(rows)
          if (size, mode, eps_list[0]) in seeds and (size, baseline, eps_list[0]) in seeds
          for e in eps_list}


def difference_table_lines(rows, seeds, mode, headline, per_image=None) -> list[str]:
  """Largest-minus-smallest size differences of `mode` per radius."""
  sizes = mode_sizes(rows, mode)
  label = lambda s: result_rows.size_label(result_rows.first(rows, s, mode))
  found = size_difference(rows, seeds, mode, headline, per_image)
  lines = [f'Worst-attack accuracy of {label(sizes[-1])} minus {label(sizes[0])} '
           f'({mode} training), each seed\'s difference taken on its own images (both '
           'models are attacked on the same ones).', '',
           '| eps | difference | 95 % | half-width | seeds |', '|---:|---:|---|---:|---:|']
  for e in headline:
    d = found[e]
    half = 'n/a' if math.isnan(d.low) else f'{(d.high - d.low) / 2:.3f}'
    lines.append(f'| {e:g} | {d.estimate:+.3f} | {paired_difference.interval_text(d, 3)} | '
                 f'{half} | {d.seeds} |')
  return lines
