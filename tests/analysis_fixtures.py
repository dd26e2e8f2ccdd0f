"""Tiny finished studies for the planned analysis: results rows and per_image.json
data of sizes x modes x seeds whose per-image fooling radii follow a chosen
robust accuracy per size (no training, no attacks)."""

import numpy as np

from configs import default
from medadv_jax.reporting.claims import plan as plan_lib

GRID = [0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0]
LABEL = 'Ensemble (per image)'


def plan(**changes) -> plan_lib.Plan:
  """configs/default.py's plan, with `changes` to its claims' fields."""
  analysis = default.get_config().analysis
  for field, value in changes.items():
    part, _, name = field.rpartition('.')
    (analysis[part] if part else analysis)[name] = value
  return plan_lib.Plan.from_config(analysis)


def study(robust_of, params=(1e3, 4e3, 16e3, 64e3, 256e3), seeds=range(5),
          modes=('standard', 'pgd'), n=100, unfit=(), clean=0.9, model='cnn', seed=0,
          fooled_at=None):
  """(rows, per_image). `robust_of(mode, rank, seed)` is the share of images still
  robust at every radius up to 8/255; the others are fooled at a radius of the
  grid drawn uniformly, so robust accuracy at radius r is near robust_of at 8 and
  rises towards `clean` at small radii (with `fooled_at`, all are fooled at that
  radius, so robust accuracy is robust_of above it). `unfit`: (mode, rank, seed)
  flagged."""
  rng = np.random.default_rng(seed)
  rows, per_image = [], {}
  for s in seeds:
    hardness = rng.random(n)  # Shared by the seed's cells: paired images.
    for mode in modes:
      for rank, p in enumerate(params):
        width = float(2 ** rank)
        correct = hardness < clean
        robust = hardness < robust_of(mode, rank, s)
        fooled = rng.choice(GRID[1:], n) if fooled_at is None else np.full(n, fooled_at)
        radii = np.where(robust, np.inf, fooled)
        radii = np.where(correct, radii, 0.0)
        fit = (mode, rank, s) not in unfit
        key = ((model, 0, width), mode, s)
        per_image[key] = {
            'eps_255': GRID, 'test_indices': list(range(n)),
            'clean_correct': [bool(c) for c in correct],
            'min_eps_255': {LABEL: [None if np.isinf(r) else float(r) for r in radii]}}
        for e in GRID:
          acc = float(np.mean(radii > e))
          rows.append(dict(
              dataset='toy', model=model, width=width, depth=None, params=int(p),
              flops=10 * int(p), train_mode=mode, seed=s, attack='ensemble', target='any',
              steps=0, norm='linf', eps=e / 255, eps_255=e, accuracy=acc, n=n,
              ci_low=max(0.0, acc - 0.05), ci_high=min(1.0, acc + 0.05),
              accuracy_single_eps=acc, clean_test_accuracy=float(correct.mean()),
              clean_test_n=n, fit=fit, fitness_reasons='' if fit else 'predicts one class'))
  return rows, per_image
