"""adversarial_gallery.png and saliency_maps.png from cells' examples.npz
(`evaluation.examples`, read with `cell_data.load_examples`): what the attack does to a few images, and where each
model's true-class logit is most sensitive."""

import pathlib
from typing import Sequence

import matplotlib

matplotlib.use('Agg')  # Files only; no display on servers and CI.
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import numpy as np

from medadv_jax import atomic_files, cell_data
from medadv_jax.reporting.inputs import result_rows

GALLERY_FILE = 'adversarial_gallery.png'
SALIENCY_FILE = 'saliency_maps.png'
_RIGHT, _WRONG = '#1a7f37', '#c62828'  # Title colours: prediction right / wrong.
_PANEL_IN = 1.9  # Inches per image panel.


def representative_cells(rows) -> list[str]:
  """Cell names of the smallest and the largest model (by parameters) of each
  training mode, for the first dataset and seed of `rows` (results rows)."""
  if not rows:
    return []
  dataset, seed = rows[0]['dataset'], rows[0]['seed']
  sizes = {}  # (mode, size key) -> (params, cell name); one entry per cell.
  for row in rows:
    if row['dataset'] == dataset and row['seed'] == seed:
      sizes[(row['train_mode'], result_rows.size_key(row))] = (
          row['params'], cell_data.Cell.from_row(row).name)
  names = []
  for mode in result_rows.ordered_modes(mode for mode, _ in sizes):
    by_params = sorted(v for (m, _), v in sizes.items() if m == mode)
    names += list(dict.fromkeys([by_params[0][1], by_params[-1][1]]))
  return names


def write_example_figures(workdir: pathlib.Path, cell_names: Sequence[str],
                          out_dir: pathlib.Path = None) -> list[pathlib.Path]:
  """Renders the gallery and the saliency maps of the named cells into `out_dir`
  (default `workdir`).

  Reads workdir/cells/<name>/examples.npz; cells without one are left out.
  Returns the PNG paths written, [] (and writes nothing) if no cell has examples.
  """
  workdir = pathlib.Path(workdir)
  out_dir = workdir if out_dir is None else pathlib.Path(out_dir)
  found = cell_data.load_cells_examples(workdir, cell_names, cell_data.EXAMPLES_FILE)
  if not found:
    return []
  written = []
  for figure_fn, file_name in ((gallery_figure, GALLERY_FILE),
                               (saliency_figure, SALIENCY_FILE)):
    atomic_files.save_figure(figure_fn(found), out_dir / file_name, dpi=100)
    written.append(out_dir / file_name)
  return written


def gallery_figure(examples_by_cell: dict[str, dict]) -> plt.Figure:
  """One row per (image, cell): clean, then perturbation and adversarial image per radius.

  Rows go image by image, each image once per cell, so the models' answers on
  one image (cells of one seed share their images) sit next to each other.
  """
  count = max(ex['labels'].shape[0] for ex in examples_by_cell.values())
  rows = [(name, i) for i in range(count) for name, ex in examples_by_cell.items()
          if i < ex['labels'].shape[0]]
  radii = max(ex['radii_255'].size for ex in examples_by_cell.values())
  fig, axes = plt.subplots(len(rows), 1 + 2 * radii, squeeze=False, layout='constrained',
                           figsize=(_PANEL_IN * (1 + 2 * radii), 2.05 * len(rows) + 0.7))
  for (name, i), ax_row in zip(rows, axes):
    ex = examples_by_cell[name]
    names = ex['label_names']
    _show(ax_row[0], ex['images'][i])
    _title(ax_row[0], f'clean  true: {_short(names[ex["labels"][i]])}\n'
           f'pred: {_prediction(ex, ex["clean_pred"][i], ex["clean_prob"][i])}',
           ex['clean_pred'][i] == ex['labels'][i])
    ax_row[0].set_ylabel(f'{_cell_label(name)}\ntest #{ex["test_indices"][i]}', fontsize=8)
    for r, eps_255 in enumerate(ex['radii_255']):
      delta, eps = ex['perturbations'][r, i], eps_255 / 255.0
      ax_delta, ax_adv = ax_row[1 + 2 * r], ax_row[2 + 2 * r]
      if delta.shape[-1] == 1:
        # Diverging map at the ball's bounds: red brightens, blue darkens, by up to eps.
        ax_delta.imshow(delta[..., 0], cmap='RdBu_r', vmin=-eps, vmax=eps)
        scale = f'red +{eps_255:g}/255, blue -{eps_255:g}/255'
      else:
        ax_delta.imshow(np.clip(0.5 + delta / (2 * eps), 0, 1))
        scale = 'shown as 0.5 + delta/(2 eps)'
      if ex['clean_pred'][i] != ex['labels'][i]:
        # PGD keeps its first misclassified iterate, here the random start; the
        # study does not attack such images at all.
        scale = 'clean already wrong:\nshows the random start'
      _bare(ax_delta)
      ax_delta.set_title(f'perturbation eps {eps_255:g}/255\n{scale}', fontsize=7.5)
      _show(ax_adv, ex['adv_images'][r, i])
      _title(ax_adv, f'adversarial eps {eps_255:g}/255\n'
             f'pred: {_prediction(ex, ex["adv_pred"][r, i], ex["adv_prob"][r, i])}',
             ex['adv_pred'][r, i] == ex['labels'][i])
    for ax in ax_row[1 + 2 * ex['radii_255'].size:]:
      ax.remove()
  attacks = sorted({str(ex['attack']) for ex in examples_by_cell.values()})
  fig.suptitle(f'{"; ".join(attacks)} (L-inf): clean vs adversarial test images\n'
               'titles: predicted class (softmax probability); green right, red wrong',
               fontsize=10)
  return fig


