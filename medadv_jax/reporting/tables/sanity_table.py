"""The report's gradient-masking checks (`evaluation.sanity`, as the rows'
sanity_<name> columns): a table of every model's checks, then what each
failing check means for the numbers, so that a report says which checks fail
and why instead of leaving a reader with a column of FAILs.
"""

from medadv_jax.reporting.inputs import result_rows
from medadv_jax.reporting.tables import fitness_table

TITLES = (('eps0_clean', 'eps 0 = clean'), ('non_increasing', 'non-increasing'),
          ('large_eps', 'large eps ~ 0'), ('pgd_vs_fgsm', 'PGD >= FGSM'),
          ('more_steps', '2x steps stable'), ('square_vs_white_box', 'Square <= white-box'),
          ('certificates', 'certificates hold'), ('strong_attack', 'strong ~ paper'),
          ('strong_more_steps', 'strong 2x steps stable'),
          ('strong_square_vs_white_box', 'strong Square <= white-box'))

# What a failure of each check says, and what it does to the report's numbers.
_MEANINGS = {
    'eps0_clean': 'an attack at eps 0 changed predictions, so the attack or the model is not '
                  'deterministic: every attacked accuracy of these models is suspect',
    'non_increasing': 'an attack run at each radius alone did better at a smaller radius: '
                      'it is far from converged there; the report\'s worst case is '
                      'cumulated over radii, so its curves never rise',
    'large_eps': 'at the check\'s large radius (by default the whole pixel box, where any '
                 'image is allowed) the attacks left more images unfooled than allowed: '
                 'their gradients stall there (a saturated or near-constant output), so '
                 'the gradient attacks\' accuracies of such a model are upper bounds, which '
                 'the gradient-free Square member of the strong attack is there to catch',
    'pgd_vs_fgsm': 'PGD did worse than one FGSM step: PGD stalls on some images (masked '
                   'gradients or too small a step); the worst case over attacks is still '
                   'reported',
    'more_steps': 'rerun with twice the steps, the check\'s reference gradient attack '
                  '(the grid\'s PGD, else its APGD or L2 PGD) changed its accuracy by '
                  'more than the tolerance: it has not converged on those images, so its '
                  'accuracies are not final',
    'square_vs_white_box': 'gradient-free Square fooled images the white-box attacks did '
                           'not: gradient masking; the strong attack includes Square, so '
                           'the verdicts count those images',
    'certificates': 'an image certified robust was fooled: the certificate is unsound, and '
                    'no certified count in this report should be trusted',
    'strong_attack': 'the strong attack (APGD-CE, APGD-DLR, Square) fooled more images than '
                     'the paper\'s FGSM and PGD-20: the paper\'s attacks overstate '
                     'robustness by that much, which is why the verdicts use the strong '
                     'attack',
    'strong_more_steps': 'the strong attack\'s APGD-CE rerun with twice the steps changed '
                         'its accuracy by more than the tolerance: the strong attack has not '
                         'converged on those images; raise attack.strong.apgd_steps',
    'strong_square_vs_white_box': 'the strong attack\'s Square fooled images every white-box '
                                  'attack missed: gradient masking; the verdicts count '
                                  'those images',
}


def section_lines(rows) -> list[str]:
  """The table of checks per model and the reading of each failing check."""
  models = fitness_table.models([r for r in rows if 'sanity_ok' in r])
  if not models:
    return []
  tolerance = next(iter(models.values())).get('sanity_tolerance')
  passed = sum(result_rows.truth(r['sanity_ok']) is True for r in models.values())
  lines = ['', f'- Gradient-masking checks: all applicable checks pass for {passed} of '
           f'{len(models)} models. "FAIL (x)" gives the measured value: a count of '
           'mismatched images for eps 0, an accuracy at the large radius, otherwise the '
           f'largest accuracy difference (tolerance {tolerance}). Large eps: the L-inf '
           'ensemble at the check radius must leave at most the tolerance when the radius '
           'spans the whole pixel box (any image is allowed there, so a model that '
           'separates the classes can be fooled on every one), else at most the most '
           'common class share. '
           'More steps: the reference attack rerun with twice the steps on the same keys. '
           'Certificates: certified images fooled by the check\'s attacks. Strong ~ paper: '
           'the strong attack lowers accuracy below the paper\'s attacks by at most the '
           'tolerance.',
           '', '| model | train mode | seed | ' + ' | '.join(t for _, t in TITLES)
           + ' |', '|---|---|---|' + '---|' * len(TITLES)]
  ordered = sorted(models.items(), key=lambda kv: (kv[0][0], result_rows.mode_rank(kv[0][1]),
                                                    kv[0][2]))
  for (_, mode, seed), r in ordered:
    cells = [_flag_cell(r, name) for name, _ in TITLES]
    lines.append(f'| {result_rows.size_label(r)} | {mode} | {seed} | ' + ' | '.join(cells) + ' |')
  reading = reading_lines(list(models.values()))
  return lines + reading + ([verdict_basis_line(rows)] if reading else [])


def reading_lines(models) -> list[str]:
  """'What the failing checks mean': per failing check, how many models fail
  it, how many of those are flagged unfit (and so out of the verdicts), the
  largest measured value and what the failure means."""
  lines = []
  for name, title in TITLES:
    applicable = [r for r in models if result_rows.truth(r.get(f'sanity_{name}')) is not None]
    failing = [r for r in applicable if result_rows.truth(r.get(f'sanity_{name}')) is False]
    if not failing:
      continue
    unfit = sum(not fitness_table.is_fit(r) for r in failing)
    values = [float(r[f'sanity_{name}_value']) for r in failing
              if r.get(f'sanity_{name}_value') not in (None, '')]
    largest = f', largest value {max(values):.3g}' if values else ''
    out = (f' ({unfit} of them flagged unfit, so out of the verdicts)' if unfit else '')
    lines.append(f'- **{title}** fails for {len(failing)} of {len(applicable)} models'
                 f'{out}{largest}: {_MEANINGS[name]}.')
  if not lines:
    return []
  return ['', 'What the failing checks mean:', ''] + lines


def verdict_basis_line(rows) -> str:
  """Which attacks the verdicts rest on, so a reader can tell which failures
  reach them."""
  if any(result_rows.is_strong(r) for r in rows):
    return ('- The verdicts use each image\'s worst case over the paper\'s attacks and, at '
            'its radii, the strong attack, so the failures that concern the paper\'s '
            'attacks alone (PGD >= FGSM, 2x steps stable, strong ~ paper) do not reach them '
            'at those radii; the others do.')
  return ('- No strong attack ran, so the verdicts rest on the paper\'s attacks alone and '
          'every failure above bears on them.')


def _flag_cell(row, name) -> str:
  ok = result_rows.truth(row.get(f'sanity_{name}'))
  if ok is None:
    return 'n/a'
  if ok:
    return 'ok'
  value = row.get(f'sanity_{name}_value')
  return '**FAIL**' + ('' if value in (None, '') else f' ({float(value):.3g})')
