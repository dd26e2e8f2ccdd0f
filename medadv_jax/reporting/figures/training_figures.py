"""validation_curves.png: each model's validation score over its training, from
the cells' metrics.jsonl, so a reader sees whether training reached its plateau
(the score the stopping rule and the fitness check use)."""

import pathlib

import matplotlib

matplotlib.use('Agg')  # Files only; no display on servers and CI.
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top

from medadv_jax import atomic_files, cell_data
from medadv_jax.reporting.figures import plotting
from medadv_jax.reporting.inputs import result_rows

FILE_NAME = 'validation_curves.png'
SCORE = 'val/score'


def curves(workdir: pathlib.Path, rows) -> dict:
  """{(mode, size key, seed): (steps, scores)} of the cells of `rows` whose
  metrics.jsonl has validation scores."""
  out = {}
  for r in rows:
    key = (r['train_mode'], result_rows.size_key(r), r['seed'])
    if key in out:
      continue
    path = pathlib.Path(workdir) / 'cells' / cell_data.Cell.from_row(r).name / 'metrics.jsonl'
    points = [(m['step'], m[SCORE]) for m in atomic_files.read_jsonl(path) if SCORE in m]
    if points:
      out[key] = tuple(list(column) for column in zip(*points))
  return out


def plot_validation_curves(workdir: pathlib.Path, rows, path: pathlib.Path) -> bool:
  """One panel per train mode, a colour per size, a line per seed; False (and no
  file) when no cell has validation scores."""
  found = curves(workdir, rows)
  if not found:
    return False
  modes = result_rows.ordered_modes({mode for mode, _, _ in found})
  labels = {result_rows.size_key(r): result_rows.size_label(r) for r in rows}
  sizes = [s for s in result_rows.sizes_by_params(rows) if s in {k[1] for k in found}]
  colours = dict(zip(sizes, plt.cm.viridis([k / max(1, len(sizes) - 1)
                                            for k in range(len(sizes))])))
  fig, axes = plt.subplots(1, len(modes), squeeze=False, sharey=True,
                           figsize=(5.5 * len(modes), 3.8))
  for ax, mode in zip(axes[0], modes):
    for size in sizes:
      shown = False
      for (m, s, _), (steps, scores) in sorted(found.items(), key=lambda kv: str(kv[0])):
        if (m, s) == (mode, size):
          ax.plot(steps, scores, color=colours[size], linewidth=1, alpha=0.8,
                  label=None if shown else labels[size])
          shown = True
    plotting.label_panel(ax, plotting.TRAIN_MODE_TITLES.get(mode, mode), 'optimiser step',
                        "validation score\n(the stopping rule's)" if mode == modes[0] else None,
                        legend_loc='lower right')
  plotting.save_with_title(fig, 'Validation score during training, one line per seed', path)
  return True
