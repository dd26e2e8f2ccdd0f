"""The planned analysis on tiny finished studies with known answers: verdicts,
the zig-zag of docs/replication/retina_depth, flagged models as outcomes, and the
endpoint computed from rows equal to the one from per-image data."""

import numpy as np
import pytest

from medadv_jax.reporting.claims import analysis, outcomes, verdicts

import analysis_fixtures as fx

# The paper's depth family: ResNet-8/20/32/50 and CBR-LargeT (parameters at 224 px).
DEPTH_PARAMS = (84e3, 280e3, 476e3, 770e3, 8.5e6)
# Worst-attack accuracies at 0.5/255 like retina_depth's: zig-zag from 0.106 to 0.312.
RETINA_ZIGZAG = (0.21, 0.14, 0.25, 0.106, 0.312)


def _analyse(robust_of, plan=None, **study):
  rows, per_image = fx.study(robust_of, **study)
  return analysis.analyse(rows, per_image, plan or fx.plan())


@pytest.mark.parametrize('seeds', [3, 5, 10])
def test_a_retina_depth_like_zigzag_is_never_equivalent(seeds):
  plan = fx.plan(min_seeds=3)  # As the depth family's plan.
  for draw in range(4):
    rows, per_image = fx.study(lambda mode, k, s: RETINA_ZIGZAG[k], params=DEPTH_PARAMS,
                               seeds=range(seeds), n=300, modes=('standard',), seed=draw,
                               fooled_at=0.25)
    a = analysis.analyse(rows, per_image, plan).size
    cells = outcomes.mode_cells(rows, 'standard')
    means = outcomes.band_accuracy(cells, a.radii).mean(0)
    assert means.min() < 0.13 and means.max() > 0.28  # As retina_depth at 0.5/255.
    assert abs(a.primary.mean) < 0.03  # Nearly flat line through a zig-zag.
    assert a.primary.verdict != 'equivalent'
    assert a.sensitivity.verdict != 'equivalent'


def test_the_retina_zigzag_with_the_published_3_seeds_gets_no_verdict_by_default():
  a = _analyse(lambda mode, k, s: RETINA_ZIGZAG[k], params=DEPTH_PARAMS, seeds=range(3),
               modes=('standard',)).size
  assert a.primary.verdict == 'no verdict: 3 seeds, the plan needs 5'


def test_equal_robustness_on_many_images_and_seeds_is_equivalent():
  a = _analyse(lambda mode, k, s: 0.4, seeds=range(10), n=2000, modes=('standard',)).size
  assert a.primary.verdict == 'equivalent'
  assert -0.01 < a.primary.low and a.primary.high < 0.01


def test_falling_and_rising_robustness_agree_and_disagree():
  falling = _analyse(lambda mode, k, s: 0.5 - 0.05 * k, modes=('standard',)).size
  rising = _analyse(lambda mode, k, s: 0.3 + 0.05 * k, modes=('standard',)).size
  assert falling.primary.verdict == 'agrees' and falling.primary.high < 0
  assert rising.primary.verdict == 'disagrees' and rising.primary.low > 0
  assert falling.page_p < 0.01 < 0.5 < rising.page_p


def test_adversarial_training_that_hurts_one_size_disagrees_and_holm_adjusts():
  gains = (0.2, 0.2, 0.2, 0.2, -0.2)
  b = _analyse(lambda mode, k, s: 0.3 + (gains[k] if mode == 'pgd' else 0.0)).training
  assert b.verdict == 'disagrees'
  assert [g.estimate.verdict for g in b.sizes] == ['agrees'] * 4 + ['disagrees']
  assert all(g.p_holm >= g.p for g in b.sizes)


def test_a_flagged_model_is_an_outcome_not_a_lost_seed():
  unfit = {('standard', 2, 1), ('standard', 2, 3)}
  a = _analyse(lambda mode, k, s: 0.5 - 0.05 * k, unfit=unfit, modes=('standard',)).size
  # Both seeds keep their other 4 sizes: 5 seeds in the primary analysis.
  assert a.primary.seeds == 5 and a.sensitivity.seeds == 5
  rate = a.failure_rates[2]
  assert (rate.flagged, rate.models) == (2, 5)
  assert rate.low == pytest.approx(0.0527, abs=1e-3) and rate.high == pytest.approx(
      0.8534, abs=1e-3)  # Clopper-Pearson, exact, of 2 of 5.
  assert all(r.flagged == 0 for k, r in enumerate(a.failure_rates) if k != 2)


