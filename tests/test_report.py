"""Report and figure on constructed results with known answers."""

import itertools

from medadv_jax.reporting import figures, grouping, report, results_table

EPS_255 = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0)
WIDTHS = {0.25: 1_000, 0.5: 4_000, 1.0: 16_000}


def _rows(pgd_beats_fgsm=True):
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
                       flops=10.0 * params, train_mode=mode, seed=0, attack=attack,
                       target=target, steps=20 if attack == 'pgd' else 1, eps=e / 255,
                       eps_255=e, accuracy=acc, n=100, ci_low=acc - 0.05,
                       ci_high=acc + 0.05, accuracy_single_eps=acc,
                       clean_test_accuracy=0.9, best_epoch=1, val_score=0.9))
  return rows


def test_spearman_is_minus_one_for_size_ordered_standard_and_plus_one_for_pgd():
  text = report.render_report(_rows())
  section = text.split('## Does robustness fall with model size?')[1].split('##')[0]
  standard_line = next(l for l in section.splitlines() if l.startswith('| standard'))
  pgd_line = next(l for l in section.splitlines() if l.startswith('| pgd'))
  assert standard_line.count('-1.00') == 5
  assert pgd_line.count('+1.00') == 5


def test_adversarial_gain_is_difference_of_worst_attack_accuracies():
  text = report.render_report(_rows())
  gains = text.split('## What adversarial training buys')[1].split('##')[0]
  # Width 1 at eps 8, worst attack PGD: standard max(0, 0.9 - 0.05*8*3 - 0.08) = 0;
  # PGD-trained 0.9 - 0.02*8*1 - 0.08 = 0.66.
  line = next(l for l in gains.splitlines() if l.startswith('| cnn w=1 '))
  assert line.rstrip(' |').endswith('+0.660')


def test_sanity_section_counts_pgd_weaker_than_fgsm():
  good = report.render_report(_rows(pgd_beats_fgsm=True))
  assert 'PGD at least as strong as FGSM (same target, same eps): 72/72' in good
  bad_rows = _rows(pgd_beats_fgsm=True)
  for row in bad_rows:
    if row['attack'] == 'pgd' and row['eps_255'] == 8.0:
      row['accuracy'] += 0.5
  # 3 sizes x 2 modes x 2 targets at eps 8 are now violated.
  assert '60/72 comparisons hold' in report.render_report(bad_rows)


def test_curves_group_by_attack_and_mode_with_one_line_per_size():
  curves = grouping.curves(_rows())
  assert set(curves) == {(a, m) for a in ('FGSM, untargeted', 'FGSM, least-likely',
                                          'PGD-20, untargeted', 'PGD-20, least-likely')
                         for m in ('standard', 'pgd')}
  lines = curves[('PGD-20, untargeted', 'standard')]
  assert list(lines) == ['cnn w=0.25', 'cnn w=0.5', 'cnn w=1']
  eps, mean, low, high = lines['cnn w=1']
  assert list(eps) == list(EPS_255) and all(low <= mean) and all(mean <= high)


def test_outputs_are_written(tmp_path):
  rows = _rows()
  figures.plot_robustness_curves(rows, tmp_path / 'curves.png')
  results_table.write_csv(rows, tmp_path / 'results.csv')
  assert (tmp_path / 'curves.png').read_bytes()[:4] == b'\x89PNG'
  read_back = results_table.read_csv(tmp_path / 'results.csv')
  assert len(read_back) == len(rows)
  assert list(read_back[0])[:4] == ['dataset', 'model', 'width', 'depth']
