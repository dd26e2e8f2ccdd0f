"""robustness_curves.png: accuracy against eps per model size, by attack and training."""

import pathlib

import matplotlib

matplotlib.use('Agg')  # Files only; no display on servers and CI.
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top

from medadv_jax import atomic_files
from medadv_jax.reporting.inputs import result_rows

TRAIN_MODE_TITLES = {'standard': 'standard training', 'pgd': 'PGD adversarial training',
                     'fgsm_rs': 'FGSM-RS adversarial training', 'trades': 'TRADES training'}


def plot_robustness_curves(rows, path: pathlib.Path) -> None:
  """One row of panels per attack, one column per training mode."""
  curves = result_rows.curves(rows)
  attacks = sorted({attack for attack, _ in curves})
  modes = result_rows.ordered_modes(mode for _, mode in curves)
  fig, axes = plt.subplots(len(attacks), len(modes), squeeze=False, sharex=True,
                           sharey=True, figsize=(5.5 * len(modes), 3.6 * len(attacks)))
  for i, attack in enumerate(attacks):
    for j, mode in enumerate(modes):
      ax = axes[i][j]
      by_size = curves.get((attack, mode), {})
      colours = plt.cm.viridis([k / max(1, len(by_size) - 1) for k in range(len(by_size))])
      for colour, (label, (eps, mean, low, high)) in zip(colours, by_size.items()):
        ax.plot(eps, mean, marker='.', color=colour, label=label)
        ax.fill_between(eps, low, high, color=colour, alpha=0.15, linewidth=0)
      # Log scale for eps > 0 with a linear stretch at 0, so clean accuracy shows.
      ax.set_xscale('symlog', linthresh=0.01)
      ax.set_ylim(-0.02, 1.02)
      label_panel(ax, f'{attack} | {TRAIN_MODE_TITLES.get(mode, mode)}',
                  'eps (x 1/255, L-inf, log scale beyond 0.01)' if i == len(attacks) - 1
                  else None, 'accuracy under attack' if j == 0 else None)
  save_with_title(fig, 'Accuracy under attack vs eps (bands: 95% Wilson interval, or +-std '
                  'over seeds)', path)


def label_panel(ax, title: str, xlabel=None, ylabel=None, legend_loc='lower left') -> None:
  """A panel's grid, title, axis labels (None: none, for inner panels) and legend."""
  ax.grid(True, alpha=0.3)
  ax.set_title(title, fontsize=10)
  if xlabel:
    ax.set_xlabel(xlabel)
  if ylabel:
    ax.set_ylabel(ylabel)
  ax.legend(fontsize=7, loc=legend_loc)


def save_with_title(fig, title: str, path: pathlib.Path) -> None:
  """The figure's title above its panels, then the file."""
  fig.suptitle(title, fontsize=11)
  fig.tight_layout(rect=(0, 0, 1, 1 - 0.4 / fig.get_figheight()))  # Room for the title.
  atomic_files.save_figure(fig, path)
