"""robust_vs_size.png / robust_vs_flops.png and clean_vs_size.png: accuracy against
model size, the study's question in one glance.

Error bars are +-std over seeds (ddof 1) where a model has two or more seeds,
else the 95 % Wilson interval of its single seed.
"""

import pathlib

import matplotlib

matplotlib.use('Agg')  # Files only; no display on servers and CI.
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import matplotlib.ticker  # pylint: disable=g-import-not-at-top

from medadv_jax import atomic_files
from medadv_jax.reporting.inputs import result_rows
from medadv_jax.reporting.statistics import worst_attack
from medadv_jax.reporting.tables import clean_comparability
from medadv_jax.reporting.figures.plotting import TRAIN_MODE_TITLES

X_AXES = {'params': 'parameters (log scale)',
          'flops': 'forward FLOPs per image (log scale)'}
_X_NAMES = {'params': 'parameter count', 'flops': 'forward FLOPs'}


def plot_robust_vs_size(rows, path: pathlib.Path, x: str = 'params'):
  """Worst-attack (per image, every L-inf attack run) accuracy against `x`
  ('params' or 'flops'), one panel per training mode, one line per headline eps.
  Returns the (closed) figure."""
  if x not in X_AXES:
    raise ValueError(f'x must be one of {sorted(X_AXES)}, not {x!r}')
  worst = worst_attack.worst_attack_accuracy(rows)
  headline = result_rows.headline_eps(rows)
  modes = result_rows.ordered_modes(r['train_mode'] for r in rows)
  fig, axes = plt.subplots(1, len(modes), squeeze=False, sharey=True,
                           figsize=(5.2 * len(modes) + 1.3, 4.2), layout='constrained')
  colours = plt.cm.plasma([0.85 * k / max(1, len(headline) - 1)
                           for k in range(len(headline))])
  for ax, mode in zip(axes[0], modes):
    sizes = _sizes_of(rows, mode, x)
    xs = [result_rows.first(rows, s)[x] for s in sizes]
    for colour, e in zip(colours, headline):
      means, below, above = [], [], []
      for s in sizes:
        mean, low, high, seeds = worst[(s, mode, e)]
        error = result_rows.seed_error(mean, seeds, low, high)
        means.append(mean)
        below.append(error[0])
        above.append(error[1])
      ax.errorbar(xs, means, yerr=[below, above], marker='o', capsize=3, color=colour,
                  label=f'eps {e:g}/255')
    _size_ticks(ax, rows, sizes, xs)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(X_AXES[x])
    ax.set_title(TRAIN_MODE_TITLES.get(mode, mode), fontsize=10)
  axes[0][0].set_ylabel('accuracy under worst attack\n(fraction of attacked images)')
  # One legend for all panels, outside them: the lines cover the whole plot area.
  fig.legend(*axes[0][0].get_legend_handles_labels(), loc='outside right center',
             fontsize=8, title='L-inf radius', title_fontsize=8)
  fig.suptitle(f'Worst-attack (per image, every L-inf attack run) accuracy vs {_X_NAMES[x]} '
               f'(bars: {_bar_note(worst.values())})', fontsize=10)
  return _save(fig, path)


def plot_clean_vs_size(rows, path: pathlib.Path):
  """Clean test accuracy against parameter count, one line per training mode.
  Returns the (closed) figure."""
  modes = result_rows.ordered_modes(r['train_mode'] for r in rows)
  fig, ax = plt.subplots(figsize=(6.4, 4.2), layout='constrained')
  all_sizes, all_xs, seeds = [], [], 1
  for i, mode in enumerate(modes):
    sizes = _sizes_of(rows, mode, 'params')
    xs = [result_rows.first(rows, s)['params'] for s in sizes]
    # Modes side by side around each size, so their error bars do not overlap.
    dodge = 1.05 ** (i - (len(modes) - 1) / 2)
    accuracies = [clean_comparability.clean_accuracy(rows, s, mode) for s in sizes]
    seeds = max([seeds] + [len(a.per_seed) for a in accuracies])
    ax.errorbar([x * dodge for x in xs], [a.mean for a in accuracies],
                yerr=[[a.mean - a.low for a in accuracies],
                      [a.high - a.mean for a in accuracies]],
                marker='o', capsize=3, label=TRAIN_MODE_TITLES.get(mode, mode))
    all_sizes += sizes
    all_xs += xs
  _size_ticks(ax, rows, all_sizes, all_xs)
  ax.set_xlabel(X_AXES['params'])
  ax.set_ylabel('clean test accuracy (fraction)')
  n_test = clean_comparability.test_set_size(rows)
  bars = ('+-std over seeds' if seeds > 1
          else f'95% Wilson interval on {n_test} images')
  ax.set_title(f'Clean test accuracy vs model size (bars: {bars})', fontsize=10)
  ax.legend(fontsize=8)
  return _save(fig, path)


def _sizes_of(rows, mode, x):
  """Size keys trained in `mode`, ordered by the x-axis quantity."""
  sizes = {result_rows.size_key(r) for r in rows if r['train_mode'] == mode}
  return sorted(sizes, key=lambda s: (result_rows.first(rows, s)[x], s))


def _size_ticks(ax, rows, sizes, xs):
  """Log x-axis, each point's size named on a top axis (the numbers alone do not say
  which model is which)."""
  ax.set_xscale('log')
  ax.grid(True, which='both', alpha=0.3)
  named = dict(zip(xs, sizes))
  top = ax.secondary_xaxis('top')
  top.set_xticks(list(named), [result_rows.size_label(result_rows.first(rows, s))
                               for s in named.values()], fontsize=7, rotation=20)
  top.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())


def _bar_note(values) -> str:
  if any(len(v[3]) > 1 for v in values):
    return '+-std over seeds'
  return '95% Wilson interval, one seed'


def _save(fig, path):
  atomic_files.save_figure(fig, path)
  return fig
