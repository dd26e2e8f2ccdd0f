"""Report and figure on constructed results with known answers."""

import importlib.metadata
import itertools
import json

import pytest
from scipy import stats as scipy_stats

from configs import default
from medadv_jax import cell_data, environment
from medadv_jax.reporting import report, write_outputs
from medadv_jax.reporting.claims import analysis, plan as plan_lib
from medadv_jax.reporting.figures import plotting
from medadv_jax.reporting.inputs import provenance, result_rows
from medadv_jax.reporting.statistics import worst_attack
from medadv_jax.reporting.tables import results_table, sanity_table
import analysis_fixtures

EPS_255 = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0)
WIDTHS = {0.25: 1_000, 0.5: 4_000, 1.0: 16_000}


def _rows(pgd_beats_fgsm=True, schedule='vmap'):
  """Standard training: accuracy falls with size; PGD training: rises with size."""
  rows = []
  for (width, params), mode, attack, target in itertools.product(
      WIDTHS.items(), ('standard', 'pgd'), ('fgsm', 'pgd'), ('untargeted', 'least_likely')):
    rank = list(WIDTHS).index(width)
    for e in EPS_255:
      base = 0.9 - (0.05 * e * (rank + 1) if mode == 'standard' else 0.02 * e * (3 - rank))
      drop = 0.01 * e if attack == 'pgd' and pgd_beats_fgsm else 0.0
      acc = max(0.0, base - drop)
      rows.append(dict(dataset='toy', model='cnn', width=width, depth=None, params=params,
                       flops=10.0 * params, train_mode=mode, seed=0, attack=attack, norm='linf',
                       target=target, steps=20 if attack == 'pgd' else 1, eps=e / 255,
                       eps_255=e, accuracy=acc, n=100, ci_low=acc - 0.05,
                       ci_high=acc + 0.05, accuracy_single_eps=acc,
                       clean_test_accuracy=0.9, clean_test_n=100, best_epoch=1,
                       val_score=0.9, schedule=schedule))
  return rows


def test_spearman_is_minus_one_for_size_ordered_standard_and_plus_one_for_pgd():
  text = report.render_report(_rows())
  section = text.split('## Does robustness fall with model size?')[1].split('##')[0]
  standard_line = next(l for l in section.splitlines() if l.startswith('| standard'))
  pgd_line = next(l for l in section.splitlines() if l.startswith('| pgd'))
  standard_cells = [c.strip() for c in standard_line.strip('| ').split('|')][1:]
  pgd_cells = [c.strip() for c in pgd_line.strip('| ').split('|')][1:]
  # Rho follows the construction exactly at every eps (0.5 ... 8), a value alone:
  # no interval (a rank correlation over 3 sizes is a description, not a test).
  assert standard_cells == ['-1.00'] * len(standard_cells)
  assert pgd_cells == ['+1.00'] * len(pgd_cells)


def test_adversarial_gain_is_difference_of_worst_attack_accuracies():
  rows = _rows()
  text = report.render_report(rows)
  gains = text.split('## What adversarial training buys')[1].split('##')[0]
  # Width 1 at eps 8, worst attack PGD: standard max(0, 0.9 - 0.05*8*3 - 0.08) = 0;
  # PGD-trained 0.9 - 0.02*8*1 - 0.08 = 0.66. One seed and no per-image data:
  # no interval rather than one that treats the paired models as independent.
  line = next(l for l in gains.splitlines() if l.startswith('| cnn w=1 '))
  assert line.endswith('| +0.660 n/a (1 seed, no per-image data) | 1: images only |')
  # A second seed 0.1 higher in both modes: each seed's gain is 0.66, so the
  # t-interval over the seeds' paired gains is exactly [0.66, 0.66].
  second = [dict(r, seed=1, accuracy=r['accuracy'] + 0.1) for r in rows]
  text = report.render_report(rows + second)
  gains = text.split('## What adversarial training buys')[1].split('##')[0]
  line = next(l for l in gains.splitlines() if l.startswith('| cnn w=1 '))
  assert line.endswith('| +0.660 [+0.66, +0.66] | 2 |')


def test_sanity_section_counts_pgd_weaker_than_fgsm():
  good = report.render_report(_rows(pgd_beats_fgsm=True))
  assert 'PGD at least as strong as FGSM (same target, same eps): 72/72' in good
  bad_rows = _rows(pgd_beats_fgsm=True)
  for row in bad_rows:
    if row['attack'] == 'pgd' and row['eps_255'] == 8.0:
      row['accuracy'] += 0.5
  # 3 sizes x 2 modes x 2 targets at eps 8 are now violated.
  assert '60/72 comparisons hold' in report.render_report(bad_rows)


