"""The paper's claims as numbers: claims.csv, the machine-readable twin of the
report's verdict section, from which studies are compared across datasets and
model families (`cross_study`) without retyping a number.

One row per train mode, view of claim (a) and radius:
  headline  Spearman rho of parameter count with worst-attack accuracy at eps;
  matched   the same on the images every size of the mode gets right when clean;
  min_eps   rho with the median smallest fooling radius (one row, eps_255 empty).
`size_verdict` judges that rho as claim (a) does (negative agrees);
`training_verdict`, on an adversarial mode's headline rows, is claim (b) at
that radius (that mode against standard training), and the `*_overall`
columns the verdicts over the report's radii. Numbers come from the same
functions as the report's (`verdict`, `claim_views`), on the models fit to
attack only.
"""

import csv
import io
import math
import pathlib

from medadv_jax import atomic_files
from medadv_jax.reporting import claim_views, fitness_table, grouping, verdict
from medadv_jax.reporting.verdict_rules import overall

FILE_NAME = 'claims.csv'
VIEWS = ('headline', 'matched', 'min_eps')
COLUMNS = ('dataset', 'models', 'train_mode', 'view', 'eps_255', 'rho', 'rho_low',
           'rho_high', 'size_verdict', 'size_verdict_overall', 'training_verdict',
           'training_verdict_overall', 'sizes', 'fit_sizes', 'seeds', 'paired')
NOT_TESTED, NO_VERDICT = 'not tested', 'no verdict'


def claim_rows(rows, per_image=None, margins=None) -> list[dict]:
  """claims.csv's rows from a study's results rows; `per_image`
  (`per_image_data.load`) makes the intervals paired, `margins`
  (`verdict.Margins`) allows 'equivalent'."""
  if not rows:
    return []
  all_rows = rows
  rows, per_image = fitness_table.fit_only(rows, per_image or {})
  headline = grouping.headline_eps(all_rows)
  modes = grouping.ordered_modes(r['train_mode'] for r in all_rows)
  worst = grouping.worst_attack_accuracy(rows)
  base = dict(dataset='+'.join(sorted({str(r['dataset']) for r in all_rows})),
              models='+'.join(sorted({str(r['model']) for r in all_rows})))
  out = []
  for mode in modes:
    by_training = _training_verdicts(rows, worst, per_image, mode, modes, headline, margins)
    sizes, fit_sizes = verdict.mode_sizes(all_rows, mode), verdict.mode_sizes(rows, mode)
    common = dict(base, train_mode=mode, sizes=len(sizes), fit_sizes=len(fit_sizes),
                  training_verdict_overall=overall(by_training) if by_training else '')
    headline_rows = [dict(common, view='headline', eps_255=e,
                          training_verdict=by_training.get(e, '')) for e in headline]
    if len(fit_sizes) < 3:
      found = NOT_TESTED if len(sizes) < 3 else NO_VERDICT
      out += [dict(r, rho=math.nan, rho_low=math.nan, rho_high=math.nan, size_verdict=found,
                   size_verdict_overall=found, seeds=_seeds(rows, mode), paired=False)
              for r in headline_rows]
      continue
    spearman = verdict.size_spearman(rows, worst, mode, headline, per_image)
    by_eps = verdict.size_claim(spearman, margins, verdict.size_difference(
        rows, worst, mode, headline, per_image))
    arm = verdict.paired_arm(rows, per_image, mode)
    seeds = arm.n_seeds if arm is not None else _seeds(rows, mode)
    for r in headline_rows:
      e = r['eps_255']
      out.append(dict(r, **_rho(spearman[e]), size_verdict=by_eps[e],
                      size_verdict_overall=overall(by_eps), seeds=seeds,
                      paired=arm is not None))
    if arm is None:
      continue
    found = claim_views.views(arm, headline, margins)
    matched = {e: v for e, (_, v) in found['matched'].items()}
    view_common = dict(common, training_verdict='', seeds=seeds, paired=True)
    for e, (estimate, v) in found['matched'].items():
      out.append(dict(view_common, view='matched', eps_255=e, **_rho(estimate),
                      size_verdict=v, size_verdict_overall=overall(matched)))
    estimate, v = found['min_eps']
    out.append(dict(view_common, view='min_eps', eps_255='', **_rho(estimate),
                    size_verdict=v, size_verdict_overall=v))
  return out


def _training_verdicts(rows, worst, per_image, mode, modes, headline, margins) -> dict:
  """{eps: claim (b) verdict} of adversarial `mode` against standard training."""
  if mode == 'standard' or 'standard' not in modes:
    return {}
  gains = verdict.training_gains(rows, worst, mode, headline, per_image=per_image)
  if not gains:
    return {e: NO_VERDICT for e in headline}
  return verdict.training_claim(gains, headline, None if margins is None else margins.difference)


def _rho(estimate) -> dict:
  rho, low, high = estimate
  return dict(rho=float(rho), rho_low=float(low), rho_high=float(high))


def _seeds(rows, mode) -> int:
  return len({r['seed'] for r in rows if r['train_mode'] == mode})


def write_csv(claims, path: pathlib.Path, leading: tuple = ()) -> None:
  """claims.csv (header only without claims), `leading` columns first; NaN and
  None written as empty."""
  columns = tuple(leading) + COLUMNS
  text = io.StringIO()
  writer = csv.DictWriter(text, fieldnames=columns, lineterminator='\n')
  writer.writeheader()
  for claim in claims:
    writer.writerow({k: _cell(claim.get(k, '')) for k in columns})
  atomic_files.write_text(pathlib.Path(path), text.getvalue())


def read_csv(path: pathlib.Path) -> list[dict]:
  """claims.csv back, numbers as floats (NaN where empty) and ints."""
  with open(path, newline='') as f:
    found = list(csv.DictReader(f))
  for row in found:
    for key in ('rho', 'rho_low', 'rho_high'):
      row[key] = float(row[key]) if row[key] != '' else math.nan
    row['eps_255'] = float(row['eps_255']) if row['eps_255'] != '' else None
    for key in ('sizes', 'fit_sizes', 'seeds'):
      row[key] = int(row[key])
    row['paired'] = row['paired'] == 'True'
  return found


def _cell(value):
  if value is None or isinstance(value, float) and math.isnan(value):
    return ''
  if isinstance(value, float):
    return f'{value:.6g}'
  return value
