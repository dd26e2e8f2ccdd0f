"""summary.csv and its report section on constructed rows with known means and stds."""

import csv

import pytest

from medadv_jax.reporting.tables import summary_table


def _row(seed, accuracy, clean, width=1.0, attack='pgd', eps_255=1.0, mode='standard'):
  return dict(dataset='toy', model='cnn', width=width, depth=None, params=int(1000 * width),
              flops=1e4 * width, train_mode=mode, seed=seed, attack=attack,
              target='any' if attack == 'ensemble' else 'untargeted',
              steps=0 if attack == 'ensemble' else 20, norm='linf', eps_255=eps_255,
              eps=eps_255 / 255, accuracy=accuracy, n=100, ci_low=accuracy - 0.05,
              ci_high=accuracy + 0.05, clean_test_accuracy=clean)


def test_two_seeds_give_mean_and_sample_std():
  summary = summary_table.summarise([_row(0, 0.6, 0.85), _row(1, 0.8, 0.95)])
  assert len(summary) == 1
  s = summary[0]
  assert s['n_seeds'] == 2
  assert s['accuracy_mean'] == pytest.approx(0.7)
  assert s['accuracy_std'] == pytest.approx(0.141421, abs=1e-6)  # ddof 1: 0.1 * sqrt(2).
  assert s['clean_test_accuracy_mean'] == pytest.approx(0.9)
  assert s['clean_test_accuracy_std'] == pytest.approx(0.070711, abs=1e-6)
  assert (s['params'], s['flops'], s['attack']) == (1000, 1e4, 'PGD-20, untargeted')


def test_one_seed_has_no_std_and_an_empty_csv_cell(tmp_path):
  summary = summary_table.summarise([_row(0, 0.6, 0.85)])
  assert summary[0]['n_seeds'] == 1 and summary[0]['accuracy_std'] is None
  summary_table.write_csv(summary, tmp_path / 'summary.csv')
  with open(tmp_path / 'summary.csv', newline='') as f:
    (read,) = list(csv.DictReader(f))
  assert tuple(read) == summary_table.COLUMNS
  assert read['accuracy_std'] == '' and read['clean_test_accuracy_std'] == ''
  assert float(read['accuracy_mean']) == pytest.approx(0.6)
  assert 'nan' not in (tmp_path / 'summary.csv').read_text().lower()


def test_groups_by_size_mode_attack_and_eps_with_ensemble_last():
  rows = [_row(seed, acc, 0.9, width=w, attack=a, eps_255=e, mode=m)
          for seed, acc in ((0, 0.5), (1, 0.7))
          for w in (0.5, 1.0) for m in ('pgd', 'standard')
          for a in ('ensemble', 'fgsm') for e in (2.0, 0.0)]
  summary = summary_table.summarise(rows)
  assert len(summary) == 2 * 2 * 2 * 2 and all(s['n_seeds'] == 2 for s in summary)
  first = [(s['width'], s['train_mode'], s['attack'], s['eps_255']) for s in summary[:4]]
  assert first == [(0.5, 'standard', 'FGSM, untargeted', 0.0),
                   (0.5, 'standard', 'FGSM, untargeted', 2.0),
                   (0.5, 'standard', 'Ensemble (per image)', 0.0),
                   (0.5, 'standard', 'Ensemble (per image)', 2.0)]


def test_repeated_rows_of_a_seed_count_once():
  summary = summary_table.summarise([_row(0, 0.6, 0.9), _row(0, 0.6, 0.9)])
  assert summary[0]['n_seeds'] == 1


def test_markdown_shows_mean_and_std_for_several_seeds_and_the_value_alone_for_one():
  rows = [_row(0, 0.6, 0.85, attack='ensemble'), _row(1, 0.8, 0.95, attack='ensemble'),
          _row(0, 0.3, 0.8, width=0.5, attack='ensemble')]
  lines = summary_table.markdown_lines(rows, ['standard'], [1.0])
  by_width = {l.split('|')[1].strip(): [c.strip() for c in l.split('|')[1:-1]]
              for l in lines if l.startswith('| cnn')}
  assert by_width['cnn w=1'][4:] == ['2', '0.900 ± 0.071', '0.700 ± 0.141']
  assert by_width['cnn w=0.5'][4:] == ['1', '0.800', '0.300']
  # Smallest model (by parameters) first.
  assert [l.split('|')[1].strip() for l in lines if l.startswith('| cnn')] == [
      'cnn w=0.5', 'cnn w=1']