def test_radii_where_every_size_is_at_the_floor_are_dropped():
  # Nothing is robust: every radius of the band is at the floor.
  a = _analyse(lambda mode, k, s: 0.0, clean=0.0, modes=('standard',)).size
  assert a.radii == [] and a.dropped == [0.5, 1.0, 2.0, 4.0]
  assert a.primary.verdict == 'no verdict: no radius of the band above the floor'


def test_the_endpoint_from_rows_is_the_one_from_per_image_data():
  rows, per_image = fx.study(lambda mode, k, s: 0.45 - 0.04 * k, modes=('standard',))
  cells = outcomes.mode_cells(rows, 'standard')
  radii = [0.5, 1.0, 2.0, 4.0]
  from_rows = outcomes.band_accuracy(cells, radii)
  for s, seed in enumerate(cells.seeds):
    _, radius = outcomes.seed_images(per_image, cells, seed, np.ones(5, bool))
    np.testing.assert_allclose(
        outcomes.image_band_accuracy(radius, radii).mean(-1), from_rows[s], atol=1e-12)


def test_the_analysis_is_the_same_twice():
  first = _analyse(lambda mode, k, s: 0.5 - 0.01 * k)
  assert first == _analyse(lambda mode, k, s: 0.5 - 0.01 * k)


def test_a_real_but_small_slope_agrees_and_says_it_is_inside_the_margin():
  a = _analyse(lambda mode, k, s: 0.5 - 0.01 * k, n=300, modes=('standard',)).size
  assert a.primary.high < 0 and -0.01 < a.primary.low  # Below 0, inside +-0.01.
  assert a.primary.verdict == 'agrees (inside the margin)'


def test_claim_b_holds_for_every_size_only_when_every_size_agrees():
  every = verdicts.every_size
  assert every(['agrees', 'agrees (inside the margin)']) == 'agrees'
  assert every(['agrees', 'inconclusive']) == 'inconclusive'
  assert every(['agrees', 'disagrees (inside the margin)']) == 'disagrees'
  assert every(['equivalent', 'equivalent']) == 'equivalent'
  assert every([]) == 'inconclusive'


def test_the_plans_minimum_of_sizes_decides_which_seeds_have_a_slope():
  unfit = {('standard', 0, s) for s in range(5)}  # Every seed keeps 4 fit sizes.
  three = _analyse(lambda mode, k, s: 0.5 - 0.05 * k, unfit=unfit, modes=('standard',))
  four = _analyse(lambda mode, k, s: 0.5 - 0.05 * k, fx.plan(min_sizes=5), unfit=unfit,
                  modes=('standard',))
  assert three.size.primary.seeds == 5 and three.size.primary.verdict == 'agrees'
  assert four.size.primary.seeds == 0 and four.size.primary.verdict.startswith('no verdict')
  assert four.size.sensitivity.seeds == 5  # Flagged models in: 5 sizes per seed.


def test_a_planned_model_subset_is_analysed_as_if_alone():
  # The ResNets without CBR-LargeT: a planned view, not a choice made after the data.
  resnets, resnet_images = fx.study(lambda mode, k, s: 0.5 - 0.05 * k, modes=('standard',),
                                    model='resnet8')
  other, other_images = fx.study(lambda mode, k, s: 0.9, params=(1e6,), modes=('standard',),
                                 model='cbr_large_t', seed=1)
  plan = fx.plan(models=('resnet8',))
  subset = analysis.analyse(resnets + other, {**resnet_images, **other_images}, plan)
  assert subset == analysis.analyse(resnets, resnet_images, plan)
  every = analysis.analyse(resnets + other, {**resnet_images, **other_images}, fx.plan())
  assert len(every.size.labels) == 6 and len(subset.size.labels) == 5
