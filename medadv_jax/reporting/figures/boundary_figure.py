"""decision_boundary.png: the paper's decision-boundary view, a 2-D t-SNE of the
penultimate features of clean and adversarial test images, one panel per model,
from the cells' embedding.npz (`evaluation.embedding`, read with `cell_data.load_examples`).

Each panel embeds one model's clean and adversarial features together, so an
adversarial point that crossed into the other class's cloud shows where the
attack moved it. t-SNE (scikit-learn) has a fixed random state: the same
features give the same picture.
"""

import pathlib
from typing import Optional, Sequence

import matplotlib

matplotlib.use('Agg')  # Files only; no display on servers and CI.
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import numpy as np

from medadv_jax import atomic_files, cell_data

FILE_NAME = 'decision_boundary.png'
RANDOM_STATE = 0
_PANEL_IN = 3.6  # Inches per panel.
_COLUMNS = 4


def embed_2d(features: np.ndarray, random_state: int = RANDOM_STATE) -> np.ndarray:
  """t-SNE of features (M, D) -> (M, 2) float64, deterministic for a given random_state.

  Perplexity is scikit-learn's 30, lowered to (M - 1) / 3 for small samples
  (it must stay below M); PCA initialisation, exact gradients. Identical features all
  map to the origin.
  """
  features = np.asarray(features, np.float64)
  if not np.ptp(features, axis=0).any():  # One point (a collapsed model): nothing to fit.
    return np.zeros((features.shape[0], 2))
  # Imported here: scikit-learn is slow to import and only this figure needs it, so a
  # run of main.py or a launcher that draws no t-SNE (a refused config) does not wait.
  from sklearn.manifold import TSNE  # pylint: disable=g-import-not-at-top
  perplexity = min(30.0, max(1.0, (features.shape[0] - 1) / 3))
  # Exact gradients: a few hundred points take seconds, with no threaded sums whose
  # order could vary (Barnes-Hut's), and faster than Barnes-Hut at this size.
  tsne = TSNE(n_components=2, perplexity=perplexity, init='pca', method='exact',
              random_state=random_state)
  return tsne.fit_transform(features)


def boundary_figure(embeddings_by_cell: dict[str, dict]) -> plt.Figure:
  """One panel per cell: clean (circles) and adversarial points (crosses where the
  attack fooled the model, triangles where not), coloured by true class, each
  clean point joined to its adversarial counterpart by a thin line.

  embeddings_by_cell: title -> the arrays `evaluation.embedding.compute_embedding`
  returns (clean_features, adv_features, labels, fooled, label_names, eps_255, attack).
  """
  count = len(embeddings_by_cell)
  columns = min(_COLUMNS, count)
  rows = -(-count // columns)
  fig, axes = plt.subplots(rows, columns, squeeze=False, layout='constrained',
                           figsize=(_PANEL_IN * columns, _PANEL_IN * rows + 0.6))
  for ax in axes.flat[count:]:
    ax.remove()
  colours = plt.get_cmap('tab10').colors
  for ax, (name, emb) in zip(axes.flat, embeddings_by_cell.items()):
    n = emb['labels'].shape[0]
    points = embed_2d(np.concatenate([emb['clean_features'], emb['adv_features']]))
    clean, adv = points[:n], points[n:]
    ax.plot(np.stack([clean[:, 0], adv[:, 0]]), np.stack([clean[:, 1], adv[:, 1]]),
            color='0.8', linewidth=0.5, zorder=1)
    for k, label_name in enumerate(emb['label_names']):
      colour = colours[k % len(colours)]
      of_class = emb['labels'] == k
      ax.scatter(*clean[of_class].T, s=14, marker='o', color=colour, zorder=2,
                 label=f'{label_name}: clean')
      for fooled, marker, what in ((False, '^', 'adv., not fooled'),
                                   (True, 'x', 'adv., fooled')):
        chosen = of_class & (emb['fooled'] == fooled)
        colour_args = (dict(color=colour) if fooled
                       else dict(facecolors='none', edgecolors=colour))
        ax.scatter(*adv[chosen].T, s=18, marker=marker, zorder=3,
                   label=f'{label_name}: {what}', **colour_args)
    ax.set_title(f'{name}\n{n} images, fooled {int(emb["fooled"].sum())}', fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
  first = next(iter(embeddings_by_cell.values()))
  handles, labels = axes.flat[0].get_legend_handles_labels()
  fig.legend(handles, labels, loc='outside lower center', ncols=3, fontsize=7)
  fig.suptitle(f't-SNE of penultimate features, clean and {first["attack"]} at '
               f'eps {float(first["eps_255"]):g}/255', fontsize=10)
  return fig


def write_boundary_figure(workdir: pathlib.Path, cell_names: Sequence[str],
                          out_dir: pathlib.Path = None) -> Optional[pathlib.Path]:
  """Renders FILE_NAME in `out_dir` (default `workdir`) from
  workdir/cells/<name>/embedding.npz of the named cells (those without one are
  left out); None, writing nothing, if none has one."""
  workdir = pathlib.Path(workdir)
  out = (workdir if out_dir is None else pathlib.Path(out_dir)) / FILE_NAME
  found = cell_data.load_cells_examples(workdir, cell_names, cell_data.EMBEDDING_FILE)
  if not found:
    return None
  atomic_files.save_figure(boundary_figure(found), out, dpi=100)
  return out
