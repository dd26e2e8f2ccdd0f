"""validation_curves.png from the cells' metrics.jsonl: drawn from the validation
rows only, cells without scores left out, no file when none has any."""

import json

from medadv_jax import cell_data
from medadv_jax.reporting import write_outputs
from medadv_jax.reporting.figures import training_figures
import analysis_fixtures


def _row(width, mode, seed):
  return dict(dataset='toy', model='cnn', width=width, depth=None, params=int(1000 * width),
              flops=1.0, train_mode=mode, seed=seed, attack='ensemble', target='any', norm='linf',
              steps=0, eps=0.0, eps_255=0.0, accuracy=0.8, n=10, ci_low=0.7, ci_high=0.9,
              accuracy_single_eps=0.8, clean_test_accuracy=0.8, clean_test_n=200)


def _write_metrics(workdir, row, lines):
  folder = workdir / 'cells' / cell_data.Cell.from_row(row).name
  folder.mkdir(parents=True)
  (folder / 'metrics.jsonl').write_text(''.join(json.dumps(l) + '\n' for l in lines)
                                        + '{"step": 9, "val/sc')  # Cut short by a kill.


def test_curves_hold_the_validation_rows_of_each_cell(tmp_path):
  rows = [_row(w, m, 0) for w in (0.5, 1.0) for m in ('standard', 'pgd')]
  for i, r in enumerate(rows[:3]):
    _write_metrics(tmp_path, r, [{'step': 5, 'train/loss': 1.0},
                                 {'step': 10, 'epoch': 1, 'val/score': 0.5 + i / 10},
                                 {'step': 20, 'epoch': 2, 'val/score': 0.6 + i / 10},
                                 {'step': 20, 'length/stop_reason': 'epochs'}])
  found = training_figures.curves(tmp_path, rows)
  assert len(found) == 3  # The fourth cell has no metrics.jsonl.
  assert found[('standard', ('cnn', 0, 0.5), 0)] == ([10, 20], [0.5, 0.6])
  path = tmp_path / training_figures.FILE_NAME
  assert training_figures.plot_validation_curves(tmp_path, rows, path)
  assert path.stat().st_size > 5_000


def test_no_scores_no_figure_and_the_report_says_so(tmp_path):
  rows = [_row(w, 'standard', 0) for w in (0.5, 1.0)]
  stale = tmp_path / training_figures.FILE_NAME
  stale.write_bytes(b'from an earlier run')
  write_outputs.write_all(rows, tmp_path, analysis_fixtures.plan())
  assert not stale.exists()
  assert ('not drawn: no finished cell has a metrics.jsonl'
          in (tmp_path / 'report.md').read_text())
