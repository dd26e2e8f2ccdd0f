"""The audit's report section from plain records: the intervals' coverage by
simulation, the rule that withholds a size verdict, FAB-T's agreement counts."""

import numpy as np
import pytest

from medadv_jax.reporting import audit_table, report

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
  intervals = np.array([audit_table.clopper_pearson(k, 32) for k in range(33)])
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
    _, low, high = audit_table.shortfall_slope(records, 0)
    covered += low <= true_slope <= high
  assert 0.92 <= covered / trials <= 0.98, covered / trials


def test_a_shortfall_growing_with_size_withholds_the_finding_it_points_to():
  growing = _records([[0.0, 0.0, 0.01, 0.02], [0.0, 0.01, 0.01, 0.02],
                      [0.0, 0.0, 0.02, 0.02]], audited=100)
  for direction, withheld in ((1, True), (-1, False), (None, True)):
    analysis = audit_table.analyse(growing, 0.03, {'standard': direction} if direction else None)
    assert ('standard' in analysis.withheld) is withheld, direction
  flat_but_large = _records([[0.05, 0.05, 0.06, 0.05]] * 2, audited=100)
  analysis = audit_table.analyse(flat_but_large, 0.03, {'standard': -1})
  assert 'above the tolerance' in analysis.withheld['standard']
  clean = audit_table.analyse(_records([[0.0] * 4] * 3), 0.03, {'standard': 1})
  assert not clean.withheld
  lines = '\n'.join(audit_table.section_lines(audit_table.analyse(growing, 0.03)))
  assert 'may be an attack artefact' in lines and '0/300 [0.00, 0.01]' in lines


def test_fab_agreement_places_each_image_against_the_studys_grid_step():
  record = _records([[0.0] * 4])[:1]
  record[0]['audit'].update(grid_eps_255=[0.0, 1.0, 2.0, 4.0],
                            fab_min_eps_255=[1.5, 0.5, 3.0, None, 3.0, None],
                            study_min_eps_255=[2.0, 2.0, 2.0, None, None, 4.0])
  counts = audit_table.fab_agreement(record)['standard']
  # 1.5 in (1, 2]: agree; 0.5 <= 1: the study was late; 3 > 2: FAB weaker; both none:
  # agree; FAB 3 while the study never fooled within the grid: the study was late;
  # FAB none while the study fooled at 4: FAB weaker.
  assert counts == {'images': 6, 'agree': 2, 'study_later': 2, 'fab_weaker': 2}


def test_the_report_withholds_only_the_mode_whose_finding_the_shortfall_points_to():
  # The report tests' rows (one seed): accuracy falls with size under standard
  # training and rises under PGD training; the shortfall grows with size (exactly
  # linearly in log2 parameters, so even one seed's 3 sizes give a narrow interval).
  from test_report import WIDTHS, _rows
  records = [{'size': f'cnn w={width:g}', 'params': params, 'mode': mode, 'seed': 0,
              'audit': {'eps_255': [2.0], 'audited': 100, 'shortfall': [3 * rank],
                        'budget': 'test'}}
             for mode in ('standard', 'pgd') for rank, (width, params) in enumerate(WIDTHS.items())]
  text = report.render_report(_rows(), audits=records)
  verdicts = text.split('## Agreement with the paper')[1]
  assert verdicts.lstrip().startswith('**The size verdicts of pgd are withheld')
  audit = text.split('(audit)')[1].split('## Agreement')[0]
  assert '**pgd: size verdict withheld' in audit
  assert '- standard: the audit gives no reason to doubt the size verdict.' in audit
