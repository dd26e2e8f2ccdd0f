"""Coverage and error rates of the claims' planned tests, by simulation with a known
answer (numpy only, no training): per-image outcomes from seeds with random
effects, image noise shared by a seed's cells, and a known size slope or gain.

Each rate is over STUDIES simulated studies; its Monte Carlo standard error is
sqrt(p (1 - p) / STUDIES), 0.0049 at p = 0.95 and at p = 0.05 with 2,000, so the
bands below (93-97 %, <= 6.5 %) sit about 4 and 3 standard errors from the
nominal rate: a correct test fails them with a chance of well under 1e-3.
"""

import numpy as np
import pytest

from configs import default
from medadv_jax.reporting.claims import cross_study, plan as plan_lib, secondary_family
from medadv_jax.reporting.statistics import paired_gain, simulation, size_slope

STUDIES = 2000
MC_SE_AT_95 = np.sqrt(0.95 * 0.05 / STUDIES)
MARGIN = 0.01  # Accuracy per doubling, as configs/default.py's plan.
GAIN_MARGIN = 0.03

# (seeds, sizes, images): the corners of 3-10 seeds, 4-5 sizes, 40-100 images.
DESIGNS = [(3, 4, 40), (5, 5, 100), (10, 5, 60)]


def _log2_params(sizes):
  return np.linspace(12.0, 20.0, sizes)  # 4k to 1M parameters: 8 doublings.


def _size_study(rng, seeds, sizes, images, slope, **effects):
  """(log2 params, (STUDIES, seeds, sizes) robust accuracy, probabilities)."""
  x = _log2_params(sizes)
  noise = dict(seed_sd=0.05, slope_sd=0.004, size_sd=0.02) | effects
  p = simulation.size_probabilities(rng, STUDIES, seeds, x, 0.5, slope, **noise)
  robust = simulation.outcomes(rng, p, images, image_corr=0.6)
  return x, robust.mean(-1), p


@pytest.mark.parametrize('seeds,sizes,images', DESIGNS)
def test_slope_interval_covers_the_true_slope_95_percent(seeds, sizes, images):
  rng = np.random.default_rng(seeds * 100 + images)
  x, accuracy, p = _size_study(rng, seeds, sizes, images, slope=-0.02)
  assert ((p > 0) & (p < 1)).all()  # No clipping: the true slope is exactly -0.02.
  _, low, high = size_slope.t_interval(size_slope.seed_slopes(x, accuracy))
  coverage = np.mean((low <= -0.02) & (-0.02 <= high))
  assert 0.93 <= coverage <= 0.97, (coverage, MC_SE_AT_95)


@pytest.mark.parametrize('seeds,sizes,images', DESIGNS)
def test_equivalence_at_the_margin_is_declared_at_most_5_percent(seeds, sizes, images):
  rng = np.random.default_rng(seeds * 7 + images)
  x, accuracy, _ = _size_study(rng, seeds, sizes, images, slope=MARGIN)
  rate = size_slope.equivalent(x, accuracy, None, MARGIN).mean()
  assert rate <= 0.05 + 3 * MC_SE_AT_95, rate


def test_equivalence_is_found_when_there_is_no_size_effect_and_enough_data():
  # The other side of the test: it is not equivalence-proof.
  rng = np.random.default_rng(1)
  x, accuracy, _ = _size_study(rng, 10, 5, 100, slope=0.0, slope_sd=0.002, size_sd=0.01)
  assert size_slope.equivalent(x, accuracy, None, MARGIN).mean() > 0.5


@pytest.mark.parametrize('seeds', [3, 5, 10])
def test_a_zigzag_of_very_different_robustness_is_never_equivalent(seeds):
  # Like docs/replication/retina_depth at 0.5/255: 0.11 and 0.31 alternating over
  # sizes, a flat line through them, tight across seeds and images.
  rng = np.random.default_rng(seeds)
  zigzag = np.array([0.11, 0.31, 0.11, 0.31, 0.11])
  x, accuracy, _ = _size_study(rng, seeds, 5, 100, slope=zigzag - 0.5,
                               seed_sd=0.01, slope_sd=0.0, size_sd=0.005)
  slopes = size_slope.seed_slopes(x, accuracy)
  assert np.abs(np.nanmean(slopes)) < MARGIN  # The slope alone would call it flat.
  assert not size_slope.equivalent(x, accuracy, None, MARGIN).any()


def _gain_study(rng, seeds, sizes, images, gain, gain_sd=0.03, base=0.3):
  """(STUDIES, seeds, sizes) paired gains: PGD minus standard on the same images."""
  x = _log2_params(sizes)
  standard = simulation.size_probabilities(rng, STUDIES, seeds, x, base, -0.01,
                                           seed_sd=0.04, slope_sd=0.003, size_sd=0.02)
  gain = np.broadcast_to(np.asarray(gain, float), (STUDIES, seeds, sizes))
  pgd = standard + gain + rng.normal(0, gain_sd, standard.shape)
  both = np.concatenate([standard, pgd], -1)
  assert ((both > 0) & (both < 1)).all()
  robust = simulation.outcomes(rng, both, images, image_corr=0.5).mean(-1)
  return robust[..., sizes:] - robust[..., :sizes]


