"""The claims' outcomes as arrays: each cell's worst-attack accuracy per radius
(from the results rows), and each image's worst-attack fooling radius (from the
cells' per_image.json), arranged seeds x sizes for one training mode."""

import dataclasses

import numpy as np

from medadv_jax.reporting.inputs import per_image_data, result_rows
from medadv_jax.reporting.statistics import worst_attack
from medadv_jax.reporting.tables import fitness_table


@dataclasses.dataclass(frozen=True)
class ModeCells:
  """One training mode's cells: seeds (S) x sizes (K, fewest parameters first)."""
  mode: str
  sizes: list  # Size keys.
  labels: list  # 'cnn w=0.5', ...
  params: np.ndarray  # (K,)
  seeds: list
  radii: np.ndarray  # (E,) the grid, x 1/255.
  accuracy: np.ndarray  # (S, K, E) worst-attack accuracy; NaN where no cell.
  fit: np.ndarray  # (S, K) bool: a cell that is fit to attack.
  present: np.ndarray  # (S, K) bool: a finished cell.
  clean: np.ndarray  # (S, K) clean test accuracy; NaN where no cell.

  @property
  def log2_params(self) -> np.ndarray:
    return np.log2(self.params)


def mode_cells(rows, mode: str, sizes=None) -> ModeCells | None:
  """`mode`'s cells of `rows` (None if it has none), over `sizes` (default: its own)."""
  rows = [r for r in rows if r['train_mode'] == mode and result_rows.is_linf(r)]
  if not rows:
    return None
  sizes = sorted(sizes or {result_rows.size_key(r) for r in rows},
                 key=lambda s: (result_rows.first(rows, s)['params'], s))
  seeds = sorted({r['seed'] for r in rows})
  radii = np.array(sorted({float(r['eps_255']) for r in rows}))
  acc = np.full((len(seeds), len(sizes), len(radii)), np.nan)
  fit = np.zeros((len(seeds), len(sizes)), bool)
  clean = np.full((len(seeds), len(sizes)), np.nan)
  for (size, _, eps), by_seed in worst_attack.seed_rows(rows).items():
    if size not in sizes:
      continue
    for seed, r in by_seed.items():
      s, k = seeds.index(seed), sizes.index(size)
      acc[s, k, np.searchsorted(radii, float(eps))] = r['accuracy']
      fit[s, k] = fitness_table.is_fit(r)
      clean[s, k] = float(r['clean_test_accuracy'])
  present = np.isfinite(acc).any(-1)
  labels = [result_rows.size_label(result_rows.first(rows, s)) for s in sizes]
  params = np.array([float(result_rows.first(rows, s)['params']) for s in sizes])
  return ModeCells(mode, sizes, labels, params, seeds, radii, acc, fit & present, present,
                   clean)


def band_radii(cells: ModeCells, band, floor: float | None, use) -> tuple[list, list]:
  """(kept, dropped) grid radii in `band` (inclusive, > 0); with a `floor`, a
  radius where every size's mean over the `use` (S, K) cells is at or below it is
  dropped (no size is left to tell apart there)."""
  kept, dropped = [], []
  for e, radius in enumerate(cells.radii):
    if radius <= 0 or not band[0] <= radius <= band[1]:
      continue
    means = column_means(np.where(use, cells.accuracy[..., e], np.nan))
    if floor is not None and np.all(~np.isfinite(means) | (means <= floor)):
      dropped.append(float(radius))
    else:
      kept.append(float(radius))
  return kept, dropped


def column_means(values: np.ndarray) -> np.ndarray:
  """(K,) means over seeds of (S, K) `values`, NaN entries left out (NaN if none)."""
  finite = np.isfinite(values)
  with np.errstate(invalid='ignore', divide='ignore'):
    return np.where(finite, values, 0).sum(0) / finite.sum(0)


def band_accuracy(cells: ModeCells, radii) -> np.ndarray:
  """(S, K) worst-attack accuracy averaged over `radii`; NaN where no cell."""
  index = [int(np.searchsorted(cells.radii, r)) for r in radii]
  if not index:
    return np.full(cells.fit.shape, np.nan)
  return cells.accuracy[..., index].mean(-1)


def seed_images(per_image: dict, cells: ModeCells, seed, keep) -> tuple | None:
  """(clean (K, N) bool, radius (K, N)) of the `keep` (K,) sizes of `seed` on the
  images all of them attacked, aligned by test index; None without every file."""
  entries = [per_image.get((size, cells.mode, seed)) for size, k in zip(cells.sizes, keep) if k]
  if not entries or any(e is None for e in entries):
    return None
  parsed = [per_image_data.worst_radius(e) for e in entries]
  common = sorted(set.intersection(*(set(p[0].tolist()) for p in parsed)))
  clean, radius = [], []
  for indices, correct, worst in parsed:
    where = {int(i): j for j, i in enumerate(indices)}
    pick = [where[i] for i in common]
    clean.append(correct[pick])
    radius.append(worst[pick])
  return np.array(clean).reshape(len(parsed), -1), np.array(radius).reshape(len(parsed), -1)


def image_band_accuracy(radius: np.ndarray, radii) -> np.ndarray:
  """(..., N) each image's robust share of `radii` (robust at r: fooled only above r)."""
  r = np.asarray(radii, float)
  if not len(r):
    return np.full(radius.shape, np.nan)
  return (radius[..., None] > r).mean(-1)


def mode_cells_subset(cells: ModeCells, sizes, seeds=None) -> ModeCells:
  """`cells` over `sizes` (and `seeds`), missing ones as absent cells."""
  seeds = list(cells.seeds if seeds is None else seeds)
  k = [cells.sizes.index(s) for s in sizes]
  s_index = [cells.seeds.index(s) if s in cells.seeds else -1 for s in seeds]

  def take(a, fill):
    out = a[:, k]
    return np.stack([out[i] if i >= 0 else np.full(out.shape[1:], fill, out.dtype)
                     for i in s_index]) if s_index else out[:0]
  return ModeCells(cells.mode, list(sizes), [cells.labels[i] for i in k], cells.params[k],
                   seeds, cells.radii, take(cells.accuracy, np.nan), take(cells.fit, False),
                   take(cells.present, False), take(cells.clean, np.nan))
