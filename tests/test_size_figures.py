"""Size figures, the minimal-eps figure and write_all on constructed inputs: what each
panel and line holds, not only that a file appears."""

import json

import matplotlib.image
import numpy as np
import pytest

from medadv_jax import cell_data
from medadv_jax.reporting import write_outputs
from medadv_jax.reporting.figures import min_eps_figures, size_figures
from medadv_jax.reporting.inputs import per_image_data
import analysis_fixtures


WIDTHS = {0.25: 1_000, 0.5: 4_000, 1.0: 16_000}
EPS_255 = (0.0, 1.0, 2.0, 4.0, 8.0)
N = 100


def _accuracy(width, mode, seed, eps):
  """Standard training: falls with size and eps; PGD: higher; seed 1 is 0.1 above seed 0."""
  rank = list(WIDTHS).index(width)
  base = 0.8 - (0.05 * eps * (rank + 1) if mode == 'standard' else 0.02 * eps)
  return round(max(0.0, base) + 0.1 * seed, 6)


def _rows(seeds=(0,), modes=('standard', 'pgd')):
  rows = []
  for (width, params), mode, seed, e in [(wp, m, s, e) for wp in WIDTHS.items()
                                         for m in modes for s in seeds for e in EPS_255]:
    acc = _accuracy(width, mode, seed, e)
    rows.append(dict(dataset='toy', model='cnn', width=width, depth=None, params=params,
                     flops=7.0 * params, train_mode=mode, seed=seed, attack='ensemble',
                     target='any', steps=0, norm='linf', eps=e / 255, eps_255=e,
                     accuracy=acc, n=N, ci_low=acc - 0.04, ci_high=acc + 0.06,
                     accuracy_single_eps=acc, clean_test_accuracy=0.8 + 0.05 * seed,
                     clean_test_n=400))
  return rows


def _is_png(path):
  image = matplotlib.image.imread(path)
  return path.read_bytes()[:4] == b'\x89PNG' and image.shape[0] > 100 and image.shape[1] > 100


def _bars(container):
  """(x, y, below, above) arrays of an errorbar container."""
  line, _, (bars,) = container.lines
  segments = np.array(bars.get_segments())  # (points, 2 ends, xy).
  y = np.asarray(line.get_ydata(), float)
  return (np.asarray(line.get_xdata(), float), y, y - segments[:, 0, 1],
          segments[:, 1, 1] - y)


def test_robust_vs_size_has_a_panel_per_mode_and_a_line_per_headline_eps(tmp_path):
  rows = _rows()
  fig = size_figures.plot_robust_vs_size(rows, tmp_path / 'robust.png')
  assert _is_png(tmp_path / 'robust.png')
  assert [ax.get_title() for ax in fig.axes] == ['standard training',
                                                 'PGD adversarial training']
  for ax in fig.axes:
    # Headline radii present in the grid: 1, 2, 4, 8 (0.5 is not in it).
    assert [c.get_label() for c in ax.containers] == [f'eps {e:g}/255' for e in (1, 2, 4, 8)]
    assert ax.get_xscale() == 'log' and 'parameters' in ax.get_xlabel()
  x, y, below, above = _bars(fig.axes[0].containers[1])  # Standard, eps 2.
  np.testing.assert_allclose(x, [1_000, 4_000, 16_000])
  np.testing.assert_allclose(y, [0.7, 0.6, 0.5])
  # One seed: the Wilson interval of the row (0.04 below, 0.06 above).
  np.testing.assert_allclose(below, 0.04, atol=1e-9)
  np.testing.assert_allclose(above, 0.06, atol=1e-9)


def test_robust_vs_flops_uses_flops_and_seed_std_for_error_bars(tmp_path):
  fig = size_figures.plot_robust_vs_size(_rows(seeds=(0, 1)), tmp_path / 'flops.png', 'flops')
  assert _is_png(tmp_path / 'flops.png')
  x, y, below, above = _bars(fig.axes[0].containers[1])
  np.testing.assert_allclose(x, [7_000, 28_000, 112_000])
  # Seeds 0 and 1 differ by 0.1: mean +0.05, std 0.1 / sqrt(2).
  np.testing.assert_allclose(y, [0.75, 0.65, 0.55])
  np.testing.assert_allclose(below, 0.1 / np.sqrt(2), atol=1e-9)
  np.testing.assert_allclose(above, below)
  with pytest.raises(ValueError, match='flops'):
    size_figures.plot_robust_vs_size(_rows(), tmp_path / 'x.png', 'depth')


def test_clean_vs_size_has_a_line_per_mode_with_wilson_bars_on_the_test_set(tmp_path):
  fig = size_figures.plot_clean_vs_size(_rows(), tmp_path / 'clean.png')
  assert _is_png(tmp_path / 'clean.png')
  (ax,) = fig.axes
  assert [c.get_label() for c in ax.containers] == ['standard training',
                                                    'PGD adversarial training']
  _, y, below, above = _bars(ax.containers[0])
  np.testing.assert_allclose(y, 0.8)
  # Wilson interval of 320/400: [0.758, 0.836].
  np.testing.assert_allclose(below, 0.8 - 0.7580, atol=1e-3)
  np.testing.assert_allclose(above, 0.8358 - 0.8, atol=1e-3)
  assert 'Wilson interval on 400 images' in ax.get_title()


