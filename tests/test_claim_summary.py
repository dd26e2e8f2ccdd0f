"""claims.csv and the cross-study summary, built from tiny fixtures of finished
cells: the numbers are the report's, a flagged model leaves its claim without a
verdict, and launch/cross_study.py rebuilds the CSV, figure and README table
from the studies alone."""

import json
import math
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from medadv_jax import cell_data
from medadv_jax.reporting import (claim_summary, cross_study, fitness_table, grouping,
                                  per_image_data, verdict, write_outputs)

REPO = pathlib.Path(__file__).resolve().parent.parent
GRID = [0.0, 0.5, 1.0, 2.0, 4.0, 8.0]
LABEL = 'Strong + paper attacks (per image)'
SIZES = {0.25: 1_000, 0.5: 4_000, 1.0: 16_000}
MARGINS = verdict.Margins(rho=0.3, difference=0.05)
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


def _write_study(workdir: pathlib.Path, slope: float, seeds=(0, 1, 2), unfit=()):
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
  write_outputs.write_all(rows, workdir, MARGINS)
  return rows


@pytest.fixture(scope='module')
def studies(tmp_path_factory):
  root = tmp_path_factory.mktemp('studies')
  found = {}
  for name, slope, unfit in (('toy_shrinking', -0.5, ()), ('toy_growing', 0.5, ()),
                             ('toy_flagged', -0.5, ((0.25, 'standard', 0),
                                                    (0.25, 'standard', 1),
                                                    (0.25, 'standard', 2)))):
    found[name] = (root / name, _write_study(root / name, slope, unfit=unfit))
  return found


def _claims(folder):
  return claim_summary.read_csv(folder / claim_summary.FILE_NAME)


def test_claims_hold_the_reports_numbers_and_verdicts(studies):
  folder, rows = studies['toy_shrinking']
  claims = _claims(folder)
  fit, per_image = fitness_table.fit_only(rows, per_image_data.load(folder, rows))
  headline = grouping.headline_eps(rows)
  worst = grouping.worst_attack_accuracy(fit)
  spearman = verdict.size_spearman(fit, worst, 'standard', headline, per_image)
  by_eps = verdict.size_claim(spearman, MARGINS, verdict.size_difference(
      fit, worst, 'standard', headline, per_image))
  found = {r['eps_255']: r for r in claims
           if (r['view'], r['train_mode']) == ('headline', 'standard')}
  assert sorted(found) == headline
  report = (folder / 'report.md').read_text()
  for e in headline:
    rho, low, high = spearman[e]
    assert (found[e]['rho'], found[e]['rho_low'], found[e]['rho_high']) == pytest.approx(
        (rho, low, high), abs=1e-5)
    assert found[e]['size_verdict'] == by_eps[e]
    # The report's Spearman table shows the same interval.
    assert f'{rho:+.2f} [{low:+.2f}, {high:+.2f}]' in report
    assert found[e]['paired'] and found[e]['seeds'] == 3
  # Larger sizes fall earlier here: claim (a) agrees, in the report's words too.
  assert found[2.0]['size_verdict_overall'] == 'agrees'
  assert '**agrees**' in report.split('- (a)')[1].split('\n')[0]
  views = {r['view'] for r in claims if r['train_mode'] == 'standard'}
  assert views == set(claim_summary.VIEWS)
  (min_eps,) = [r for r in claims if (r['view'], r['train_mode']) == ('min_eps', 'standard')]
  assert min_eps['eps_255'] is None and min_eps['rho'] < 0
  # Claim (b) rides on the adversarial mode's headline rows.
  pgd = [r for r in claims if (r['view'], r['train_mode']) == ('headline', 'pgd')]
  assert {r['training_verdict_overall'] for r in pgd} == {'agrees'}
  assert all(r['training_verdict'] for r in pgd)
  assert all(r['training_verdict'] == '' for r in claims if r['train_mode'] == 'standard')


def test_a_mode_with_too_few_fit_sizes_has_no_verdict(studies):
  claims = _claims(studies['toy_flagged'][0])
  standard = [r for r in claims if r['train_mode'] == 'standard']
  assert {r['view'] for r in standard} == {'headline'}
  assert {r['size_verdict'] for r in standard} == {claim_summary.NO_VERDICT}
  assert all(math.isnan(r['rho']) for r in standard)
  assert {(r['sizes'], r['fit_sizes']) for r in standard} == {(3, 2)}
  assert {r['size_verdict'] for r in claims if r['train_mode'] == 'pgd'} != {
      claim_summary.NO_VERDICT}


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
  assert summary[0].split(',') == ['study', *claim_summary.COLUMNS]
  # Every study's claims, number for number.
  for name, (folder, _) in studies.items():
    mine = [line for line in summary[1:] if line.startswith(name + ',')]
    assert len(mine) == len(_claims(folder)) > 0
  assert (out / cross_study.FIGURE_FILE).stat().st_size > 10_000
  text = readme.read_text()
  assert text.startswith('# Results\n\nbefore\n') and text.endswith('after\n')
  assert 'old' not in text
  table = text.split(cross_study.TABLE_START)[1].split(cross_study.TABLE_END)[0]
  lines = [l for l in table.splitlines() if l.startswith('| [')]
  assert len(lines) == 6  # 3 studies x 2 modes.
  by_study = {l.split('](')[0][3:] + ' ' + l.split(' | ')[1]: l for l in lines}
  shrinking = by_study['toy_shrinking standard']
  claims = _claims(studies['toy_shrinking'][0])
  at_2 = {r['view']: r for r in claims
          if r['train_mode'] == 'standard' and r['eps_255'] in (2.0, None)}
  assert f'{at_2["headline"]["rho"]:+.2f} [{at_2["headline"]["rho_low"]:+.2f}' in shrinking
  assert f'{at_2["matched"]["rho"]:+.2f}' in shrinking
  assert '](' in shrinking and 'toy_shrinking/report.md)' in shrinking
  assert by_study['toy_growing standard'].split(' | ')[2].startswith('disagrees')
  assert by_study['toy_flagged standard'].split(' | ')[2].startswith('no verdict')
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
