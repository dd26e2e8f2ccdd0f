"""The analysis in words and rows: report.md's claims section and claims.csv's
rows, both read from one `claims.Analysis`."""

import math

from medadv_jax.reporting.claims import plan as plan_lib

SLOPE_UNIT = 'robust accuracy per doubling of parameters'
GAIN_UNIT = 'robust accuracy gain'
_SECONDARY_TITLES = {
    'matched_set': 'matched set (images every size gets right clean)',
    'log_min_eps': 'log2 smallest fooling radius (matched set; per doubling)',
    'clean_slope': 'clean test accuracy',
    'adjusted_slope': 'adjusted for clean accuracy (size coefficient)',
}


def _interval(e, digits=4) -> str:
  if math.isnan(e.mean):
    return 'n/a'
  if math.isnan(e.low):
    return f'{e.mean:+.{digits}f} [n/a]'
  return f'{e.mean:+.{digits}f} [{e.low:+.{digits}f}, {e.high:+.{digits}f}]'


def _radii(radii) -> str:
  return ', '.join(f'{r:g}' for r in radii) or 'none'


def _seeds_needed(count) -> str:
  return f'about {count}' if count is not None else 'more than 40 (or not estimable)'


def _failures(rates) -> str:
  return '; '.join(f'{r.label} {r.flagged}/{r.models} [{r.low:.2f}, {r.high:.2f}]'
                   for r in rates if r.models)


def section_lines(analysis) -> list[str]:
  """report.md's 'Agreement with the paper': the plan, each claim's primary
  estimate with its interval and verdict, the seeds it rests on, failure rates,
  the sensitivity row, power and the secondary analyses."""
  plan = analysis.plan
  lines = [f'Under the analysis plan **{plan.name}** (`{plan_lib.FILE_NAME}`, fixed before the '
           f'cells ran): a verdict needs at least {max(2, plan.min_seeds)} seeds; flagged '
           'models are left out of the primary analysis, each size\'s failure rate is an '
           'outcome (95 % Clopper-Pearson), and a sensitivity row puts them back. Intervals '
           f'are 95 % Student-t over seeds; "equivalent" only by two one-sided tests at '
           f'{plan.alpha:g} against the plan\'s margin.', '']
  lines += _size_lines(analysis)
  lines += _training_lines(analysis)
  return lines


def _size_lines(analysis) -> list[str]:
  a, plan = analysis.size, analysis.plan.size
  if a is None:
    return [f'- (a) Smaller models are more robust: not tested ({analysis.untested["a"]}).']
  p = a.primary
  lines = [
      f'- (a) Under {a.mode} training, robust accuracy falls as parameters grow: '
      f'**{p.verdict}**. Slope {_interval(p)} ({SLOPE_UNIT}; margin +-{plan.margin:g}), '
      f'over {p.seeds} seeds; per-image worst case over every L-inf attack, averaged over '
      f'radii {_radii(a.radii)} (x 1/255)'
      + (f'; dropped at or below the floor {plan.floor:g}: {_radii(a.dropped)}'
         if a.dropped else '') + '.',
      f'  - Page\'s L (seeds as blocks, complete seeds): L = {a.page_l:g}, exact p = '
      f'{a.page_p:.3g}; Spearman\'s rho of parameters with the seed-mean endpoint '
      f'{a.rho:+.2f} (descriptive). TOST p = {a.tost_p:.3g}.',
      f'  - Sensitivity, flagged models in: {_interval(a.sensitivity)} over '
      f'{a.sensitivity.seeds} seeds: {a.sensitivity.verdict}.',
      f'  - Failure rate per size (flagged / models): {_failures(a.failure_rates)}.',
      f'  - Seeds needed (simulated from the fitted seed and image variances, 80 % power): '
      f'to exclude 0, {_seeds_needed(a.seeds_to_exclude_zero)}; to fall inside the margin, '
      f'{_seeds_needed(a.seeds_inside_margin)}.',
  ]
  for name, e in a.secondary.items():
    lines.append(f'  - Secondary, {_SECONDARY_TITLES[name]}: slope {_interval(e)} over '
                 f'{e.seeds} seeds (descriptive).')
  return lines


