"""The analysis of a study under a plan, computed once: claim (a)'s size slope,
claim (b)'s per-size gains, their sensitivity rows, failure rates, power and the
secondary analyses, and the attack audit that may withhold a size verdict.
report.md, claims.csv and the cross-study summary read it."""

import dataclasses

import numpy as np
from scipy import stats

from medadv_jax.reporting.claims import (audit as audit_lib, failures, outcomes, plan as plan_lib,
                                         secondary, verdicts)
from medadv_jax.reporting.statistics import multiplicity, paired_gain, power, size_slope


@dataclasses.dataclass(frozen=True)
class Estimate:
  """A mean over seeds with its 95 % t-interval, the seeds it rests on and the verdict."""
  mean: float
  low: float
  high: float
  seeds: int
  verdict: str


@dataclasses.dataclass(frozen=True)
class SizeClaim:
  """Claim (a): robust accuracy per doubling of parameters."""
  mode: str
  labels: list
  params: list
  radii: list  # The band's radii used (x 1/255).
  dropped: list  # The band's radii at or below the floor for every size.
  seed_slopes: dict  # {seed: slope} of the seeds in the primary analysis.
  primary: Estimate
  p: float  # Two-sided t-test of slope 0 over seeds.
  tost_p: float  # The slope's TOST p (the larger one-sided p).
  page_l: float
  page_p: float  # Page's exact test that accuracy falls with size, complete fit seeds.
  rho: float  # Descriptive: Spearman's rho of parameters and mean endpoint.
  sensitivity: Estimate  # The flagged models in.
  failure_rates: list
  seeds_to_exclude_zero: int | None
  seeds_inside_margin: int | None
  secondary: dict  # {name: Estimate} (verdict '' : descriptive).


@dataclasses.dataclass(frozen=True)
class SizeGain:
  label: str
  params: float
  estimate: Estimate
  p: float
  p_holm: float
  seeds_to_exclude_zero: int | None


@dataclasses.dataclass(frozen=True)
class TrainingClaim:
  """Claim (b): per size, robust accuracy of `mode` minus `baseline` on the same images."""
  mode: str
  baseline: str
  radii: list
  sizes: list  # [SizeGain]
  sensitivity: list  # [SizeGain] with flagged models in.
  failure_rates: list
  verdict: str


@dataclasses.dataclass(frozen=True)
class Analysis:
  plan: plan_lib.Plan
  size: SizeClaim | None
  training: TrainingClaim | None
  untested: dict  # {claim: why it has no analysis}.
  audit: audit_lib.Audit | None = None  # None: no audit records given.


# The size verdict of a mode whose audit points at an attack artefact.
WITHHELD = f'{verdicts.NO_VERDICT}: withheld, the audit says it may be an attack artefact'


def analyse(rows, per_image: dict, plan: plan_lib.Plan, audits=None) -> Analysis:
  """The study's answer under `plan` from its rows and per_image.json data;
  `audits`: `inputs.audits.load`'s records (None: no audit section)."""
  per_image = per_image or {}
  if plan.models:  # A planned subset, e.g. the ResNets without CBR-LargeT.
    rows = [r for r in rows if r['model'] in plan.models]
  untested = {}
  size = training = None
  standard = outcomes.mode_cells(rows, plan.size.mode)
  if standard is None or len(standard.sizes) < plan.min_sizes:
    untested['a'] = (f'fewer than {plan.min_sizes} sizes trained in mode '
                     f'{plan.size.mode!r}')
  else:
    size = _size_claim(standard, per_image, plan)
  adversarial = outcomes.mode_cells(rows, plan.training.mode)
  baseline = outcomes.mode_cells(rows, plan.training.baseline)
  if adversarial is None or baseline is None:
    untested['b'] = (f'needs modes {plan.training.mode!r} and '
                     f'{plan.training.baseline!r}')
  else:
    training = _training_claim(adversarial, baseline, per_image, plan)
  audit = None
  if audits is not None:
    audit = audit_lib.of_study(rows, audits, _directions(rows, plan, size))
    if size is not None and size.mode in audit.withheld:
      size = dataclasses.replace(size, primary=dataclasses.replace(size.primary,
                                                                   verdict=WITHHELD))
  return Analysis(plan, size, training, untested, audit)


def _directions(rows, plan, size: SizeClaim | None) -> dict:
  """{mode: +1 if its robust accuracy rises with size, -1 if it falls}: for claim
  (a)'s mode the sign of its primary estimate (`size`), for the others the sign
  of the mean per-seed slope over the plan's band, fit models only."""
  out = {}
  if size is not None and np.isfinite(size.primary.mean) and size.primary.mean != 0:
    out[size.mode] = 1 if size.primary.mean > 0 else -1
  for mode in dict.fromkeys(r['train_mode'] for r in rows):
    if size is not None and mode == size.mode:
      continue
    cells = outcomes.mode_cells(rows, mode)
    if cells is None or len(cells.sizes) < 2:
      continue
    radii, _ = outcomes.band_radii(cells, plan.size.band_255, plan.size.floor, cells.fit)
    if not radii:
      continue
    slopes = size_slope.seed_slopes(cells.log2_params, outcomes.band_accuracy(cells, radii),
                                    cells.fit, 2)
    mean = float(np.nanmean(slopes)) if np.isfinite(slopes).any() else 0.0
    if mean != 0:
      out[mode] = 1 if mean > 0 else -1
  return out


