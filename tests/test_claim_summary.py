"""claims.csv and the cross-study summary, built from tiny fixtures of finished
cells: the numbers are the analysis' and the report's, flagged models leave a
seed without a slope (the sensitivity row puts them back), and
launch/cross_study.py rebuilds the CSV, figure and README table from the
studies alone, with Holm over their claims, and the plan's secondary family (its
own Holm over the ResNets-only answers and the paired contrast)."""

import json
import math
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from medadv_jax import cell_data
from medadv_jax.reporting import write_outputs
from medadv_jax.errors import MedAdvError
from medadv_jax.reporting.claims import (analysis as claims_lib, claim_summary, cross_study,
                                         plan as plan_lib, secondary_family)
from medadv_jax.reporting.inputs import per_image_data
from medadv_jax.reporting.statistics import multiplicity

import analysis_fixtures

REPO = pathlib.Path(__file__).resolve().parent.parent
GRID = [0.0, 0.5, 1.0, 2.0, 4.0, 8.0]
LABEL = 'Strong + paper attacks (per image)'
SIZES = {0.25: 1_000, 0.5: 4_000, 1.0: 16_000}
PLAN = analysis_fixtures.plan()
SEEDS = tuple(range(5))
N = 120


def _radii(rank, mode, seed, slope):
  """Per-image fooling radii (NaN: never fooled): the median moves with size by
  `slope` (negative: larger sizes fall earlier), PGD training adds robustness."""
  rng = np.random.default_rng(1000 * seed + 10 * rank + (mode == 'pgd'))
  scale = 2.0 * np.exp(slope * rank) * (3.0 if mode == 'pgd' else 1.0)
  radii = rng.exponential(scale, N)
  radii[radii > GRID[-1]] = np.nan
  radii[rng.random(N) < 0.1] = 0.0  # Wrong when clean.
  return radii


def _write_study(workdir: pathlib.Path, slope: float, seeds=SEEDS, unfit=()):
  """Finished cells (results.json, per_image.json) of 3 sizes x 2 modes x `seeds`,
  then the study's outputs; `unfit`: (width, mode, seed) flagged models."""
  rows = []
  for seed in seeds:
    for mode in ('standard', 'pgd'):
      for rank, (width, params) in enumerate(SIZES.items()):
        radii = _radii(rank, mode, seed, slope)
        fit = (width, mode, seed) not in unfit
        cell_rows = []
        for e in GRID:
          acc = float(np.mean(np.isnan(radii) | (radii > e)))
          cell_rows.append(dict(
              dataset='toy', model='cnn', width=width, depth=None, params=params,
              flops=10.0 * params, train_mode=mode, seed=seed, attack='ensemble', target='any', steps=0, norm='linf', eps=e / 255, eps_255=e,
              accuracy=acc, n=N, ci_low=max(0.0, acc - 0.05), ci_high=min(1.0, acc + 0.05),
              accuracy_single_eps=acc, clean_test_accuracy=float(np.mean(radii != 0)),
              clean_test_n=N, fit=fit, fitness_reasons='' if fit else 'predicts one class'))
        cell_dir = workdir / 'cells' / cell_data.Cell.from_row(cell_rows[0]).name
        cell_dir.mkdir(parents=True)
        (cell_dir / 'results.json').write_text(json.dumps(cell_rows))
        (cell_dir / per_image_data.FILE_NAME).write_text(json.dumps(
            {'eps_255': GRID, 'test_indices': list(range(N)),
             'clean_correct': [bool(r != 0) for r in radii],
             'min_eps_255': {LABEL: [None if np.isnan(r) else float(r) for r in radii]}}))
        rows += cell_rows
  write_outputs.write_all(rows, workdir, PLAN)
  return rows


@pytest.fixture(scope='module')
def studies(tmp_path_factory):
  root = tmp_path_factory.mktemp('studies')
  found = {}
  for name, slope, unfit in (('toy_shrinking', -0.5, ()), ('toy_growing', 0.5, ()),
                             ('toy_flagged', -0.5, tuple((0.25, 'standard', s)
                                                         for s in SEEDS))):
    found[name] = (root / name, _write_study(root / name, slope, unfit=unfit))
  return found


def _claims(folder):
  return claim_summary.read_csv(folder / claim_summary.FILE_NAME)