def test_single_radius_checks_are_reported_only_where_the_schedule_has_them():
  rows = _rows()
  rises = [r for r in rows if r['attack'] == 'fgsm' and r['eps_255'] == 8.0]
  for r in rises:  # FGSM's accuracy at 8/255 alone above that at 4/255.
    r['accuracy_single_eps'] = 0.95
  text = report.render_report(rows)
  assert 'eps = 0 gives the same accuracy under every attack' in text
  assert f'accuracy rose with eps in {len(rises)} of ' in text
  for r in rows:
    r['schedule'] = 'cascade'
  text = report.render_report(rows)
  # Cumulated verdicts would pass both by construction: no "yes", no count.
  assert 'eps = 0 and the attacks run at each eps alone: not checked.' in text
  assert 'accuracy rose with eps' not in text and 'gives the same accuracy' not in text
  assert 'PGD at least as strong as FGSM' in text
  assert 'bisected' not in text
  for r in rows:
    r['schedule'] = 'min_eps'
  # Bisection may miss a fooling radius: the header says so.
  assert "Under the 'min_eps' schedule (the schedule column) the radii are bisected" in (
      report.render_report(rows))


def test_curves_group_by_attack_and_mode_with_one_line_per_size():
  curves = result_rows.curves(_rows())
  assert set(curves) == {(a, m) for a in ('FGSM, untargeted', 'FGSM, least-likely',
                                          'PGD-20, untargeted', 'PGD-20, least-likely')
                         for m in ('standard', 'pgd')}
  lines = curves[('PGD-20, untargeted', 'standard')]
  assert list(lines) == ['cnn w=0.25', 'cnn w=0.5', 'cnn w=1']
  eps, mean, low, high = lines['cnn w=1']
  assert list(eps) == list(EPS_255) and all(low <= mean) and all(mean <= high)


def test_outputs_are_written(tmp_path):
  rows = _rows()
  plotting.plot_robustness_curves(rows, tmp_path / 'curves.png')
  results_table.write_csv(rows, tmp_path / 'results.csv')
  assert (tmp_path / 'curves.png').read_bytes()[:4] == b'\x89PNG'
  read_back = results_table.read_csv(tmp_path / 'results.csv')
  assert len(read_back) == len(rows)
  assert list(read_back[0])[:4] == ['dataset', 'model', 'width', 'depth']


def _with_ensemble_and_sanity(rows, drop=0.05, failing_width=None):
  """Adds per-image ensemble rows (drop below the best attack, as an ensemble can
  be) and sanity columns; the model of `failing_width` fails the PGD-vs-FGSM check."""
  by_cell = {}
  for r in rows:
    by_cell.setdefault((r['width'], r['train_mode'], r['eps_255']), []).append(r)
  out = []
  for (width, mode, eps), members in by_cell.items():
    acc = max(0.0, min(m['accuracy'] for m in members) - drop)
    out.append(dict(members[0], attack='ensemble', target='any', steps=0, norm='linf',
                    accuracy=acc, ci_low=acc - 0.01, ci_high=acc + 0.01,
                    median_min_eps_255=2.0))
  for r in rows + out:
    failing = r['width'] == failing_width
    r.update(sanity_ok=not failing, sanity_tolerance=0.03, sanity_eps0_clean=True,
             sanity_eps0_clean_value=0.0, sanity_non_increasing=True,
             sanity_non_increasing_value=0.0, sanity_large_eps=True,
             sanity_large_eps_value=0.0, sanity_pgd_vs_fgsm=not failing,
             sanity_pgd_vs_fgsm_value=0.25 if failing else 0.0, sanity_more_steps=None,
             sanity_more_steps_value=None, sanity_square_vs_white_box=None,
             sanity_square_vs_white_box_value=None)
  return rows + out


def test_attack_labels_name_every_attack():
  row = dict(attack='apgd_dlr', target='least_likely', steps=100, restarts=3)
  assert cell_data.attack_label(row) == 'APGD-DLR-100 x3, least-likely'
  assert cell_data.attack_label(dict(row, attack='square', steps=1000, restarts=1,
                                    target='untargeted')) == 'Square-1000, untargeted'
  assert cell_data.attack_label(dict(row, attack='pgd_l2', steps=20, restarts=1)) == (
      'PGD-L2-20, least-likely')
  assert cell_data.attack_label(dict(attack='ensemble', norm='linf')) == 'Ensemble (per image)'


