"""benchmarks/images_vs_seeds.py: the compute and precision arithmetic of
trading attacked images for seeds, on variances with a known answer."""

import json

import numpy as np
import pytest

from configs import default

from benchmarks import images_vs_seeds
from medadv_jax.errors import MedAdvError
from medadv_jax.reporting.statistics import power


def test_the_studys_own_design_is_the_unit_of_every_ratio():
  row = images_vs_seeds.trade(power.Variances(1e-4, 1e-4), 5, 30.0, 70.0, 50, 50, 0.01, 0.01)
  assert row['cost'] == pytest.approx(1.0)
  assert row['affordable'] == pytest.approx(5.0)
  assert row['se_ratio'] == pytest.approx(1.0)


@pytest.mark.parametrize('seed_var, image_var, fewer_images_better', [
    (1e-4, 0.0, True),   # Only seeds vary: fewer images buy seeds for free.
    (0.0, 1e-4, False),  # Only images vary: precision follows the images attacked.
])
def test_fewer_images_help_only_when_seeds_carry_the_variance(seed_var, image_var,
                                                              fewer_images_better):
  row = images_vs_seeds.trade(power.Variances(seed_var, image_var), 5, 30.0, 70.0, 50, 25,
                              0.01, 0.01)
  cost = (30.0 + 35.0) / 100.0
  assert row['cost'] == pytest.approx(cost)
  assert row['affordable'] == pytest.approx(5 / cost)
  # Var of the mean over S seeds: (seed + image x 50/25) / S, S = 5 / cost.
  expected = np.sqrt((seed_var + image_var * 2) * cost / (seed_var + image_var))
  assert row['se_ratio'] == pytest.approx(expected)
  assert (row['se_ratio'] < 1) == fewer_images_better


def test_seeds_needed_falls_as_images_rise_when_images_carry_variance():
  variances = power.Variances(1e-6, 4e-4)
  fewer = images_vs_seeds.trade(variances, 5, 10.0, 90.0, 50, 10, 0.03, 0.01)
  more = images_vs_seeds.trade(variances, 5, 10.0, 90.0, 50, 100, 0.03, 0.01)
  assert fewer['needed'] is not None and fewer['needed'] > more['needed']
  assert more['compute'] == pytest.approx(more['needed'] * more['cost'] / 5)


def test_cell_seconds_split_the_stages_that_grow_with_the_images(tmp_path):
  for name, timing in (('a', dict(train=10.0, strong_attack=5.0, certify=1.0, audit=4.0,
                                  total=21.0)),
                       ('b', dict(train=8.0, paper_attacks=2.0, sanity_checks=3.0,
                                  total=14.0))):
    (tmp_path / 'cells' / name).mkdir(parents=True)
    (tmp_path / 'cells' / name / 'timing.json').write_text(json.dumps(timing))
  fixed, growing = images_vs_seeds.cell_seconds(tmp_path)
  assert growing == pytest.approx(11.0)
  assert fixed == pytest.approx(35.0 - 11.0)


@pytest.mark.parametrize('values', [['0'], ['25', 'x'], []])
def test_bad_images_per_class_are_one_error_naming_the_flag(values):
  with pytest.raises(MedAdvError, match=r"--per_class=.*allowed: positive integers"):
    images_vs_seeds.per_class_values(values)


def test_a_workdir_without_finished_cells_is_one_error_naming_it(tmp_path):
  with pytest.raises(MedAdvError, match=r"--workdir=.*no finished 'standard' cells"):
    images_vs_seeds.slope_variances(default.get_config(), tmp_path)
