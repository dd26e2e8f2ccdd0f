"""The paper's two claims (Rodriguez et al. 2022), tested on the study's numbers.

  (a) Under standard training, models with fewer parameters are more robust:
      Spearman's rho between parameter count and worst-attack accuracy < 0.
  (b) After adversarial training, every model size is more robust than its
      standard-trained twin: worst-attack accuracy gain > 0 for every size.

At each headline eps a claim 'agrees' when the 95 % bootstrap interval lies wholly
on the claimed side of 0, 'disagrees' when it lies wholly on the other side,
'equivalent' when it lies inside the stated margin (no effect larger than it:
a result, given `Margins`), and is 'inconclusive' otherwise or when undefined
(ties). Intervals are paired over images and seeds (`paired_analysis`) where
per-image data exists, else per-model (`statistics`). Over the eps range the
verdict is the one reached at more than half the radii, with no contrary one.
"""

import dataclasses
from typing import Optional

from medadv_jax.reporting import (claim_views, clean_comparability, fitness_table, grouping,
                                  paired_analysis, statistics)
from medadv_jax.reporting.verdict_rules import (AGREES, DISAGREES, EQUIVALENT, INCONCLUSIVE,
                                                classify, detail, overall)


@dataclasses.dataclass(frozen=True)
class Margins:
  """Effects smaller than these count as none (config.verdict)."""
  rho: float  # |Spearman rho| of size with accuracy.
  difference: float  # |accuracy difference| (fraction of images).

  @classmethod
  def from_config(cls, config) -> 'Margins':
    return cls(float(config.verdict.rho_margin), float(config.verdict.difference_margin))


def mode_sizes(rows, mode) -> list:
  """The size keys trained in `mode` among `rows`, smallest first."""
  return sorted({grouping.size_key(r) for r in rows if r['train_mode'] == mode})


def paired_arm(rows, per_image, mode) -> Optional[paired_analysis.Arm]:
  """`mode`'s sizes with per-image data for all of them in some seed, else None."""
  arm = paired_analysis.size_arm(rows, per_image or {}, mode)
  return arm if arm is not None and len(arm.sizes) == len(mode_sizes(rows, mode)) else None


def size_spearman(rows, worst, mode, eps_list, per_image=None) -> dict:
  """{eps_255: (rho, low, high)}: parameter count vs worst-attack accuracy of `mode`,
  over the sizes trained in that mode; NaN where undefined (see statistics).
  Paired over images and seeds when `per_image` (`per_image_data.load`) covers
  every size, else per-model accuracies redrawn independently."""
  arm = paired_arm(rows, per_image, mode)
  if arm is not None:
    return {e: tuple(paired_analysis.spearman(arm, e)) for e in eps_list}
  sizes = [s for s in grouping.sizes(rows) if (s, mode, eps_list[0]) in worst]
  params = [grouping.first(rows, s)['params'] for s in sizes]
  n = grouping.first(rows, sizes[0])['n']
  return {e: statistics.bootstrap_spearman(params, [worst[(s, mode, e)][3] for s in sizes], n)
          for e in eps_list}


def size_difference(rows, worst, mode, eps_list, per_image=None) -> dict:
  """{eps_255: (difference, low, high)}: worst-attack accuracy of `mode`'s largest
  size (by parameters) minus its smallest, paired where `per_image` covers them."""
  arm = paired_arm(rows, per_image, mode)
  if arm is not None:
    return {e: tuple(paired_analysis.difference(arm, e, len(arm.sizes) - 1, 0))
            for e in eps_list}
  sizes = sorted(mode_sizes(rows, mode), key=lambda s: grouping.first(rows, s, mode)['params'])
  n = grouping.first(rows, sizes[0], mode)['n']
  return {e: statistics.bootstrap_difference(worst[(sizes[-1], mode, e)][3],
                                             worst[(sizes[0], mode, e)][3], n)
          for e in eps_list}