def _per_image(min_eps, clean_correct):
  return {'eps_255': list(EPS_255), 'test_indices': list(range(len(min_eps))),
          'clean_correct': clean_correct,
          'min_eps_255': {'Ensemble (per image)': min_eps, 'PGD-20, untargeted': min_eps}}


def test_min_eps_ecdf_counts_clean_correct_images_and_puts_never_fooled_beyond_grid(
    tmp_path):
  rows = _rows(modes=('standard',))
  size = ('cnn', 0, 1.0)
  # Image 0 is wrong when clean (radius 0) and is left out; of the other four, one is
  # fooled at 1, two at 4, one never.
  per_image = {(size, 'standard', 0): _per_image([0.0, 1.0, 4.0, 4.0, None],
                                                 [False, True, True, True, True]),
               (('cnn', 0, 0.25), 'standard', 0): _per_image([1.0] * 3, [True] * 3)}
  fig = min_eps_figures.plot_min_eps_distributions(rows, per_image, tmp_path / 'min.png')
  assert _is_png(tmp_path / 'min.png')
  (ax,) = fig.axes
  lines = [l for l in ax.get_lines() if not l.get_label().startswith('_')]
  assert [l.get_label().split(':')[0] for l in lines] == ['cnn w=0.25', 'cnn w=1']
  assert lines[1].get_label() == 'cnn w=1: median 4, 25% never fooled (n=4)'
  x, y = lines[1].get_xdata(), lines[1].get_ydata()
  np.testing.assert_allclose(y, [0, 0.25, 0.5, 0.75, 1.0, 1.0])
  np.testing.assert_allclose(x[:4], [1, 1, 4, 4])
  assert x[4] == pytest.approx(2 * 8.0)  # Beyond the grid's end (8/255).
  legend = [t.get_text() for t in ax.get_legend().get_texts()]
  assert 'never fooled on the grid (> 8/255)' in legend


def test_min_eps_figure_is_skipped_without_data(tmp_path):
  assert min_eps_figures.plot_min_eps_distributions(_rows(), {}, tmp_path / 'm.png') is None
  assert not (tmp_path / 'm.png').exists()


def _cell_dir(workdir, width, mode, seed=0):
  return workdir / 'cells' / cell_data.Cell('toy', 'cnn', width, None, mode, seed).name


def test_per_image_files_are_found_by_cell_and_missing_ones_skipped(tmp_path):
  rows = _rows()
  path = _cell_dir(tmp_path, 0.5, 'pgd') / per_image_data.FILE_NAME
  path.parent.mkdir(parents=True)
  path.write_text(json.dumps(_per_image([1.0, None], [True, True])))
  loaded = per_image_data.load(tmp_path, rows)
  assert list(loaded) == [(('cnn', 0, 0.5), 'pgd', 0)]
  assert loaded[(('cnn', 0, 0.5), 'pgd', 0)]['min_eps_255']['PGD-20, untargeted'] == [1.0, None]


def test_write_all_writes_every_artefact_and_lists_it_in_the_report(tmp_path):
  rows = _rows(seeds=(0, 1))
  write_outputs.write_all(rows, tmp_path, analysis_fixtures.plan())
  for name in ('robustness_curves.png', 'robust_vs_size.png', 'robust_vs_flops.png',
               'clean_vs_size.png'):
    assert _is_png(tmp_path / name), name
  assert not (tmp_path / 'min_eps_distributions.png').exists()  # No per_image.json yet.
  report = (tmp_path / 'report.md').read_text()
  assert '`min_eps_distributions.png`: not drawn' in report
  assert '`summary.csv`' in report and '`robust_vs_flops.png`' in report
  assert len((tmp_path / 'summary.csv').read_text().splitlines()) == 1 + 3 * 2 * 5

  path = _cell_dir(tmp_path, 1.0, 'standard', seed=1) / per_image_data.FILE_NAME
  path.parent.mkdir(parents=True)
  path.write_text(json.dumps(_per_image([1.0, 2.0, None], [True] * 3)))
  write_outputs.write_all(rows, tmp_path, analysis_fixtures.plan())
  assert _is_png(tmp_path / 'min_eps_distributions.png')
  assert "from 1 cells' per_image.json" in (tmp_path / 'report.md').read_text()


def test_write_all_without_rows_writes_tables_and_report_only(tmp_path):
  write_outputs.write_all([], tmp_path, analysis_fixtures.plan())
  assert (tmp_path / 'summary.csv').read_text().startswith('dataset,model,width')
  assert 'No finished cells yet' in (tmp_path / 'report.md').read_text()
  assert not list(tmp_path.glob('*.png'))