def _slope_estimate(cells, per_image, use, plan, radii) -> tuple[dict, Estimate, float, float]:
  """Claim (a) over the `use` (S, K) cells: per-seed slopes, their t-interval and verdict."""
  endpoint = outcomes.band_accuracy(cells, radii)
  if plan.size.endpoint == 'matched_robust_slope':
    endpoint = secondary.matched_endpoint(cells, per_image, radii, use)
  slopes = size_slope.seed_slopes(cells.log2_params, endpoint, use, plan.min_sizes)
  keep = np.isfinite(slopes)
  mean, low, high = (float(v) for v in size_slope.t_interval(slopes[keep]))
  seeds = int(keep.sum())
  equivalent = bool(size_slope.equivalent(cells.log2_params, endpoint[keep], use[keep],
                                          plan.size.margin, plan.alpha, plan.min_sizes)
                    ) if seeds else False
  _, tost_p = size_slope.tost(slopes[keep], plan.size.margin, plan.alpha)
  verdict = (f'{verdicts.NO_VERDICT}: no radius of the band above the floor' if not radii
             else verdicts.too_few_seeds(seeds, plan.min_seeds)
             or verdicts.by_interval(low, high, equivalent, claimed_sign=-1))
  by_seed = {seed: float(b) for seed, b, k in zip(cells.seeds, slopes, keep) if k}
  p = float(paired_gain.t_test_p(slopes[keep]))
  return by_seed, Estimate(mean, low, high, seeds, verdict), p, float(tost_p)


def _size_claim(cells, per_image, plan) -> SizeClaim:
  radii, dropped = outcomes.band_radii(cells, plan.size.band_255, plan.size.floor, cells.fit)
  by_seed, primary, p, tost_p = _slope_estimate(cells, per_image, cells.fit, plan, radii)
  _, sensitivity, _, _ = _slope_estimate(cells, per_image, cells.present, plan, radii)
  endpoint = outcomes.band_accuracy(cells, radii)  # Descriptive columns: every image.
  complete = cells.fit.all(1)
  page_l, page_p = size_slope.page_trend(endpoint[complete], cells.log2_params)
  means = outcomes.column_means(np.where(cells.fit, endpoint, np.nan))
  finite = np.isfinite(means)
  rho = (float(stats.spearmanr(cells.params[finite], means[finite]).statistic)
         if finite.sum() >= 3 and np.ptp(means[finite]) > 0 else float('nan'))
  contrasts = secondary.slope_contrasts(cells, per_image, radii, plan.min_sizes)
  fitted = power.fit_variances(contrasts)
  return SizeClaim(
      cells.mode, cells.labels, [float(p) for p in cells.params], radii, dropped, by_seed,
      primary, p, tost_p, page_l, page_p, rho, sensitivity,
      failures.failure_rates(cells.labels, cells.fit, cells.present),
      power.seeds_needed(primary.mean, fitted, plan.size.margin, 'exclude_zero'),
      power.seeds_needed(primary.mean, fitted, plan.size.margin, 'inside_margin'),
      {name: Estimate(*values, '') for name, values in
       secondary.estimates(cells, per_image, radii, plan).items()})


def _training_claim(adversarial, baseline, per_image, plan) -> TrainingClaim:
  sizes = [s for s in adversarial.sizes if s in baseline.sizes]
  adv = outcomes.mode_cells_subset(adversarial, sizes)
  base = outcomes.mode_cells_subset(baseline, sizes, seeds=adv.seeds)
  radii, _ = outcomes.band_radii(adv, plan.training.band_255, None, adv.fit)
  gains = outcomes.band_accuracy(adv, radii) - outcomes.band_accuracy(base, radii)
  fit = adv.fit & base.fit
  primary = _gains(adv, base, np.where(fit, gains, np.nan), per_image, radii, plan)
  present = adv.present & base.present
  sensitivity = _gains(adv, base, np.where(present, gains, np.nan), per_image, radii, plan)
  verdict = verdicts.every_size([g.estimate.verdict for g in primary])
  if any(g.estimate.verdict.startswith(verdicts.NO_VERDICT) for g in primary):
    verdict = next(g.estimate.verdict for g in primary
                   if g.estimate.verdict.startswith(verdicts.NO_VERDICT))
  # Both arms' flags count: a size's pair fails when either model is flagged.
  rates = failures.failure_rates(adv.labels, fit, present)
  return TrainingClaim(adv.mode, base.mode, radii, primary, sensitivity, rates, verdict)


def _gains(adv, base, gains, per_image, radii, plan) -> list:
  result = paired_gain.per_size(gains, plan.training.margin, plan.alpha)
  out = []
  for k, label in enumerate(adv.labels):
    seeds = int(np.isfinite(gains[:, k]).sum())
    verdict = verdicts.too_few_seeds(seeds, plan.min_seeds) or verdicts.by_test(
        result['mean'][k], bool(result['significant'][k]), bool(result['equivalent'][k]),
        claimed_sign=1)
    contrasts = secondary.gain_contrasts(adv, base, per_image, radii, k, np.isfinite(gains[:, k]))
    needed = power.seeds_needed(float(result['mean'][k]), power.fit_variances(contrasts),
                                plan.training.margin, 'exclude_zero')
    out.append(SizeGain(label, float(adv.params[k]), Estimate(
        float(result['mean'][k]), float(result['low'][k]), float(result['high'][k]), seeds,
        verdict), float(result['p'][k]), float(result['p_holm'][k]), needed))
  return out