def test_worst_attack_is_the_per_image_ensemble_when_there_is_one():
  text = report.render_report(_with_ensemble_and_sanity(_rows(), drop=0.05))
  assert 'per-image ensemble' in text
  worst = text.split('## Worst-attack accuracy')[1].split('##')[0]
  # Width 0.25, PGD-trained, eps 0.5: best attack (PGD) 0.9 - 0.02*0.5*3 - 0.005 = 0.865;
  # the ensemble is 0.05 lower.
  line = next(l for l in worst.splitlines() if l.startswith('| cnn w=0.25 | pgd'))
  assert line.split('|')[3].strip().startswith('0.815')


def test_per_attack_table_lists_each_attack_and_the_ensemble_last():
  text = report.render_report(_with_ensemble_and_sanity(_rows()))
  table = text.split('## Accuracy per attack')[1].split('##')[0]
  lines = [l for l in table.splitlines() if l.startswith('| cnn w=1 | standard')]
  assert [l.split('|')[3].strip() for l in lines] == [
      'FGSM, least-likely', 'FGSM, untargeted', 'PGD-20, least-likely', 'PGD-20, untargeted',
      'Ensemble (per image)']
  assert lines[-1].rstrip(' |').endswith('| 2')  # Median minimal eps.


def test_sanity_table_flags_the_failing_model_with_its_value():
  text = report.render_report(_with_ensemble_and_sanity(_rows(), failing_width=0.5))
  section = text.split('## Sanity checks')[1]
  assert 'all applicable checks pass for 4 of 6 models' in section
  failing = [l for l in section.splitlines() if l.startswith('| cnn w=0.5 ')]
  assert len(failing) == 2 and all('**FAIL** (0.25)' in l for l in failing)
  passing = next(l for l in section.splitlines() if l.startswith('| cnn w=1 '))
  # Certificates and the strong attack were not run for these rows: n/a.
  assert passing.count('| ok') == 4 and passing.count('n/a') == 6
  # Below the table, each failing check is named with what its failure means.
  (reading,) = [l for l in section.splitlines() if l.startswith('- **')]
  assert reading.startswith('- **PGD >= FGSM** fails for 2 of 6 models, largest value 0.25: '
                            'PGD did worse than one FGSM step')


def test_sanity_reading_counts_failing_models_flagged_unfit():
  rows = _with_ensemble_and_sanity(_rows(), failing_width=0.5)
  for r in rows:
    r['fit'] = not (r['width'] == 0.5 and r['train_mode'] == 'standard')
  section = report.render_report(rows).split('## Sanity checks')[1]
  (reading,) = [l for l in section.splitlines() if l.startswith('- **')]
  assert reading.startswith('- **PGD >= FGSM** fails for 2 of 6 models (1 of them flagged '
                            'unfit, so out of the verdicts), largest value 0.25')
  # These rows hold no strong attack: the verdicts rest on the paper's attacks.
  assert '- No strong attack ran, so the verdicts rest on the paper\'s attacks alone' in section
  passing = report.render_report(_with_ensemble_and_sanity(_rows()))
  assert 'What the failing checks mean' not in passing and 'No strong attack ran' not in passing
  with_strong = rows + [dict(rows[0], attack='strong')]
  assert ('- The verdicts use each image\'s worst case over the paper\'s attacks and, at its '
          'radii, the strong attack') in sanity_table.section_lines(with_strong)[-1]


def test_other_training_modes_are_reported_and_plotted_in_order(tmp_path):
  rows = [dict(r, train_mode={'standard': 'trades', 'pgd': 'fgsm_rs'}[r['train_mode']])
          for r in _rows()] + [r for r in _rows() if r['train_mode'] == 'standard']
  text = report.render_report(rows)
  table = text.split('## Model sizes and clean accuracy')[1].split('##')[0]
  modes = [line.split('|')[4].strip() for line in table.splitlines()
           if line.startswith('| cnn w=1 ')]
  assert modes == ['standard', 'fgsm_rs', 'trades']
  plotting.plot_robustness_curves(rows, tmp_path / 'curves.png')
  assert (tmp_path / 'curves.png').stat().st_size > 0


