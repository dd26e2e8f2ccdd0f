"""The audit in the analysis and the report, from plain records: the intervals' coverage by
simulation, the rule that withholds a size verdict, FAB-T's agreement counts."""

import numpy as np
import pytest

import analysis_fixtures as fx
from medadv_jax.reporting import report
from medadv_jax.reporting.claims import analysis, audit, render_audit
from medadv_jax.reporting.statistics import audit_shortfall

PARAMS = (1_000, 4_000, 16_000, 64_000)  # log2: 2 apart.


def _records(shares_by_seed, audited=32, mode='standard', rng=None):
  """One record per (seed, size): shortfall drawn binomial(audited, share) with
  `rng`, else exactly share x audited."""
  out = []
  for seed, shares in enumerate(shares_by_seed):
    for params, share in zip(PARAMS, shares):
      k = rng.binomial(audited, share) if rng is not None else round(share * audited)
      out.append({'size': f'cnn w={params}', 'params': params, 'mode': mode, 'seed': seed,
                  'audit': {'eps_255': [2.0], 'audited': audited, 'shortfall': [int(k)],
                            'budget': 'test'}})
  return out


def test_clopper_pearson_covers_at_least_its_level():
  rng = np.random.default_rng(0)
  intervals = np.array([audit_shortfall.clopper_pearson(k, 32) for k in range(33)])
  for p in (0.0, 0.03, 0.2):
    low, high = intervals[rng.binomial(32, p, 4000)].T
    covered = np.mean((low <= p) & (p <= high))
    assert covered >= 0.94, (p, covered)  # Exact: at least 95 %, less Monte Carlo error.


@pytest.mark.parametrize('seeds', [1, 3])
def test_slope_interval_covers_the_true_slope_at_its_level(seeds):
  # Shares a + b log2(params) on 4 sizes, 64 images each; the per-doubling slope b.
  rng = np.random.default_rng(seeds)
  true_slope, x = 0.01, np.log2(PARAMS)
  shares = 0.05 + true_slope * (x - x[0])
  covered, trials = 0, 600
  for _ in range(trials):
    records = _records([shares] * seeds, audited=64, rng=rng)
    _, low, high = audit_shortfall.shortfall_slope(records, 0)
    covered += low <= true_slope <= high
  assert 0.92 <= covered / trials <= 0.98, covered / trials


def test_a_shortfall_growing_with_size_withholds_the_finding_it_points_to():
  growing = _records([[0.0, 0.0, 0.01, 0.02], [0.0, 0.01, 0.01, 0.02],
                      [0.0, 0.0, 0.02, 0.02]], audited=100)
  for direction, withheld in ((1, True), (-1, False), (None, True)):
    result = audit.analyse(growing, 0.03, {'standard': direction} if direction else None)
    assert ('standard' in result.withheld) is withheld, direction
  flat_but_large = _records([[0.05, 0.05, 0.06, 0.05]] * 2, audited=100)
  result = audit.analyse(flat_but_large, 0.03, {'standard': -1})
  assert 'above the tolerance' in result.withheld['standard']
  clean = audit.analyse(_records([[0.0] * 4] * 3), 0.03, {'standard': 1})
  assert not clean.withheld
  lines = '\n'.join(render_audit.section_lines(audit.analyse(growing, 0.03)))
  assert 'may be an attack artefact' in lines and '0/300 [0.00, 0.01]' in lines


def test_fab_agreement_places_each_image_against_the_studys_grid_step():
  record = _records([[0.0] * 4])[:1]
  record[0]['audit'].update(grid_eps_255=[0.0, 1.0, 2.0, 4.0],
                            fab_min_eps_255=[1.5, 0.5, 3.0, None, 3.0, None],
                            study_min_eps_255=[2.0, 2.0, 2.0, None, None, 4.0])
  counts = audit_shortfall.fab_agreement(record)['standard']
  # 1.5 in (1, 2]: agree; 0.5 <= 1: the study was late; 3 > 2: FAB weaker; both none:
  # agree; FAB 3 while the study never fooled within the grid: the study was late;
  # FAB none while the study fooled at 4: FAB weaker.
  assert counts == {'images': 6, 'agree': 2, 'study_later': 2, 'fab_weaker': 2}


def _study_audits(rows, growth):
  """Audit records for `fx.study` rows: a shortfall of growth x size rank per
  100 images, the same for every seed (so the slope's interval is narrow)."""
  seen, out = set(), []
  for r in rows:
    key = (r['width'], r['train_mode'], r['seed'])
    if key not in seen:
      seen.add(key)
      rank = int(round(np.log2(r['width'])))
      out.append({'size': f"cnn w={r['width']:g}", 'params': r['params'],
                  'mode': r['train_mode'], 'seed': r['seed'],
                  'audit': {'eps_255': [2.0], 'audited': 100,
                            'shortfall': [growth * rank], 'budget': 'test'}})
  return out


@pytest.mark.parametrize('slope, withheld', [(0.05, True), (-0.05, False)])
def test_a_shortfall_growing_with_size_withholds_a_rising_size_finding_only(slope, withheld):
  # Robust accuracy rises (slope > 0) or falls with size; the shortfall grows
  # with size, which can only fake the rising finding.
  rows, per_image = fx.study(lambda mode, k, s: 0.3 + slope * k if slope > 0 else 0.5 + slope * k,
                             modes=('standard',), n=200)
  for r in rows:
    r['sanity_tolerance'] = 0.1
  answer = analysis.analyse(rows, per_image, fx.plan(), _study_audits(rows, 2))
  assert ('standard' in answer.audit.withheld) is withheld
  assert (answer.size.primary.verdict == analysis.WITHHELD) is withheld
  unaudited = analysis.analyse(rows, per_image, fx.plan())
  assert unaudited.audit is None and unaudited.size.primary.verdict != analysis.WITHHELD
  text = report.render_report(rows, analysis=answer)
  section = text.split('(audit)')[1].split('## Agreement')[0]
  assert ('**standard: size verdict withheld' in section) is withheld
  assert ('no size verdict is given' in text.split('## Agreement with the paper')[1]) is withheld


def test_audits_of_unfit_models_only_enter_no_verdict():
  rows, per_image = fx.study(lambda mode, k, s: 0.3 + 0.05 * k, modes=('standard',),
                             unfit={('standard', k, s) for k in range(5) for s in range(5)})
  answer = analysis.analyse(rows, per_image, fx.plan(), _study_audits(rows, 2))
  assert answer.audit.unfit_only and not answer.audit.withheld
  assert 'No audited model is fit to attack' in '\n'.join(
      render_audit.section_lines(answer.audit))
