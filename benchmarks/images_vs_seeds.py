"""Attacked images per class against seeds, at the same compute, for claim (a).

  python benchmarks/images_vs_seeds.py --config=configs/default.py --workdir=runs/default

From a finished study: the seed and image variance components of claim (a)'s
per-seed slope (`statistics.power.fit_variances`, as the report's seeds-needed
line), and each cell's seconds split into what grows with the attacked images
(certify, the paper's attacks, the strong attack, the sanity checks) and what
does not (training, clean metrics, the audit's fixed sample, examples,
embedding). For each candidate images-per-class it prints, at the study's own
compute, the seeds that compute buys, the slope's standard error relative to
the study's design, and the seeds (and compute) needed to exclude 0 at the
study's slope with 80 % power. Rows are predictions from one study's variances.
"""

import json
import pathlib
import sys

from absl import app, flags
import numpy as np
from ml_collections import config_flags

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
# pylint: disable=g-import-not-at-top
from medadv_jax.errors import MedAdvError
from medadv_jax.reporting.claims import outcomes, plan as plan_lib, secondary
from medadv_jax.reporting.inputs import per_image_data
from medadv_jax.reporting.statistics import power
from medadv_jax.study import runner

# timing.json stages whose seconds grow with the attacked images.
PER_IMAGE_STAGES = ('certify', 'paper_attacks', 'strong_attack', 'sanity_checks')


def cell_seconds(workdir: pathlib.Path) -> tuple[float, float]:
  """(fixed, per-image) seconds summed over the study's cells' timing.json."""
  fixed = per_image = 0.0
  for path in pathlib.Path(workdir, 'cells').glob('*/timing.json'):
    timing = json.loads(path.read_text())
    grows = sum(timing.get(stage, 0.0) for stage in PER_IMAGE_STAGES)
    per_image += grows
    fixed += timing['total'] - grows
  return fixed, per_image


def slope_variances(config, workdir: pathlib.Path):
  """(mean per-seed slope, `power.Variances`, seeds) of claim (a) under the plan."""
  plan = plan_lib.Plan.from_config(config.analysis)
  rows = runner.collect_finished_rows(config, workdir)
  per_image = per_image_data.load(workdir, rows)
  cells = outcomes.mode_cells(rows, plan.size.mode)
  if cells is None:
    raise MedAdvError(f'--workdir={str(workdir)!r} has no finished {plan.size.mode!r} cells '
                      'of this config; allowed: a finished study workdir')
  radii, _ = outcomes.band_radii(cells, plan.size.band_255, plan.size.floor, cells.fit)
  contrasts = secondary.slope_contrasts(cells, per_image, radii, plan.min_sizes)
  mean = float(np.mean([c.mean() for c in contrasts]))
  return mean, power.fit_variances(contrasts), len(contrasts), plan.size.margin


def per_class_values(values) -> list[int]:
  """--per_class as positive integers, or one error naming the flag."""
  try:
    out = [int(v) for v in values]
  except ValueError:
    out = []
  if not out or min(out) < 1:
    raise MedAdvError(f'--per_class={",".join(values)!r}; allowed: positive integers')
  return out


def trade(variances, seeds: int, fixed: float, growing: float, now: int, per_class: int,
          mean: float, margin: float) -> dict:
  """One row: at `per_class` images instead of `now`, the cost of a seed relative
  to now, the seeds the study's compute buys, the slope SE relative to the study's
  design, and the seeds needed to exclude 0 at `mean` (None beyond MAX_SEEDS)."""
  scale = now / per_class  # A seed's image variance grows as its images shrink.
  cost = (fixed + growing / scale) / (fixed + growing)
  affordable = seeds / cost
  se = np.sqrt((variances.seed + variances.image * scale) / affordable)
  se_now = np.sqrt((variances.seed + variances.image) / seeds)
  needed = power.seeds_needed(mean, power.Variances(variances.seed, variances.image * scale),
                              margin, 'exclude_zero')
  return dict(cost=cost, affordable=affordable, se_ratio=float(se / se_now), needed=needed,
              compute=None if needed is None else needed * cost / seeds)


def define_flags():
  """The script's flags, defined only when it runs (the tests import its functions)."""
  return (config_flags.DEFINE_config_file('config', None, 'The study\'s config.'),
          flags.DEFINE_string('workdir', None, 'A finished study workdir.'),
          flags.DEFINE_list('per_class', ['10', '25', '50', '100'],
                            'Attacked images per class to compare.'))


def main(argv):
  del argv
  config, workdir = _CONFIG.value, pathlib.Path(_WORKDIR.value)
  try:
    candidates = per_class_values(_PER_CLASS.value)
    mean, variances, seeds, margin = slope_variances(config, workdir)
  except MedAdvError as e:
    sys.exit(f'error: {e}')
  fixed, growing = cell_seconds(workdir)
  now = int(config.data.attack_per_class)
  print(f'{workdir}: claim (a) slope {mean:+.4f} per doubling over {seeds} seeds at {now} '
        f'images per class; variance of a seed\'s slope: seed {variances.seed:.2e}, images '
        f'{variances.image:.2e} ({variances.image / (variances.seed + variances.image):.0%} '
        f'from the images); cells\' seconds: {fixed:.0f} fixed, {growing:.0f} growing with '
        'the images')
  print('| images per class | cost per seed | seeds at this study\'s compute | slope SE '
        '(relative) | seeds to exclude 0 | compute for those (relative) |')
  print('|---:|---:|---:|---:|---:|---:|')
  for per_class in candidates:
    row = trade(variances, seeds, fixed, growing, now, per_class, mean, margin)
    needed = f'> {power.MAX_SEEDS}' if row['needed'] is None else row['needed']
    compute = 'n/a' if row['compute'] is None else f'{row["compute"]:.2f}x'
    print(f'| {per_class} | {row["cost"]:.2f}x | {row["affordable"]:.1f} | '
          f'{row["se_ratio"]:.2f}x | {needed} | {compute} |')


if __name__ == '__main__':
  _CONFIG, _WORKDIR, _PER_CLASS = define_flags()
  flags.mark_flags_as_required(['config', 'workdir'])
  app.run(main)
