"""The paper's two claims (Rodriguez et al. 2022), tested on the study's numbers.

  (a) Under standard training, models with fewer parameters are more robust:
      Spearman's rho between parameter count and worst-attack accuracy < 0.
  (b) After adversarial training, every model size is more robust than its
      standard-trained twin: worst-attack accuracy gain > 0 for every size.

At each headline eps a claim 'agrees' when the 95 % bootstrap interval lies wholly
on the claimed side of 0, 'disagrees' when it lies wholly on the other side, and is
'inconclusive' when it contains 0 or is undefined (ties). Over the eps range the
verdict is the one that occurs, 'inconclusive' where none or both do.
"""

from medadv_jax.reporting import clean_comparability, fitness_table, grouping, statistics

AGREES, DISAGREES, INCONCLUSIVE = 'agrees', 'disagrees', 'inconclusive'


def mode_sizes(rows, mode) -> list:
  """The size keys trained in `mode` among `rows`, smallest first."""
  return sorted({grouping.size_key(r) for r in rows if r['train_mode'] == mode})


def size_spearman(rows, worst, mode, eps_list) -> dict:
  """{eps_255: (rho, low, high)}: parameter count vs worst-attack accuracy of `mode`,
  over the sizes trained in that mode; NaN where undefined (see statistics)."""
  sizes = [s for s in grouping.sizes(rows) if (s, mode, eps_list[0]) in worst]
  params = [grouping.first(rows, s)['params'] for s in sizes]
  n = grouping.first(rows, sizes[0])['n']
  return {e: statistics.bootstrap_spearman(params, [worst[(s, mode, e)][3] for s in sizes], n)
          for e in eps_list}


def training_gains(rows, worst, mode, eps_list, baseline='standard') -> dict:
  """{(size, eps_255): (gain, low, high)}: worst-attack accuracy of `mode` minus that of
  `baseline`, for the sizes trained both ways."""
  out = {}
  for size in grouping.sizes(rows):
    if (size, mode, eps_list[0]) in worst and (size, baseline, eps_list[0]) in worst:
      n = grouping.first(rows, size)['n']
      for e in eps_list:
        out[(size, e)] = statistics.bootstrap_difference(
            worst[(size, mode, e)][3], worst[(size, baseline, e)][3], n)
  return out


def side(low: float, high: float) -> int:
  """-1 if an interval lies below 0, +1 if above, 0 if it contains 0 or is NaN."""
  if high < 0:
    return -1
  if low > 0:
    return 1
  return 0


def size_claim(spearman: dict) -> dict:
  """{eps: verdict} of claim (a) from `size_spearman`'s output (negative rho agrees)."""
  return {e: {-1: AGREES, 1: DISAGREES, 0: INCONCLUSIVE}[side(low, high)]
          for e, (_, low, high) in spearman.items()}


def training_claim(gains: dict, eps_list) -> dict:
  """{eps: verdict} of claim (b): agrees when every size gains, disagrees when some
  size loses, from `training_gains`'s output."""
  out = {}
  for e in eps_list:
    sides = [side(low, high) for (_, eps), (_, low, high) in gains.items() if eps == e]
    out[e] = (DISAGREES if -1 in sides else AGREES if sides and all(s == 1 for s in sides)
              else INCONCLUSIVE)
  return out


def overall(by_eps: dict) -> str:
  """One verdict over the eps range: the one reached at more than half of the
  radii, the opposite at none; else inconclusive. Each radius has its own 95 %
  interval, so one radius out of several can fall on a side by chance."""
  verdicts = list(by_eps.values())
  for verdict, opposite in ((AGREES, DISAGREES), (DISAGREES, AGREES)):
    if verdicts.count(verdict) * 2 > len(verdicts) and opposite not in verdicts:
      return verdict
  return INCONCLUSIVE


def section_lines(rows, worst, modes, headline) -> list[str]:
  """The report's 'Agreement with the paper' section, from every model's `rows`
  and `worst` (`grouping.worst_attack_accuracy`) of the models fit to attack
  (`fitness_table`): flagged ones are left out, and each verdict says so."""
  all_rows, rows = rows, fitness_table.fit_rows(rows)
  eps_range = (f'eps {headline[0]:g} to {headline[-1]:g} (x 1/255; the radii '
               f'{", ".join(f"{e:g}" for e in headline)})')
  lines = [f'Each claim is tested at {eps_range} on the worst-attack accuracy, with the '
           '95 % bootstrap intervals of the tables above: **agrees** where the interval '
           'lies wholly on the claimed side of 0, **disagrees** where it lies wholly on '
           'the other side, **inconclusive** where it contains 0 (or ties leave it '
           'undefined); over the range, the verdict reached at more than half of the '
           'radii with the opposite one at none, else inconclusive (one radius alone can '
           'fall on a side by chance).', '']
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
    by_eps = size_claim(size_spearman(rows, worst, 'standard', headline))
    lines.append('- (a) Under standard training, models with fewer parameters are more '
                 f'robust (negative Spearman rho of size vs accuracy): '
                 f'**{overall(by_eps)}**{_detail(by_eps)}.{_clean_caveat(rows)}'
                 + fitness_table.exclusion_note(all_rows, 'standard'))
  adversarial = [m for m in modes if m != 'standard']
  if not adversarial:
    lines.append('- (b) Adversarial training makes every size more robust: not tested '
                 '(no adversarially trained models).')
  for mode in adversarial:
    claim_b = (f'(b) After adversarial training ({mode}), every size is more robust than '
               'its standard-trained twin (gain > 0 for each size)')
    excluded = (fitness_table.exclusion_note(all_rows, 'standard')
                + fitness_table.exclusion_note(all_rows, mode))
    gains = training_gains(rows, worst, mode, headline)
    if not gains:
      lines.append(f'- {claim_b}: **no verdict**: no size is fit to attack in both modes.'
                   + excluded)
      continue
    by_eps = training_claim(gains, headline)
    lines.append(f'- {claim_b}: **{overall(by_eps)}**{_detail(by_eps)}.' + excluded)
  return lines


def _detail(by_eps: dict) -> str:
  """' (agrees at eps 2, 4; inconclusive at eps 0.5)': each verdict's radii."""
  parts = []
  for verdict in (AGREES, DISAGREES, INCONCLUSIVE):
    radii = [f'{e:g}' for e, v in by_eps.items() if v == verdict]
    if radii:
      parts.append(f'{verdict} at eps {", ".join(radii)}')
  return f' ({"; ".join(parts)})'


def _clean_caveat(rows) -> str:
  comparison = clean_comparability.compare(rows, 'standard')
  if comparison is None or comparison.comparable:
    return ''
  return (' The claim concerns models of similar clean accuracy, and the standard-trained '
          'sizes here are not comparable (see "Are clean accuracies comparable?"), so this '
          'verdict mixes size with clean accuracy.')