def _row(claims, claim, analysis='primary', size=None):
  return next(r for r in claims if r['claim'] == claim and r['analysis'] == analysis
              and (size is None or r['size'] == size))


def test_claims_hold_the_analysis_and_the_reports_numbers(studies):
  folder, rows = studies['toy_shrinking']
  claims = _claims(folder)
  analysis = claims_lib.analyse(rows, per_image_data.load(folder, rows), PLAN)
  a = _row(claims, 'a')
  primary = analysis.size.primary
  assert (a['estimate'], a['low'], a['high']) == pytest.approx(
      (primary.mean, primary.low, primary.high), rel=1e-5)
  assert a['seeds'] == 5 and a['plan'] == PLAN.name
  # Larger sizes fall earlier here: claim (a) agrees, in the report's words too.
  assert a['verdict'] == 'agrees' and primary.high < 0
  report = (folder / 'report.md').read_text()
  claim_a = report.split('- (a)')[1].split('\n')[0]
  assert '**agrees**' in claim_a
  assert f'{primary.mean:+.4f} [{primary.low:+.4f}, {primary.high:+.4f}]' in claim_a
  assert {r['analysis'] for r in claims if r['claim'] == 'a'} == {
      'primary', 'sensitivity', *PLAN.secondary}
  # Claim (b): PGD training triples the radii of every size.
  gains = [r for r in claims if r['claim'] == 'b' and r['analysis'] == 'primary'
           and r['size'] != 'every size']
  assert len(gains) == 3 and all(r['low'] > 0 for r in gains)
  assert all(r['p_holm'] >= r['p'] for r in gains)
  assert _row(claims, 'b', size='every size')['verdict'] == 'agrees'


def test_flagged_sizes_leave_seeds_without_a_slope_and_the_sensitivity_row_keeps_them(
    studies):
  claims = _claims(studies['toy_flagged'][0])
  a = _row(claims, 'a')
  assert a['verdict'] == 'no verdict: 0 seeds, the plan needs 5' and a['seeds'] == 0
  sensitivity = _row(claims, 'a', 'sensitivity')
  assert sensitivity['seeds'] == 5 and sensitivity['verdict'] == 'agrees'
  report = (studies['toy_flagged'][0] / 'report.md').read_text()
  assert 'cnn w=0.25 5/5 [0.48, 1.00]' in report  # Clopper-Pearson of 5 of 5.