def training_gains(rows, worst, mode, eps_list, baseline='standard', per_image=None) -> dict:
  """{(size, eps_255): (gain, low, high)}: worst-attack accuracy of `mode` minus that of
  `baseline`, for the sizes trained both ways; paired over images and seeds where
  `per_image` covers both (the two modes of a seed attack the same images)."""
  out = {}
  for size in grouping.sizes(rows):
    if (size, mode, eps_list[0]) in worst and (size, baseline, eps_list[0]) in worst:
      arm = paired_analysis.arm(rows, per_image or {}, [(size, baseline), (size, mode)])
      if arm is not None:
        for e in eps_list:
          out[(size, e)] = tuple(paired_analysis.difference(arm, e, 1, 0))
        continue
      n = grouping.first(rows, size)['n']
      for e in eps_list:
        out[(size, e)] = statistics.bootstrap_difference(
            worst[(size, mode, e)][3], worst[(size, baseline, e)][3], n)
  return out


def size_claim(spearman: dict, margins: Optional[Margins] = None,
               differences: Optional[dict] = None) -> dict:
  """{eps: verdict} of claim (a) from `size_spearman`'s output (negative rho
  agrees); an undecided sign is 'equivalent' when rho's interval lies inside the
  rho margin, or the largest-minus-smallest difference's (`size_difference`)
  inside the difference margin: no size effect larger than the margin."""
  out = {}
  for e, (_, low, high) in spearman.items():
    found = classify(low, high, None if margins is None else margins.rho, -1)
    if found == INCONCLUSIVE and margins is not None and differences:
      _, d_low, d_high = differences[e]
      if -margins.difference < d_low and d_high < margins.difference:
        found = EQUIVALENT
    out[e] = found
  return out


def training_claim(gains: dict, eps_list, margin: Optional[float] = None) -> dict:
  """{eps: verdict} of claim (b): agrees when every size gains, disagrees when some
  size loses, equivalent when no size gains or loses more than the margin, from
  `training_gains`'s output."""
  out = {}
  for e in eps_list:
    found = [classify(low, high, margin, 1) for (_, eps), (_, low, high) in gains.items()
             if eps == e]
    out[e] = (DISAGREES if DISAGREES in found else
              AGREES if found and all(v == AGREES for v in found) else
              EQUIVALENT if found and all(v == EQUIVALENT for v in found) else INCONCLUSIVE)
  return out