def saliency_figure(examples_by_cell: dict[str, dict]) -> plt.Figure:
  """One row per cell; per image, the clean image and its saliency map over it."""
  columns = 2 * max(ex['labels'].shape[0] for ex in examples_by_cell.values())
  fig, axes = plt.subplots(
      len(examples_by_cell), columns, squeeze=False, layout='constrained',
      figsize=(_PANEL_IN * columns, 2.1 * len(examples_by_cell) + 0.7))
  for (name, ex), ax_row in zip(examples_by_cell.items(), axes):
    n = ex['labels'].shape[0]
    for i in range(n):
      ax_image, ax_map = ax_row[2 * i], ax_row[2 * i + 1]
      _show(ax_image, ex['images'][i])
      _title(ax_image, f'true: {_short(ex["label_names"][ex["labels"][i]])}\n'
             f'pred: {_prediction(ex, ex["clean_pred"][i], ex["clean_prob"][i])}',
             ex['clean_pred'][i] == ex['labels'][i])
      saliency = ex['saliency'][i]
      peak = float(saliency.max())
      scaled = saliency / peak if peak > 0 else saliency
      _show(ax_map, ex['images'][i], grey=True)
      # Opacity follows the saliency, so the image shows through where it is low.
      ax_map.imshow(scaled, cmap='inferno', vmin=0, vmax=1,
                    alpha=np.clip(0.15 + scaled, 0, 0.9))
      ax_map.set_title(f'saliency, max {peak:.3g}', fontsize=7.5)
    ax_row[0].set_ylabel(_cell_label(name), fontsize=8)
    for ax in ax_row[2 * n:]:
      ax.remove()
  fig.suptitle('Gradient saliency |d logit_true / d pixel| (max over channels), '
               'scaled to its per-image max (the panel title; logit per unit pixel)',
               fontsize=10)
  return fig


def _show(ax, image: np.ndarray, grey: bool = False) -> None:
  """An (H, W, C) image in [0, 1]: grey with cmap gray, RGB as is (`grey`: channel mean)."""
  if image.shape[-1] == 1 or grey:
    ax.imshow(image.mean(axis=-1), cmap='gray', vmin=0, vmax=1)
  else:
    ax.imshow(np.clip(image, 0, 1))
  _bare(ax)


def _bare(ax) -> None:
  ax.set_xticks([])
  ax.set_yticks([])


def _title(ax, text: str, right: bool) -> None:
  ax.set_title(text, fontsize=7.5, color=_RIGHT if right else _WRONG)


def _prediction(ex, pred, prob) -> str:
  return f'{_short(ex["label_names"][pred])} ({prob:.2f})'


def _short(label, limit: int = 16) -> str:
  label = str(label)
  return label if len(label) <= limit else label[:limit - 1] + '.'


def _cell_label(name: str) -> str:
  """A cell name on two lines, e.g. 'pneumoniamnist cnn\\nw0.125 standard s0'."""
  parts = name.split('_')
  half = max(1, len(parts) // 2)
  return ' '.join(parts[:half]) + '\n' + ' '.join(parts[half:])