def _training_lines(analysis) -> list[str]:
  b, plan = analysis.training, analysis.plan.training
  if b is None:
    return [f'- (b) Adversarial training makes every size more robust: not tested '
            f'({analysis.untested["b"]}).']
  lines = [f'- (b) After {b.mode} training every size is more robust than its {b.baseline}-'
           f'trained twin: **{b.verdict}**. Per size, the paired gain on the same images '
           f'averaged over radii {_radii(b.radii)} (x 1/255), t-interval over seeds, '
           f'Holm-adjusted p over the {len(b.sizes)} sizes; margin +-{plan.margin:g}.', '',
           '  | size | gain [95 %] | seeds | p (Holm) | verdict | flagged in: gain | '
           'failures | seeds to exclude 0 |',
           '  |---|---|---:|---:|---|---|---|---:|']
  for g, s, rate in zip(b.sizes, b.sensitivity, b.failure_rates):
    lines.append(f'  | {g.label} | {_interval(g.estimate, 3)} | {g.estimate.seeds} | '
                 f'{g.p_holm:.3g} | {g.estimate.verdict} | {_interval(s.estimate, 3)} | '
                 f'{rate.flagged}/{rate.models} [{rate.low:.2f}, {rate.high:.2f}] | '
                 f'{g.seeds_to_exclude_zero or "-"} |')
  return lines


COLUMNS = ('dataset', 'models', 'plan', 'claim', 'train_mode', 'baseline', 'size',
           'analysis', 'estimate', 'low', 'high', 'unit', 'seeds', 'p', 'p_holm',
           'verdict', 'page_p', 'rho', 'radii_255', 'seed_values')


def claim_rows(analysis, dataset: str, models: str) -> list[dict]:
  """claims.csv's rows: claim (a)'s primary, sensitivity and secondary rows, and
  claim (b)'s per-size primary and sensitivity rows and its every-size row."""
  base = dict(dataset=dataset, models=models, plan=analysis.plan.name)
  out = []
  a = analysis.size
  if a is not None:
    common = dict(base, claim='a', train_mode=a.mode, baseline='', size='all sizes',
                  unit=SLOPE_UNIT, radii_255=' '.join(f'{r:g}' for r in a.radii))
    out.append(dict(common, analysis='primary', **_estimate(a.primary), p=a.p,
                    page_p=a.page_p, rho=a.rho, seed_values=' '.join(
                        f'{seed}:{value:.6g}' for seed, value in a.seed_slopes.items())))
    out.append(dict(common, analysis='sensitivity', **_estimate(a.sensitivity)))
    for name, e in a.secondary.items():
      unit = 'clean accuracy per doubling' if name == 'clean_slope' else (
          'log2 radius per doubling' if name == 'log_min_eps' else SLOPE_UNIT)
      out.append(dict(common, analysis=name, unit=unit, **_estimate(e)))
  b = analysis.training
  if b is not None:
    common = dict(base, claim='b', train_mode=b.mode, baseline=b.baseline, unit=GAIN_UNIT,
                  radii_255=' '.join(f'{r:g}' for r in b.radii))
    out.append(dict(common, size='every size', analysis='primary', verdict=b.verdict,
                    seeds=min((g.estimate.seeds for g in b.sizes), default=0)))
    for g in b.sizes:
      out.append(dict(common, size=g.label, analysis='primary', **_estimate(g.estimate),
                      p=g.p, p_holm=g.p_holm))
    for g in b.sensitivity:
      out.append(dict(common, size=g.label, analysis='sensitivity', **_estimate(g.estimate)))
  return out


def _estimate(e) -> dict:
  return dict(estimate=e.mean, low=e.low, high=e.high, seeds=e.seeds, verdict=e.verdict)