def _claim_rows(standard, pgd, clean=None, n=1000):
  """Ensemble rows of 3 sizes x 2 modes at eps 0, 1, 2, 4 on n images.

  `standard` / `pgd`: {rank: accuracy at every eps > 0} (eps 0: 0.9); `clean`:
  {rank: clean test accuracy} (default 0.9 for every size).
  """
  rows = []
  for rank, (width, params) in enumerate(WIDTHS.items()):
    for mode, accuracies in (('standard', standard), ('pgd', pgd)):
      for e in (0.0, 1.0, 2.0, 4.0):
        acc = 0.9 if e == 0 else accuracies[rank]
        rows.append(dict(dataset='toy', model='cnn', width=width, depth=None,
                         params=params, flops=10.0 * params, train_mode=mode, seed=0,
                         attack='ensemble', target='any', steps=0, norm='linf',
                         eps=e / 255, eps_255=e, accuracy=acc, n=n, ci_low=acc - 0.02,
                         ci_high=acc + 0.02, accuracy_single_eps=acc,
                         clean_test_accuracy=(clean or {}).get(rank, 0.9),
                         clean_test_n=n))
  return rows


def _clean_verdicts(rows) -> dict:
  """per_image.json's test-set clean verdicts of `rows`' models: image i right iff
  i < clean accuracy x n, so a more accurate size is right on a superset."""
  out = {}
  for r in rows:
    n, right = r['clean_test_n'], round(r['clean_test_accuracy'] * r['clean_test_n'])
    out[(result_rows.size_key(r), r['train_mode'], r['seed'])] = {
        'test_indices': [], 'min_eps_255': {}, 'test_clean_correct': [i < right
                                                                      for i in range(n)]}
  return out


def _render(rows, **kwargs):
  """report.md with the claims analysed under configs/default.py's plan."""
  plan = plan_lib.Plan.from_config(default.get_config().analysis)
  return report.render_report(rows, analysis=analysis.analyse(rows, {}, plan, []), **kwargs)


def _section(text, title):
  return text.split(f'## {title}')[1].split('\n## ')[0]


def _claim_line(text, claim):
  section = _section(text, 'Agreement with the paper')
  return next(l for l in section.splitlines() if l.startswith(f'- ({claim})'))


def test_clean_accuracies_that_differ_strongly_are_not_comparable():
  rows = _claim_rows({0: 0.5, 1: 0.4, 2: 0.3}, {0: 0.7, 1: 0.7, 2: 0.7},
                     clean={0: 0.7, 1: 0.8, 2: 0.95})
  text = _render(rows, per_image=_clean_verdicts(rows))
  section = _section(text, 'Are clean accuracies comparable?')
  line = next(l for l in section.splitlines() if l.startswith('| standard'))
  # Largest minus smallest: 0.95 - 0.7 on 1000 test images, the 250 images only
  # the largest gets right; spread 0.25.
  assert line.endswith('| +0.250 [+0.22, +0.28] (1 seed: images only) | 0.250 | **no** |')
  assert '**standard: not comparable**' in section
  assert '**pgd: not comparable**' in section  # The same clean accuracies.
  assert 'partly reflects clean accuracy' in section
  # The size claim carries the caveat.
  assert 'not comparable (see "Are clean accuracies comparable?"): claim (a) mixes' in _section(
      text, 'Agreement with the paper')


def test_equal_clean_accuracies_are_comparable():
  rows = _claim_rows({0: 0.5, 1: 0.4, 2: 0.3}, {0: 0.7, 1: 0.7, 2: 0.7})
  text = _render(rows, per_image=_clean_verdicts(rows))
  section = _section(text, 'Are clean accuracies comparable?')
  assert '**standard: comparable**' in section and 'not comparable' not in section
  assert '0.900 [0.88, 0.92]' in section  # Wilson interval of 900 / 1000.
  assert 'not comparable' not in _section(text, 'Agreement with the paper')


def test_small_difference_beyond_the_tolerance_is_not_comparable_even_if_noisy():
  # Spread 0.06 > 0.05 on 100 images: neither the interval nor the spread passes.
  rows = _claim_rows({0: 0.5, 1: 0.4, 2: 0.3}, {0: 0.7, 1: 0.7, 2: 0.7},
                     clean={0: 0.86, 1: 0.9, 2: 0.92}, n=100)
  text = report.render_report(rows, per_image=_clean_verdicts(rows))
  section = _section(text, 'Are clean accuracies comparable?')
  assert 'the spread exceeds 0.05' in section
  assert 'reaches beyond ±0.05' in section


def test_equal_clean_accuracies_on_too_few_images_are_not_shown_comparable():
  # Equal accuracies, but on 40 images the interval of the difference is wider
  # than +-0.05: equivalence is not shown, however close the means are.
  rows = _claim_rows({0: 0.5, 1: 0.4, 2: 0.3}, {0: 0.7, 1: 0.7, 2: 0.7}, n=40)
  text = report.render_report(rows, per_image=_clean_verdicts(rows))
  section = _section(text, 'Are clean accuracies comparable?')
  assert '**standard: not comparable**' in section and 'reaches beyond ±0.05' in section
  assert 'the spread exceeds' not in section