def test_cross_study_rebuilds_csv_figure_and_readme_table(studies, tmp_path):
  readme = tmp_path / 'README.md'
  readme.write_text(f'# Results\n\nbefore\n{cross_study.TABLE_START}\nold\n'
                    f'{cross_study.TABLE_END}\nafter\n')
  compute = tmp_path / 'COMPUTE.md'
  compute.write_text(f'{cross_study.COMPUTE_START}\nold\n{cross_study.COMPUTE_END}\n')
  root = studies['toy_shrinking'][0].parent
  # Two studies published with how they were made, one not.
  for name, wall, cell, cut in (('toy_shrinking', 600.0, 1000.0, False),
                                ('toy_growing', 3000.0, 5000.5, True)):
    (root / name / cross_study.MADE_FILE).write_text(json.dumps(dict(
        cells=4, wall_seconds=wall, cell_seconds=cell, sittings_of_unknown_length=int(cut),
        sittings=[dict(cut_short=False), dict(cut_short=cut)])))
  out = tmp_path / 'summary'
  done = subprocess.run(
      [sys.executable, str(REPO / 'launch' / 'cross_study.py'), f'--studies={root}/toy_*',
       f'--out={out}', f'--readme={readme}', f'--compute_readme={compute}'],
      capture_output=True, text=True, check=False)
  assert done.returncode == 0, done.stderr
  rows = [l for l in compute.read_text().splitlines() if l.startswith('| ')][1:]
  assert rows == ['| toy_flagged | - | - | not recorded | not recorded |',
                  '| toy_growing | 4 | 2 (1 cut short) | at least 50 min 00 s | 1 h 23 min |',
                  '| toy_shrinking | 4 | 2 | 10 min 00 s | 16 min 40 s |',
                  '| **total (1 not recorded, 1 with a wall time not known whole)** | | | '
                  '**at least 1 h 00 min** | **at least 1 h 40 min** |']
  summary = (out / cross_study.CSV_FILE).read_text().splitlines()
  assert summary[0].split(',') == ['study', *claim_summary.COLUMNS, cross_study.HOLM_COLUMN]
  # Every study's claims, number for number.
  for name, (folder, _) in studies.items():
    mine = [line for line in summary[1:] if line.startswith(name + ',')]
    assert len(mine) == len(_claims(folder)) > 0
  assert (out / cross_study.FIGURE_FILE).stat().st_size > 10_000
  # Holm over the summary's family: every study's slope and per-size gains.
  every = cross_study.load(sorted(root.glob('toy_*')))
  family = cross_study.summary_family(every)
  expected = multiplicity.holm([r['p'] for r in family])
  adjusted = [r for r in cross_study.with_summary_holm(every)
              if r['analysis'] == 'primary' and not math.isnan(r['p'])]
  assert [r[cross_study.HOLM_COLUMN] for r in adjusted] == pytest.approx(list(expected))
  # 3 slopes and 9 gains, less the flagged study's slope and its flagged size's gain.
  assert len(family) == 3 * 4 - 2
  text = readme.read_text()
  assert text.startswith('# Results\n\nbefore\n') and text.endswith('after\n')
  assert 'old' not in text
  table = text.split(cross_study.TABLE_START)[1].split(cross_study.TABLE_END)[0]
  lines = [l for l in table.splitlines() if l.startswith('| [')]
  assert len(lines) == 3  # One per study.
  by_study = {l.split('](')[0][3:]: l.split(' | ') for l in lines}
  shrinking = _row(_claims(studies['toy_shrinking'][0]), 'a')
  assert by_study['toy_shrinking'][2] == (f'{shrinking["estimate"]:+.4f} '
                                          f'[{shrinking["low"]:+.4f}, {shrinking["high"]:+.4f}]')
  assert by_study['toy_shrinking'][3] == 'agrees'
  assert 'toy_shrinking/report.md)' in lines[-1] or any('toy_shrinking/report.md)' in l
                                                         for l in lines)
  assert by_study['toy_growing'][3] == 'disagrees'
  assert by_study['toy_flagged'][3].startswith('no verdict')
  assert f'adjusted over the {len(family)} tests of this table' in table
  # One file may hold both tables: both are written.
  both = tmp_path / 'BOTH.md'
  both.write_text(f'{cross_study.TABLE_START}\nx\n{cross_study.TABLE_END}\n'
                  f'{cross_study.COMPUTE_START}\ny\n{cross_study.COMPUTE_END}\n')
  done = subprocess.run(
      [sys.executable, str(REPO / 'launch' / 'cross_study.py'), f'--studies={root}/toy_*',
       f'--out={out}', f'--readme={both}', f'--compute_readme={both}'],
      capture_output=True, text=True, check=False)
  assert done.returncode == 0, done.stderr
  text = both.read_text()
  assert '| [toy_growing](' in text and '| toy_growing | 4 |' in text