def section_lines(rows, worst, modes, headline, per_image=None,
                  margins: Optional[Margins] = None) -> list[str]:
  """The report's 'Agreement with the paper' section, from every model's `rows`
  and `worst` (`grouping.worst_attack_accuracy`) of the models fit to attack
  (`fitness_table`): flagged ones are left out, and each verdict says so.
  `per_image` (of the fit models) makes the intervals paired; `margins` allows
  'equivalent' verdicts."""
  all_rows, rows = rows, fitness_table.fit_rows(rows)
  rho_margin = None if margins is None else margins.rho
  difference_margin = None if margins is None else margins.difference
  eps_range = (f'eps {headline[0]:g} to {headline[-1]:g} (x 1/255; the radii '
               f'{", ".join(f"{e:g}" for e in headline)})')
  lines = [f'Each claim is tested at {eps_range} on the worst-attack accuracy, with the '
           '95 % bootstrap intervals of the tables above: **agrees** where the interval '
           'lies wholly on the claimed side of 0, **disagrees** where it lies wholly on '
           'the other side, '
           + ('' if margins is None else
              f'**equivalent** where it lies inside the margin (|rho| < {margins.rho:g}, '
              f'|difference| < {margins.difference:g}: no effect larger than that), ')
           + '**inconclusive** otherwise (or where ties leave it undefined); over the range, '
           'the verdict reached at more than half of the radii with no contrary one, else '
           'inconclusive (one radius alone can fall on a side by chance). '
           + _method_sentence(rows, per_image, modes), '']
  if 'standard' not in modes:
    return lines + ['No standard-trained models: neither claim can be tested.']
  claim_a = '(a) Smaller models are more robust under standard training'
  fit_sizes = len(mode_sizes(rows, 'standard'))
  if len(mode_sizes(all_rows, 'standard')) < 3:
    lines.append(f'- {claim_a}: not tested (fewer than 3 standard-trained sizes).')
  elif fit_sizes < 3:
    lines.append(fitness_table.too_few_sizes_line(claim_a, 'standard', fit_sizes)
                 + fitness_table.exclusion_note(all_rows, 'standard'))
  else:
    spearman = size_spearman(rows, worst, 'standard', headline, per_image)
    by_eps = size_claim(spearman, margins,
                        size_difference(rows, worst, 'standard', headline, per_image))
    lines.append('- (a) Under standard training, models with fewer parameters are more '
                 f'robust (negative Spearman rho of size vs accuracy): '
                 f'**{overall(by_eps)}**{detail(by_eps)}.{_clean_caveat(rows, per_image)}'
                 + fitness_table.exclusion_note(all_rows, 'standard'))
    arm = paired_arm(rows, per_image, 'standard')
    if arm is not None:
      lines += claim_views.verdict_lines(arm, by_eps, overall(by_eps), margins)
    # The seeds the interval rests on: a paired arm drops seeds with an unfit size.
    seeds = (arm.n_seeds if arm is not None else
             len({r['seed'] for r in rows if r['train_mode'] == 'standard'}))
    lines += claim_views.power_lines(spearman, by_eps, seeds, rho_margin)
  adversarial = [m for m in modes if m != 'standard']
  if not adversarial:
    lines.append('- (b) Adversarial training makes every size more robust: not tested '
                 '(no adversarially trained models).')
  for mode in adversarial:
    claim_b = (f'(b) After adversarial training ({mode}), every size is more robust than '
               'its standard-trained twin (gain > 0 for each size)')
    excluded = (fitness_table.exclusion_note(all_rows, 'standard')
                + fitness_table.exclusion_note(all_rows, mode))
    gains = training_gains(rows, worst, mode, headline, per_image=per_image)
    if not gains:
      lines.append(f'- {claim_b}: **no verdict**: no size is fit to attack in both modes.'
                   + excluded)
      continue
    by_eps = training_claim(gains, headline, difference_margin)
    lines.append(f'- {claim_b}: **{overall(by_eps)}**{detail(by_eps)}.' + excluded)
  return lines


def _method_sentence(rows, per_image, modes) -> str:
  paired = [m for m in modes if paired_arm(rows, per_image, m) is not None]
  seeds = len({r['seed'] for r in rows})
  one_seed = ('' if seeds > 1 else
              ' With one training seed they hold the attacked images\' noise only, not '
              'training noise: a size effect is claimable only over several seeds '
              '(`seeds`).')
  if paired and len(paired) == len(modes):
    return ('Intervals are paired: seeds, then images within each seed, resampled '
            'jointly for every model compared (per_image.json).' + one_seed
            + _seeds_used(rows, per_image, modes))
  return ('Intervals redraw each model\'s accuracy on its own (no per-image data for '
          f'{", ".join(m for m in modes if m not in paired)}: cells finished before '
          'per_image.json held the worst case), so they are wider than paired ones.'
          + one_seed)


def _seeds_used(rows, per_image, modes) -> str:
  """Which seeds a mode's paired size comparisons rest on, where not all."""
  notes = []
  for mode in modes:
    arm = paired_arm(rows, per_image, mode)
    ran = len({r['seed'] for r in rows if r['train_mode'] == mode})
    if arm is not None and arm.n_seeds < ran:
      notes.append(f' The {mode}-trained sizes are compared over {arm.n_seeds} of their '
                   f'{ran} seeds: those in which every size is fit to attack.')
  return ''.join(notes)


def _clean_caveat(rows, per_image=None) -> str:
  comparison = clean_comparability.compare(rows, 'standard', per_image)
  if comparison is None or comparison.comparable:
    return ''
  return (' The claim concerns models of similar clean accuracy, and the standard-trained '
          'sizes here are not comparable (see "Are clean accuracies comparable?"), so this '
          'verdict mixes size with clean accuracy.')
