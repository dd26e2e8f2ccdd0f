"""Descriptive size and training comparisons beside the planned analysis:
Spearman's rho of size with worst-attack accuracy, largest minus smallest size
and adversarial minus standard training per radius, each with a 95 % bootstrap
interval, paired over images and seeds where per_image.json covers the models.
They carry no verdict words: verdicts come from `analysis/` alone.
"""

from typing import Optional

import numpy as np

from medadv_jax.reporting.inputs import result_rows
from medadv_jax.reporting.statistics import bootstrap, paired_analysis, paired_statistics


def mode_sizes(rows, mode) -> list:
  """The size keys trained in `mode` among `rows`, smallest first."""
  return sorted({result_rows.size_key(r) for r in rows if r['train_mode'] == mode})


def paired_arm(rows, per_image, mode) -> Optional[paired_analysis.Arm]:
  """`mode`'s sizes with per-image data for all of them in some seed, else None."""
  arm = paired_analysis.size_arm(rows, per_image or {}, mode)
  return arm if arm is not None and len(arm.sizes) == len(mode_sizes(rows, mode)) else None


def size_spearman(rows, worst, mode, eps_list, per_image=None) -> dict:
  """{eps_255: (rho, low, high)}: parameter count vs worst-attack accuracy of `mode`,
  over the sizes trained in that mode; NaN where undefined (see statistics).
  Paired over images and seeds when `per_image` (`per_image_data.load`) covers
  every size, else per-model accuracies redrawn independently."""
  arm = paired_arm(rows, per_image, mode)
  if arm is not None:
    return {e: tuple(paired_analysis.spearman(arm, e)) for e in eps_list}
  sizes = [s for s in result_rows.sizes(rows) if (s, mode, eps_list[0]) in worst]
  params = [result_rows.first(rows, s)['params'] for s in sizes]
  n = result_rows.first(rows, sizes[0])['n']
  return {e: bootstrap.bootstrap_spearman(params, [worst[(s, mode, e)][3] for s in sizes], n)
          for e in eps_list}


def size_difference(rows, worst, mode, eps_list, per_image=None) -> dict:
  """{eps_255: (difference, low, high)}: worst-attack accuracy of `mode`'s largest
  size (by parameters) minus its smallest, paired where `per_image` covers them."""
  arm = paired_arm(rows, per_image, mode)
  if arm is not None:
    return {e: tuple(paired_analysis.difference(arm, e, len(arm.sizes) - 1, 0))
            for e in eps_list}
  sizes = sorted(mode_sizes(rows, mode), key=lambda s: result_rows.first(rows, s, mode)['params'])
  n = result_rows.first(rows, sizes[0], mode)['n']
  return {e: bootstrap.bootstrap_difference(worst[(sizes[-1], mode, e)][3],
                                             worst[(sizes[0], mode, e)][3], n)
          for e in eps_list}


def training_gains(rows, worst, mode, eps_list, baseline='standard', per_image=None) -> dict:
  """{(size, eps_255): (gain, low, high)}: worst-attack accuracy of `mode` minus that of
  `baseline`, for the sizes trained both ways; paired over images and seeds where
  `per_image` covers both (the two modes of a seed attack the same images)."""
  out = {}
  for size in result_rows.sizes(rows):
    if (size, mode, eps_list[0]) in worst and (size, baseline, eps_list[0]) in worst:
      arm = paired_analysis.arm(rows, per_image or {}, [(size, baseline), (size, mode)])
      if arm is not None:
        for e in eps_list:
          out[(size, e)] = tuple(paired_analysis.difference(arm, e, 1, 0))
        continue
      n = result_rows.first(rows, size)['n']
      for e in eps_list:
        out[(size, e)] = bootstrap.bootstrap_difference(
            worst[(size, mode, e)][3], worst[(size, baseline, e)][3], n)
  return out


def difference_table_lines(rows, arm, headline) -> list[str]:
  """Largest-minus-smallest size differences, paired and unpaired, per radius."""
  largest, smallest = len(arm.sizes) - 1, 0
  label = lambda i: result_rows.size_label(result_rows.first(rows, arm.sizes[i], arm.modes[i]))
  lines = [f'Worst-attack accuracy of {label(largest)} minus {label(smallest)} '
           f'({arm.modes[0]} training, {arm.n_seeds} seed{"s" if arm.n_seeds > 1 else ""}),'
           ' with the 95 % interval paired over images and seeds (both models attacked on '
           'the same images) beside the unpaired one (each accuracy redrawn alone): the '
           'paired one is the right one here.', '',
           '| eps | difference | paired 95 % | half-width | unpaired 95 % | half-width |',
           '|---:|---:|---|---:|---|---:|']
  n = int(result_rows.first(rows, arm.sizes[0], arm.modes[0])['n'])
  for e in headline:
    paired = paired_analysis.difference(arm, e, largest, smallest)
    per_seed = [[float(np.mean(paired_statistics.correct_at(m[i], e))) for m in
                 arm.paired.min_eps] for i in (largest, smallest)]
    unpaired = bootstrap.bootstrap_difference(per_seed[0], per_seed[1], n)
    lines.append(f'| {e:g} | {paired.estimate:+.3f} | [{paired.low:+.3f}, {paired.high:+.3f}]'
                 f' | {(paired.high - paired.low) / 2:.3f} | [{unpaired[1]:+.3f}, '
                 f'{unpaired[2]:+.3f}] | {(unpaired[2] - unpaired[1]) / 2:.3f} |')
  return lines
