"""summary.csv: accuracy as mean +- std over seeds, per model size x training mode x
attack x eps, with the model's size and clean test accuracy alongside.

The std is the sample std over seeds (ddof = 1). With a single seed there is no
spread to estimate, and 0 would claim one, so the std is None: an empty CSV cell
(missing, not zero, for numeric readers) and no '+-' part in the report's table.
`n_seeds` says how many seeds each mean is over. On single-label tasks
`accuracy_class_<k>_mean` is the mean over seeds of the accuracy on the attacked
images of class k (their counts: results.csv's n_class_<k>), since on imbalanced
data the overall accuracy can hide a class the model never gets right.
"""

import collections
import csv
import pathlib
from typing import Optional, Sequence

import numpy as np

from medadv_jax import atomic_files, cell_data
from medadv_jax.reporting.inputs import result_rows
from medadv_jax.reporting.statistics import worst_attack

COLUMNS = ('dataset', 'model', 'width', 'depth', 'params', 'flops', 'train_mode', 'attack',
           'norm', 'eps_255', 'n_seeds', 'accuracy_mean', 'accuracy_std', 'n',
           'clean_test_accuracy_mean', 'clean_test_accuracy_std')


def mean_std(values: Sequence[float]) -> tuple[float, Optional[float]]:
  """(mean, sample std with ddof 1), the std None for fewer than two values."""
  values = np.asarray(values, float)
  std = float(np.std(values, ddof=1)) if values.size > 1 else None
  return float(np.mean(values)), std


def format_mean_std(values: Sequence[float], digits: int = 3) -> str:
  """'0.700 ± 0.141' over several seeds, '0.700' for one (no spread to show)."""
  mean, std = mean_std(values)
  return f'{mean:.{digits}f}' if std is None else f'{mean:.{digits}f} ± {std:.{digits}f}'


def summarise(rows) -> list[dict]:
  """One dict per (size, train mode, attack label, eps_255) with the COLUMNS.

  `attack` is the attack's label (`cell_data.attack_label`, e.g. 'PGD-20,
  untargeted' or 'Ensemble (per image)'); rows are ordered by size, mode,
  attack (ensembles last) and eps.
  """
  accuracies = collections.defaultdict(dict)
  by_class = collections.defaultdict(lambda: collections.defaultdict(dict))
  firsts, order = {}, {}
  for r in rows:
    label = cell_data.attack_label(r)
    key = (result_rows.size_key(r), r['train_mode'], label, r['eps_255'])
    # Keyed by seed, so a row repeated in the input cannot count twice.
    accuracies[key][r['seed']] = float(r['accuracy'])
    for column in _class_columns(r):
      by_class[key][column][r['seed']] = float(r[column])
    firsts.setdefault(key, r)
    order[label] = (result_rows.is_ensemble(r), not result_rows.is_linf(r), label)
  clean = {}
  out = []
  for key in sorted(accuracies, key=lambda k: (k[0], result_rows.mode_rank(k[1]),
                                               order[k[2]], k[3])):
    size, mode, label, eps = key
    r = firsts[key]
    mean, std = mean_std(list(accuracies[key].values()))
    if (size, mode) not in clean:
      clean[(size, mode)] = mean_std(result_rows.per_seed(rows, size, mode,
                                                       'clean_test_accuracy'))
    clean_mean, clean_std = clean[(size, mode)]
    out.append(dict(
        dataset=r['dataset'], model=r['model'], width=r['width'], depth=r.get('depth'),
        params=r['params'], flops=r['flops'], train_mode=mode, attack=label,
        norm=r['norm'], eps_255=eps, n_seeds=len(accuracies[key]),
        accuracy_mean=mean, accuracy_std=std, n=r['n'],
        clean_test_accuracy_mean=clean_mean, clean_test_accuracy_std=clean_std,
        **{f'{column}_mean': float(np.mean(list(values.values())))
           for column, values in sorted(by_class[key].items())}))
  return out


def _class_columns(row) -> list[str]:
  return [c for c in row if c.startswith('accuracy_class_') and row[c] not in (None, '')]


def write_csv(summary, path: pathlib.Path) -> None:
  """Writes `summarise`'s dicts; None (one seed's std, no depth) as an empty cell."""
  with atomic_files.atomic_path(path) as tmp, open(tmp, 'w', newline='') as f:
    extra = sorted({c for row in summary for c in row} - set(COLUMNS),
                   key=lambda c: (len(c), c))  # accuracy_class_2 before _10.
    writer = csv.DictWriter(f, fieldnames=list(COLUMNS) + extra)
    writer.writeheader()
    writer.writerows(summary)


def markdown_lines(rows, modes, headline) -> list[str]:
  """The report's section: per size and mode, clean and worst-attack accuracy at the
  headline radii as mean +- std over seeds (summary.csv has every attack and eps)."""
  worst = worst_attack.worst_attack_accuracy(rows)
  seeds = max(len(v[3]) for v in worst.values())
  lines = [f'Mean ± std over seeds (std with ddof 1; up to {seeds} seed(s) per model; '
           'one seed shows the value alone, as there is no spread to estimate). '
           'Worst-attack accuracy at each eps (x 1/255); `summary.csv` has every attack '
           'and eps, its `accuracy_std` empty for one seed.', '',
           '| model | train mode | params | MFLOPs | seeds | clean test acc. | '
           + ' | '.join(f'{e:g}' for e in headline) + ' |',
           '|---|---|---:|---:|---:|---:|' + '---:|' * len(headline)]
  for size in result_rows.sizes_by_params(rows):
    for mode in modes:
      if not any(result_rows.size_key(r) == size and r['train_mode'] == mode for r in rows):
        continue
      r = result_rows.first(rows, size, mode)
      clean = result_rows.per_seed(rows, size, mode, 'clean_test_accuracy')
      cells = [format_mean_std(worst[(size, mode, e)][3]) if (size, mode, e) in worst
               else '-' for e in headline]
      lines.append(f'| {result_rows.size_label(r)} | {mode} | {r["params"]:,} | '
                   f'{r["flops"] / 1e6:.2f} | {len(clean)} | {format_mean_std(clean)} | '
                   + ' | '.join(cells) + ' |')
  return lines
