"""Claim (a) seen three ways, and what more seeds would settle.

An image a model gets wrong when clean counts as non-robust at every radius, so
a more accurate size looks more robust. Beside the headline (accuracy under the
worst attack), two views free of that: the matched set (only images every size
gets right when clean) and the per-image smallest fooling radius on it
(`paired_analysis`). All three are paired over images and seeds; the verdict
line says plainly when they disagree.
"""

import numpy as np

from medadv_jax.reporting import grouping, paired_analysis, paired_statistics, statistics
from medadv_jax.reporting.verdict_rules import (AGREES, DISAGREES, EQUIVALENT, INCONCLUSIVE,
                                                classify, detail, overall)


def _interval(estimate) -> str:
  rho, low, high = estimate
  if np.isnan(rho):
    return 'n/a'
  if np.isnan(low):
    return f'{rho:+.2f} [n/a: ties]'
  return f'{rho:+.2f} [{low:+.2f}, {high:+.2f}]'


def views(arm, headline, margins) -> dict:
  """{'matched': {eps: (estimate, verdict)}, 'min_eps': (estimate, verdict)}; as
  the headline, an undecided matched-set radius is 'equivalent' when the largest
  minus smallest size's difference lies inside the difference margin."""
  rho_margin = None if margins is None else margins.rho
  matched = {}
  for e in headline:
    estimate = paired_analysis.spearman(arm, e, matched=True)
    verdict = classify(estimate.low, estimate.high, rho_margin, -1)
    if verdict == INCONCLUSIVE and margins is not None:
      _, low, high = paired_analysis.difference(arm, e, len(arm.sizes) - 1, 0, matched=True)
      if -margins.difference < low and high < margins.difference:
        verdict = EQUIVALENT
    matched[e] = (estimate, verdict)
  estimate = paired_analysis.min_eps_spearman(arm)
  return {'matched': matched,
          'min_eps': (estimate, classify(estimate.low, estimate.high, rho_margin, -1))}


def verdict_lines(arm, headline_verdicts, headline_overall, margins) -> list[str]:
  """Sub-bullets of claim (a): the matched-set and min-eps verdicts, and whether
  the three views agree. `headline_verdicts` {eps: verdict}."""
  found = views(arm, list(headline_verdicts), margins)
  matched = {e: v for e, (_, v) in found['matched'].items()}
  matched_overall = overall(matched)
  min_estimate, min_verdict = found['min_eps']
  lines = [f'  - Matched set (the images every size gets right when clean, so clean '
           f'errors do not count): **{matched_overall}**{detail(matched)}; rho '
           + ', '.join(f'{_interval(est)} at {e:g}' for e, (est, _) in
                       found['matched'].items()) + '.',
           f'  - Smallest fooling radius (median over the matched images, log scale, '
           f'never-fooled ones at the grid\'s end): rho {_interval(min_estimate)}: '
           f'**{min_verdict}**.']
  all_three = {headline_overall, matched_overall, min_verdict}
  found = (f'headline {headline_overall}, matched set {matched_overall}, smallest radius '
           f'{min_verdict}')
  if len(all_three) == 1:
    lines.append(f'  - The three views agree: **{headline_overall}**.')
  elif {AGREES, DISAGREES} <= all_three:
    lines.append(f'  - The three views **contradict** each other ({found}).')
  else:
    lines.append(f'  - The three views differ ({found}); none contradicts another.')
  return lines


def power_lines(spearman: dict, verdicts: dict, n_seeds: int, margin) -> list[str]:
  """For each inconclusive radius: the seeds that would settle it at the observed
  spread (`paired_statistics.seeds_needed`)."""
  if margin is None:
    return []
  parts = []
  for e, verdict in verdicts.items():
    if verdict != INCONCLUSIVE:
      continue
    rho, low, high = spearman[e]
    needed = paired_statistics.seeds_needed(rho, low, high, n_seeds, margin)
    if needed.seeds is None:
      parts.append(f'at {e:g} not estimable')
    else:
      goal = ('exclude 0' if needed.target == paired_statistics.EXCLUDE_ZERO else
              f'fall inside +-{margin:g}')
      parts.append(f'at {e:g} about {needed.seeds} seeds (to {goal})')
  if not parts:
    return []
  return ['  - Power: at the observed spread the interval would need, in all, '
          + '; '.join(parts) + f' ({n_seeds} seed{"s" if n_seeds > 1 else ""} compared; an '
          'approximation that scales the whole interval by 1/sqrt(seeds), although image '
          'noise does not shrink with seeds).']


def table_lines(rows, arm, headline) -> list[str]:
  """Largest-minus-smallest size differences, paired and unpaired, per radius."""
  largest, smallest = len(arm.sizes) - 1, 0
  label = lambda i: grouping.size_label(grouping.first(rows, arm.sizes[i], arm.modes[i]))
  lines = [f'Worst-attack accuracy of {label(largest)} minus {label(smallest)} '
           f'({arm.modes[0]} training, {arm.n_seeds} seed{"s" if arm.n_seeds > 1 else ""}),'
           ' with the 95 % interval paired over images and seeds (both models attacked on '
           'the same images) beside the unpaired one (each accuracy redrawn alone): the '
           'paired one is the right one here.', '',
           '| eps | difference | paired 95 % | half-width | unpaired 95 % | half-width |',
           '|---:|---:|---|---:|---|---:|']
  n = int(grouping.first(rows, arm.sizes[0], arm.modes[0])['n'])
  for e in headline:
    paired = paired_analysis.difference(arm, e, largest, smallest)
    per_seed = [[float(np.mean(paired_statistics.correct_at(m[i], e))) for m in
                 arm.paired.min_eps] for i in (largest, smallest)]
    unpaired = statistics.bootstrap_difference(per_seed[0], per_seed[1], n)
    lines.append(f'| {e:g} | {paired.estimate:+.3f} | [{paired.low:+.3f}, {paired.high:+.3f}]'
                 f' | {(paired.high - paired.low) / 2:.3f} | [{unpaired[1]:+.3f}, '
                 f'{unpaired[2]:+.3f}] | {(unpaired[2] - unpaired[1]) / 2:.3f} |')
  return lines