def test_claims_without_the_modes_they_need_are_not_tested():
  only_pgd = [r for r in _claim_rows({0: 0.5, 1: 0.5, 2: 0.5}, {0: 0.8, 1: 0.8, 2: 0.2})
              if r['train_mode'] == 'pgd']
  assert "not tested (fewer than 3 sizes trained in mode 'standard')" in _claim_line(
      _render(only_pgd), 'a')
  only_standard = [r for r in _claim_rows({0: 0.6, 1: 0.4, 2: 0.2}, {0: 0.8, 1: 0.8, 2: 0.8})
                   if r['train_mode'] == 'standard']
  assert "not tested (needs modes 'pgd' and 'standard')" in _claim_line(
      _render(only_standard), 'b')


def test_one_seed_gets_no_verdict_under_the_default_plan():
  text = _render(_claim_rows({0: 0.6, 1: 0.4, 2: 0.2}, {0: 0.8, 1: 0.7, 2: 0.6}))
  assert '**no verdict: 1 seed, the plan needs 5**' in _claim_line(text, 'a')


def test_report_sections_come_in_reading_order_and_list_files():
  text = _render(_rows(), files=[('summary.csv', 'means over seeds')])
  titles = [l[3:] for l in text.splitlines() if l.startswith('## ')]
  assert titles == ['Model sizes and clean accuracy', 'Are the models fit to attack?',
                    'Are clean accuracies comparable?', 'Worst-attack accuracy at selected eps (x 1/255)',
                    'Mean ± std over seeds (summary.csv)',
                    'Accuracy per attack at selected eps (x 1/255)',
                    'Does robustness fall with model size?',
                    'Largest minus smallest size, paired',
                    'What adversarial training buys (PGD-trained minus standard)',
                    'Is the attack as strong for every size? (audit)',
                    'Agreement with the paper', 'Sanity checks', 'Files']
  assert text.rstrip().endswith('- `summary.csv`: means over seeds')


def test_worst_attack_interval_over_several_seeds_is_a_t_interval_of_the_mean():
  row = dict(model='cnn', depth=None, width=1.0, train_mode='standard', eps_255=2.0,
             attack='ensemble', norm='linf', n=200)
  one = [dict(row, seed=0, accuracy=0.6, ci_low=0.53, ci_high=0.67)]
  ((accuracy, low, high, per_seed),) = worst_attack.worst_attack_accuracy(one).values()
  assert (accuracy, low, high, per_seed) == (0.6, 0.53, 0.67, [0.6])  # Wilson, as given.
  three = [dict(row, seed=s, accuracy=a, ci_low=0.0, ci_high=1.0)
           for s, a in ((2, 0.8), (0, 0.6), (1, 0.7))]
  ((accuracy, low, high, per_seed),) = worst_attack.worst_attack_accuracy(three).values()
  assert accuracy == pytest.approx(0.7) and per_seed == [0.6, 0.7, 0.8]  # Seed order.
  # Not the average of the seeds' Wilson bounds: mean +- t(0.975, 2) * sd / sqrt(3).
  half = scipy_stats.t.ppf(0.975, 2) * 0.1 / 3 ** 0.5
  assert (low, high) == pytest.approx((0.7 - half, 0.7 + half))


def test_report_from_a_workdir_shows_its_cells_environments(tmp_path):
  rows = _rows()
  names = list(dict.fromkeys(cell_data.Cell.from_row(r).name for r in rows))
  for name in names[:-1]:  # The last cell finished before environment.json existed.
    (tmp_path / 'cells' / name).mkdir(parents=True)
    (tmp_path / 'cells' / name / environment.FILE_NAME).write_text(
        json.dumps(environment.describe()))
  loaded = provenance.load(tmp_path, rows)
  assert list(loaded) == names and loaded[names[-1]] is None
  text = report.render_report(rows, environments=loaded)
  section = text.split('## Software and hardware')[1]
  assert f'({len(names) - 1}): results_version {cell_data.RESULTS_VERSION};' in section
  assert f'packages.jax {importlib.metadata.version("jax")}' in section
  assert f'without environment.json (finished before it was written): {names[-1]}' in section
  assert '## Software and hardware' not in report.render_report(rows)
  write_outputs.write_all(rows, tmp_path, analysis_fixtures.plan())
  assert '## Software and hardware' in (tmp_path / 'report.md').read_text()