def test_cross_study_refuses_bad_input_with_one_line(studies, tmp_path):
  readme = tmp_path / 'README.md'
  readme.write_text('no markers here\n')
  root = studies['toy_shrinking'][0].parent
  for args, field in (([f'--studies={tmp_path}/nothing', f'--out={tmp_path}/o'], '--studies'),
                      ([f'--studies={root}/toy_*', f'--out={tmp_path}/o',
                        f'--readme={readme}'], '--readme'),
                      ([f'--studies={root}/toy_*', f'--out={tmp_path}/o',
                        f'--compute_readme={readme}'], '--compute_readme')):
    done = subprocess.run([sys.executable, str(REPO / 'launch' / 'cross_study.py'), *args],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert done.stderr.startswith(f'error: {field}') and len(done.stderr.splitlines()) == 1
    assert 'Traceback' not in done.stderr
  assert readme.read_text() == 'no markers here\n'
  assert not (tmp_path / 'o' / cross_study.CSV_FILE).exists()


def test_claim_a_rows_carry_the_seed_slopes_whose_mean_is_the_estimate(studies):
  row = _row(_claims(studies['toy_growing'][0]), 'a')
  values = claim_summary.seed_values(row)
  assert sorted(values) == list(SEEDS)
  assert np.mean(list(values.values())) == pytest.approx(row['estimate'], abs=1e-5)


def test_a_paired_study_contrast_is_the_t_interval_of_per_seed_differences(studies, tmp_path):
  root = studies['toy_shrinking'][0].parent
  every = cross_study.load(sorted(root.glob('toy_*')))
  contrast = cross_study.slope_contrast(every, 'toy_growing', 'toy_shrinking')
  growing = claim_summary.seed_values(_row(_claims(studies['toy_growing'][0]), 'a'))
  shrinking = claim_summary.seed_values(_row(_claims(studies['toy_shrinking'][0]), 'a'))
  differences = [growing[s] - shrinking[s] for s in SEEDS]
  interval = stats.ttest_1samp(differences, 0.0).confidence_interval(0.95)
  assert contrast['seeds'] == 5 and contrast['estimate'] > 0
  assert (contrast['low'], contrast['high']) == pytest.approx(
      (interval.low, interval.high), abs=1e-5)
  out = tmp_path / 'summary'
  done = subprocess.run(
      [sys.executable, str(REPO / 'launch' / 'cross_study.py'), f'--studies={root}/toy_*',
       f'--out={out}', '--contrasts=toy_growing:toy_shrinking'],
      capture_output=True, text=True, check=False)
  assert done.returncode == 0, done.stderr
  assert 'toy_growing minus toy_shrinking: +' in done.stdout
  lines = (out / cross_study.CONTRASTS_FILE).read_text().splitlines()
  assert lines[0] == 'study,reference,estimate,low,high,p,seeds'
  assert lines[1].startswith('toy_growing,toy_shrinking,') and lines[1].endswith(',5')
  bad = subprocess.run(
      [sys.executable, str(REPO / 'launch' / 'cross_study.py'), f'--studies={root}/toy_*',
       f'--out={out}', '--contrasts=toy_growing-toy_shrinking'],
      capture_output=True, text=True, check=False)
  assert bad.returncode == 1 and bad.stderr.count('\n') == 1 and '--contrasts' in bad.stderr


def test_the_paired_contrast_interval_covers_at_its_level():
  # 5 seeds whose slopes at two resolutions share a seed effect; a known difference.
  rng = np.random.default_rng(0)
  covered, trials = 0, 2000
  for _ in range(trials):
    seed_effect = rng.normal(0.0, 0.02, 5)
    a = -0.01 + seed_effect + rng.normal(0.0, 0.005, 5)
    b = -0.03 + seed_effect + rng.normal(0.0, 0.005, 5)
    claims = [dict(study=name, claim='a', analysis='primary', seed_values=' '.join(
        f'{s}:{v:.9g}' for s, v in enumerate(values))) for name, values in (('a', a), ('b', b))]
    c = cross_study.slope_contrast(claims, 'a', 'b')
    covered += c['low'] <= 0.02 <= c['high']
  assert 0.93 <= covered / trials <= 0.97, covered / trials


def _holm(p):
  """Holm's step-down adjustment, written from its definition: the i-th smallest of
  m p-values times (m - i + 1), made monotone, capped at 1."""
  order = np.argsort(p)
  adjusted, running = np.empty(len(p)), 0.0
  for i, k in enumerate(order):
    running = max(running, min(1.0, (len(p) - i) * p[k]))
    adjusted[k] = running
  return adjusted


def _claim_a(folder, slopes: dict, verdict: str, plan=None):
  """A claims.csv holding claim (a)'s primary row for per-seed `slopes` (mean,
  scipy's t-interval and p), and plan.json when `plan` is given."""
  values = list(slopes.values())
  test = stats.ttest_1samp(values, 0.0)
  interval = test.confidence_interval(0.95)
  folder.mkdir(parents=True)
  claim_summary.write_csv([dict(
      dataset='toy', models='resnet8+resnet20', plan=plan.name if plan else 'replication',
      claim='a', train_mode='standard', size='all sizes', analysis='primary',
      estimate=float(np.mean(values)), low=interval.low, high=interval.high,
      unit='robust accuracy per doubling of parameters', seeds=len(values), p=test.pvalue,
      verdict=verdict, seed_values=' '.join(f'{s}:{v:.9g}' for s, v in slopes.items()))],
      folder / claim_summary.FILE_NAME)
  if plan is not None:
    plan_lib.write(plan, folder)


@pytest.fixture(scope='module')
def secondary(tmp_path_factory):
  """Three studies answered under the plan 'resnets' and a resolution arm (toy_64
  against toy_28), with known per-seed slopes and each one's own verdict."""
  root = tmp_path_factory.mktemp('secondary')
  resnets = analysis_fixtures.plan(name='resnets')
  answers = {  # Study -> (per-seed slopes, the study's own verdict).
      'toy_falls': ([-0.05, -0.06, -0.055, -0.045, -0.052], 'agrees'),
      'toy_flat': ([0.001, -0.001, 0.0005, -0.0005, 0.0002], 'equivalent'),
      # Raw p about 0.03: below 0.05 alone, not after Holm over 4.
      'toy_weak': ([-0.01, -0.03, -0.005, -0.02, -0.008], 'agrees'),
  }
  for study, (slopes, verdict) in answers.items():
    _claim_a(root / study / plan_lib.ANSWERS_DIR / 'resnets', dict(enumerate(slopes)),
             verdict, resnets)
  at_28 = [-0.02, 0.01, -0.005, 0.004, -0.012]
  shift = [0.03, 0.035, 0.028, 0.032, 0.031]
  _claim_a(root / 'toy_28', dict(enumerate(at_28)), 'inconclusive')
  # Seed 5 is in one arm only: the contrast pairs the 5 seeds both hold.
  _claim_a(root / 'toy_64', {**dict(enumerate(np.add(at_28, shift))), 5: 0.5}, 'inconclusive')
  return root, answers, list(np.add(at_28, shift) - np.array(at_28))


def test_the_secondary_family_is_holm_over_its_4_tests_with_verdicts_after_holm(secondary):
  root, answers, differences = secondary
  slopes, plan = secondary_family.load(
      sorted(root.glob(f'toy_*/{plan_lib.ANSWERS_DIR}/resnets')))
  claims = cross_study.load([root / 'toy_64', root / 'toy_28'])
  contrast = cross_study.slope_contrast(claims, 'toy_64', 'toy_28')
  rows = secondary_family.family(slopes, [contrast], plan)
  assert [r['test'] for r in rows] == ['toy_falls (resnets)', 'toy_flat (resnets)',
                                       'toy_weak (resnets)', 'toy_64 minus toy_28']
  raw = [stats.ttest_1samp(answers[s][0], 0.0).pvalue for s in sorted(answers)]
  raw.append(stats.ttest_1samp(differences, 0.0).pvalue)
  assert [r['p'] for r in rows] == pytest.approx(raw, rel=1e-5)
  assert [r['p_holm'] for r in rows] == pytest.approx(list(_holm(np.array(raw))), rel=1e-5)
  assert raw[2] < 0.05 <= rows[2]['p_holm']  # Holm moves this one across alpha.
  # The contrast: the mean and t-interval of the 5 paired differences.
  assert rows[3]['seeds'] == 5 and rows[3]['estimate'] == pytest.approx(np.mean(differences))
  interval = stats.ttest_1samp(differences, 0.0).confidence_interval(0.95)
  assert (rows[3]['low'], rows[3]['high']) == pytest.approx((interval.low, interval.high))
  assert [r['verdict'] for r in rows] == ['agrees', 'equivalent', 'inconclusive', 'differs']


def test_secondary_verdicts_keep_a_no_verdict_and_a_contrast_can_show_no_difference():
  plan = analysis_fixtures.plan(name='resnets')
  withheld = 'no verdict: withheld, the audit says it may be an attack artefact'
  slope = dict(test='toy (resnets)', estimate=-0.05, low=-0.06, high=-0.04, unit='u',
               seeds=5, p=1e-4, verdict=withheld,
               seed_values=' '.join(f'{s}:{v}' for s, v in enumerate((-.05, -.06, -.04))))
  noisy = dict(study='a', reference='b', estimate=0.01, low=-0.1, high=0.12, p=0.8, seeds=5,
               seed_values=dict(enumerate((0.1, -0.1, 0.05, -0.04, 0.04))))
  few = dict(noisy, study='c', seeds=3, seed_values={0: 0.1, 1: 0.11, 2: 0.12}, p=1e-3)
  near = dict(noisy, study='d', p=0.5, seed_values=dict(enumerate((1e-4, -1e-4, 0, 2e-4, 0))))
  rows = secondary_family.family([slope], [noisy, few, near], plan)
  assert [r['verdict'] for r in rows] == [withheld, 'no difference shown',
                                          'no verdict: 3 seeds, the plan needs 5', 'equivalent']


def test_cross_study_writes_the_secondary_csv_and_its_table_between_markers(secondary,
                                                                             tmp_path):
  root, _, _ = secondary
  readme = tmp_path / 'README.md'
  readme.write_text(f'# Replication\n\nbefore\n{secondary_family.TABLE_START}\nold\n'
                    f'{secondary_family.TABLE_END}\nafter\n')
  out = tmp_path / 'out'
  done = subprocess.run(
      [sys.executable, str(REPO / 'launch' / 'cross_study.py'),
       f'--studies={root}/toy_64,{root}/toy_28', f'--out={out}',
       '--contrasts=toy_64:toy_28', f'--secondary={root}/toy_*/analyses/resnets',
       f'--secondary_readme={readme}'], capture_output=True, text=True, check=False)
  assert done.returncode == 0, done.stderr
  lines = (out / secondary_family.CSV_FILE).read_text().splitlines()
  assert lines[0].split(',') == list(secondary_family.COLUMNS)
  assert [l.split(',')[0] for l in lines[1:]] == [
      'toy_falls (resnets)', 'toy_flat (resnets)', 'toy_weak (resnets)', 'toy_64 minus toy_28']
  assert [l.split(',')[-1] for l in lines[1:]] == ['agrees', 'equivalent', 'inconclusive',
                                                    'differs']
  text = readme.read_text()
  assert text.startswith('# Replication\n\nbefore\n') and text.endswith('after\n')
  assert '\nold\n' not in text
  table = text.split(secondary_family.TABLE_START)[1].split(secondary_family.TABLE_END)[0]
  assert '| toy_64 minus toy_28 | +0.0312 [' in table
  assert 'adjusted over these 4 tests together' in table


@pytest.mark.parametrize('flags, field', [
    (['--secondary={root}/nowhere/analyses/resnets'], '--secondary'),
    (['--secondary={root}/toy_*/analyses/resnets', '--secondary_readme={readme}'],
     '--secondary_readme'),  # No markers.
    (['--secondary_readme={readme}'], '--secondary_readme'),  # No family to put there.
])
def test_cross_study_refuses_a_bad_secondary_family_with_one_line(secondary, tmp_path, flags,
                                                                  field):
  root, _, _ = secondary
  readme = tmp_path / 'README.md'
  readme.write_text('no markers here\n')
  out = tmp_path / 'out'
  done = subprocess.run(
      [sys.executable, str(REPO / 'launch' / 'cross_study.py'),
       f'--studies={root}/toy_64,{root}/toy_28', f'--out={out}',
       *(f.format(root=root, readme=readme) for f in flags)],
      capture_output=True, text=True, check=False)
  assert done.returncode == 1 and len(done.stderr.splitlines()) == 1, done.stderr
  assert done.stderr.startswith(f'error: {field}') and 'allowed' in done.stderr
  assert not out.exists() and readme.read_text() == 'no markers here\n'


def test_a_secondary_family_needs_answers_named_once_under_one_rule(secondary, tmp_path):
  root, _, _ = secondary
  falls = root / 'toy_falls' / plan_lib.ANSWERS_DIR / 'resnets'
  with pytest.raises(MedAdvError, match=r"--secondary: '.*toy_falls' has no plan.json"):
    secondary_family.load([root / 'toy_falls'])  # The study, not its answer.
  claims = cross_study.load([root / 'toy_64', root / 'toy_28'])
  with pytest.raises(MedAdvError, match=r"--contrasts: 'toy_99' has no claim \(a\) primary"):
    cross_study.slope_contrast(claims, 'toy_99', 'toy_28')
  with pytest.raises(MedAdvError, match='names a test twice'):
    secondary_family.load([falls, falls])
  other = tmp_path / 'toy_other' / plan_lib.ANSWERS_DIR / 'wide'
  _claim_a(other, {0: 0.1, 1: 0.2}, 'inconclusive',
           analysis_fixtures.plan(name='wide', **{'size.margin': 0.05}))
  with pytest.raises(MedAdvError, match='plans differ'):
    secondary_family.load([falls, other])
