"""Which models may enter a verdict (`evaluation.fitness`), as the report shows it.

Rows of cells finished before fitness was assessed have no `fit` column; they
count as fit, and the report says their fitness was not checked.
"""

import math

from medadv_jax.reporting.inputs import result_rows

def is_fit(row) -> bool:
  return result_rows.truth(row.get('fit')) is not False


def fit_rows(rows) -> list:
  """The rows of models fit to enter a verdict."""
  return [r for r in rows if is_fit(r)]


def fit_only(rows, per_image: dict) -> tuple[list, dict]:
  """(rows, per_image) of the models fit to enter a verdict."""
  fit = fit_rows(rows)
  fit_models = models(fit)
  return fit, {k: v for k, v in per_image.items() if k in fit_models}


def models(rows) -> dict:
  """{(size key, mode, seed): first row} of each model."""
  out = {}
  for r in rows:
    out.setdefault((result_rows.size_key(r), r['train_mode'], r['seed']), r)
  return out


def section_lines(rows, modes) -> list[str]:
  """The report's fitness section: one line per model with its measures and flags."""
  found = models(rows)
  if not any('fit' in r for r in found.values()):
    return ['Not assessed: these cells were finished before fitness was checked; every '
            'model enters the verdicts.']
  first = next(r for r in found.values() if 'fit' in r)
  flagged = sum(not is_fit(r) for r in found.values())
  lines = [f'{flagged} of {len(found)} models are flagged: left out of every '
           'difference and descriptive Spearman column below and of the plan\'s primary '
           'analysis, which counts them as failures (its sensitivity row puts them back; they stay in the '
           'tables). A model '
           'is flagged when one class takes nearly all of its test predictions, when the '
           '95 % interval of its balanced accuracy (mean recall per class, images '
           f'resampled within each class) does not clear chance ({_number(first, "chance")}'
           ' for this task) by the configured margin, or when its validation score was '
           'still rising when training reached its length cap (under-trained), or when '
           'the strong attack leaves images unfooled at 255/255 (it masks gradients). AUC is '
           'one-vs-rest, averaged over classes, as MedMNIST reports it.', '',
           '| model | train mode | seed | clean acc. | balanced acc. [95 %] | AUC | '
           'most predicted class | epochs (stop) | fit |',
           '|---|---|---|---:|---:|---:|---:|---|---|']
  for (size, mode, seed), r in sorted(found.items(), key=lambda kv: (
      kv[0][0], result_rows.mode_rank(kv[0][1]), kv[0][2])):
    if mode not in modes:
      continue
    verdict = 'yes' if is_fit(r) else f'**no**: {r.get("fitness_reasons")}'
    if 'fit' not in r:
      verdict = 'not checked'
    lines.append(
        f'| {result_rows.size_label(r)} | {mode} | {seed} | {_number(r, "clean_test_accuracy")} '
        f'| {_number(r, "balanced_accuracy")} [{_number(r, "balanced_accuracy_ci_low", 2)}, '
        f'{_number(r, "balanced_accuracy_ci_high", 2)}] | {_number(r, "auc")} | '
        f'{_percent(r.get("majority_prediction_share"))} | {r.get("epochs_run", "-")} '
        f'({r.get("stop_reason") or "-"}) | {verdict} |')
  return lines


def _number(row, column, digits=3) -> str:
  value = row.get(column)
  if value in (None, ''):
    return '-'
  value = float(value)
  return 'n/a' if math.isnan(value) else f'{value:.{digits}f}'


def _percent(value) -> str:
  return '-' if value in (None, '') else f'{float(value):.0%}'


def class_count_sentence(rows) -> str:
  """' Attacked images per class: malignant 42; normal, benign 100.' from the
  rows' n_class_<k> and class_names columns (single-label tasks), else ''."""
  r = rows[0]
  names = str(r.get('class_names') or '').split('; ')
  counts = []
  k = 0
  while f'n_class_{k}' in r:
    name = names[k] if k < len(names) and names[k] else f'class {k}'
    counts.append(f'{name if not name.isdigit() else f"class {name}"} '
                  f'{int(float(r[f"n_class_{k}"]))}')
    k += 1
  if not counts:
    return ''
  seeds = {x['seed'] for x in rows}
  return (' Attacked images per class' + (' (first seed)' if len(seeds) > 1 else '')
          + ': ' + '; '.join(counts) + '.')