@pytest.mark.parametrize('seeds,sizes,images', DESIGNS)
def test_gain_intervals_cover_the_true_gain_95_percent(seeds, sizes, images):
  rng = np.random.default_rng(seeds * 31 + images)
  true = np.linspace(0.05, 0.2, sizes)
  result = paired_gain.per_size(_gain_study(rng, seeds, sizes, images, true), GAIN_MARGIN)
  covered = (result['low'] <= true) & (true <= result['high'])  # (STUDIES, sizes)
  assert 0.93 <= covered.mean() <= 0.97, (covered.mean(), MC_SE_AT_95)
  assert ((covered.mean(0) >= 0.93) & (covered.mean(0) <= 0.97)).all(), covered.mean(0)


@pytest.mark.parametrize('seeds,sizes,images', DESIGNS)
def test_gain_equivalence_at_the_margin_is_declared_at_most_5_percent(seeds, sizes, images):
  rng = np.random.default_rng(seeds * 13 + images)
  result = paired_gain.per_size(_gain_study(rng, seeds, sizes, images, GAIN_MARGIN),
                                GAIN_MARGIN)
  assert result['equivalent'].mean(0).max() <= 0.05 + 3 * MC_SE_AT_95


def test_holm_keeps_the_familywise_error_over_sizes_with_no_gain():
  rng = np.random.default_rng(5)
  result = paired_gain.per_size(_gain_study(rng, 5, 5, 60, 0.0), GAIN_MARGIN)
  familywise = result['significant'].any(-1).mean()
  assert familywise <= 0.05 + 3 * MC_SE_AT_95, familywise


@pytest.mark.parametrize('seeds', [3, 6, 10])
def test_gains_that_zigzag_over_seeds_are_never_equivalent(seeds):
  # Seeds whose gains alternate +0.15 and -0.15: mean 0, very different robustness.
  rng = np.random.default_rng(seeds)
  sign = np.where(np.arange(seeds) % 2 == 0, 1.0, -1.0)[:, None]
  gains = _gain_study(rng, seeds, 4, 100, 0.15 * sign, gain_sd=0.0, base=0.45)
  assert not paired_gain.per_size(gains, GAIN_MARGIN)['equivalent'].any()


# The plan's secondary family (`secondary_family`): 3 within-ResNets slopes and the
# resolution arm's paired contrast, from per-seed slopes with a known answer.
SECONDARY_SEEDS = 5
# Each simulated family runs the production code row by row (no vectorised form),
# so fewer studies: Monte Carlo SE 0.0069 at 0.95 and 0.05; bands as above.
SECONDARY_STUDIES = 1000
SECONDARY_SE = np.sqrt(0.95 * 0.05 / SECONDARY_STUDIES)


def _secondary_study(rng, contrast: float, slopes=(0.0, 0.0, 0.0)) -> list[dict]:
  """One simulated family's rows: the 3 slopes' claims rows and the contrast of
  two studies whose per-seed slopes share a seed effect (the same re-split)."""
  plan = plan_lib.Plan.from_config(default.get_config().analysis)
  seeds = range(SECONDARY_SEEDS)

  def row(study, values, **more):
    return dict(study=study, claim='a', analysis='primary',
                seed_values=' '.join(f'{s}:{float(v)!r}' for s, v in zip(seeds, values)), **more)

  shared = rng.normal(0.0, 0.008, SECONDARY_SEEDS)
  claims = [row('reference', shared), row('study', shared + contrast +
                                          rng.normal(0.0, 0.006, SECONDARY_SEEDS))]
  slope_rows = []
  for k, slope in enumerate(slopes):
    values = slope + rng.normal(0.0, 0.008, SECONDARY_SEEDS)
    mean, low, high = (float(v) for v in size_slope.t_interval(values))
    slope_rows.append(row(f'depth{k}', values, test=f'depth{k} (resnets)', estimate=mean,
                          low=low, high=high, unit='per doubling', seeds=SECONDARY_SEEDS,
                          p=float(paired_gain.t_test_p(values)), verdict='inconclusive'))
  contrast_row = cross_study.slope_contrast(claims, 'study', 'reference')
  return secondary_family.family(slope_rows, [contrast_row], plan)


def test_the_resolution_contrast_interval_covers_the_true_difference_95_percent():
  rng = np.random.default_rng(11)
  covered = [(r['low'] <= 0.004 <= r['high'])
             for r in (_secondary_study(rng, 0.004)[-1] for _ in range(SECONDARY_STUDIES))]
  assert abs(np.mean(covered) - 0.95) <= 4 * SECONDARY_SE, np.mean(covered)


def test_the_secondary_family_keeps_its_familywise_error_and_equivalence_rate():
  rng = np.random.default_rng(12)
  null = [_secondary_study(rng, 0.0) for _ in range(SECONDARY_STUDIES)]
  # No effect anywhere: a slope that agrees or disagrees, or a contrast that
  # differs, is a false finding; the family allows one in 20 studies at most.
  familywise = np.mean([any(r['verdict'].startswith(('agrees', 'disagrees', 'differs'))
                            for r in family) for family in null])
  assert familywise <= 0.05 + 3 * SECONDARY_SE, familywise
  at_margin = [_secondary_study(rng, MARGIN)[-1]['verdict'] for _ in range(SECONDARY_STUDIES)]
  assert np.mean([v == 'equivalent' for v in at_margin]) <= 0.05 + 3 * SECONDARY_SE
