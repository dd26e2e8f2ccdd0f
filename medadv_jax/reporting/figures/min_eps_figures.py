"""min_eps_distributions.png: how far each image is from being fooled, per model size.

For every image a model classifies correctly when clean, the smallest grid radius
at which the L-inf ensemble (every attack, per image) fools it, from the cells'
per_image.json; drawn as an ECDF per size, one panel per training mode, pooled
over seeds. Each curve is conditional on its own model's clean-correct images:
a more accurate size also counts the harder, borderline images the others get
wrong, so the curves separate size from clean accuracy only in part. Images no
radius of the grid fools sit in a band beyond the grid's end.
"""

import pathlib
from typing import Optional

import matplotlib

matplotlib.use('Agg')  # Files only; no display on servers and CI.
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import numpy as np

from medadv_jax import atomic_files, cell_data
from medadv_jax.reporting.inputs import result_rows
from medadv_jax.reporting.figures.plotting import TRAIN_MODE_TITLES

ENSEMBLE_LABEL = cell_data.attack_label(dict(attack='ensemble', norm='linf'))
_BEYOND = 2.0  # Never-fooled images are drawn at this multiple of the grid's end.


def clean_correct_min_eps(per_image: dict, label: str = ENSEMBLE_LABEL) -> np.ndarray:
  """Min fooling radii (x 1/255) of one cell's clean-correct images, inf where never
  fooled on the grid; (M,) for M clean-correct images, empty if `label` is absent."""
  radii = per_image['min_eps_255'].get(label)
  if radii is None:
    return np.zeros((0,))
  radii = np.array([np.inf if r is None else r for r in radii], float)
  return radii[np.asarray(per_image['clean_correct'], bool)]


def plot_min_eps_distributions(rows, per_image: dict,
                               path: pathlib.Path) -> Optional[plt.Figure]:
  """ECDFs of the ensemble's minimal fooling radius, one line per size.

  Args:
    rows: results rows (for size labels and the order of sizes).
    per_image: {(size key, mode, seed): per_image dict}, `per_image_data.load`.
    path: the PNG to write.

  Returns:
    The (closed) figure, or None, writing nothing, when no cell has data.
  """
  pooled = {}
  grid_end, grid_start = 0.0, np.inf
  for (size, mode, _), data in sorted(per_image.items(), key=lambda kv: str(kv[0])):
    pooled.setdefault(mode, {}).setdefault(size, []).append(clean_correct_min_eps(data))
    positive = [e for e in data['eps_255'] if e > 0]
    grid_end = max(grid_end, max(positive, default=0.0))
    grid_start = min(grid_start, min(positive, default=np.inf))
  pooled = {m: {s: np.concatenate(v) for s, v in by_size.items()}
            for m, by_size in pooled.items()}
  if not any(v.size for by_size in pooled.values() for v in by_size.values()):
    return None
  modes = result_rows.ordered_modes(pooled)
  beyond = _BEYOND * grid_end
  fig, axes = plt.subplots(1, len(modes), squeeze=False, sharey=True,
                           figsize=(5.6 * len(modes), 4.4), layout='constrained')
  for ax, mode in zip(axes[0], modes):
    sizes = sorted(pooled[mode], key=lambda s: (result_rows.first(rows, s)['params'], s))
    colours = plt.cm.viridis([k / max(1, len(sizes) - 1) for k in range(len(sizes))])
    for colour, size in zip(colours, sizes):
      radii = pooled[mode][size]
      if radii.size:
        _ecdf(ax, radii, beyond, colour, _legend(rows, size, radii))
    ax.axvspan(grid_end * 1.2, beyond * 1.4, color='0.88', zorder=0,
               label=f'never fooled on the grid (> {grid_end:g}/255)')
    ax.set_xscale('log')
    ax.set_xlim(grid_start / 1.5, beyond * 1.4)
    ax.set_ylim(0, 1.02)
    ax.grid(True, which='major', alpha=0.3)
    ax.set_xlabel('smallest fooling radius eps (x 1/255, L-inf, log scale)')
    ax.set_title(TRAIN_MODE_TITLES.get(mode, mode), fontsize=10)
    ax.legend(fontsize=7, loc='upper left')
  axes[0][0].set_ylabel('fraction of clean-correct images\nfooled at radius <= eps')
  fig.suptitle('Per-image minimal fooling radius, L-inf ensemble (ECDF over clean-correct '
               'attacked images, pooled over seeds)', fontsize=10)
  atomic_files.save_figure(fig, path)
  return fig


def _ecdf(ax, radii: np.ndarray, beyond: float, colour, label: str) -> None:
  """Step ECDF of `radii`, the never-fooled (inf) ones stepping up at `beyond`."""
  shown = np.sort(np.where(np.isfinite(radii), radii, beyond))
  fraction = np.arange(1, shown.size + 1) / shown.size
  # Starts at 0 left of the smallest radius and runs on flat to the axis' end.
  ax.step(np.concatenate([[shown[0]], shown, [1.4 * beyond]]),
          np.concatenate([[0.0], fraction, [1.0]]), where='post', color=colour, label=label)


def _legend(rows, size, radii) -> str:
  never = np.mean(~np.isfinite(radii))
  median = np.median(radii)
  median_text = f'{median:g}' if np.isfinite(median) else '> grid'
  return (f'{result_rows.size_label(result_rows.first(rows, size))}: median {median_text}, '
          f'{never:.0%} never fooled (n={radii.size})')
