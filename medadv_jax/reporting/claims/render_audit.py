"""The report's audit section, from `claims.audit.Audit`."""

import math

from medadv_jax.reporting.inputs import result_rows


def section_lines(audit) -> list[str]:
  """Markdown lines: per-size shortfall with exact intervals, slopes per mode,
  which size verdicts are withheld, and FAB-T's agreement with the study."""
  if audit.unfit_only:
    return ['No audited model is fit to attack: the audit enters no verdict.']
  if not audit.eps_255:
    return ['Not run: no cell has an audit.json (attack.audit.images = 0).']
  eps = audit.eps_255
  lines = [f'On a fixed sample of each model\'s attacked images (the same images for every '
           f'size of a seed), the audit ran AutoAttack\'s attacks ({audit.budget}). '
           'Shortfall: images the study\'s worst case calls robust that the audit fooled, '
           'pooled over seeds, with exact 95 % intervals. A size verdict is withheld when '
           'the shortfall\'s slope on log2(parameters) excludes 0 in the direction of the '
           f'size finding, or a size\'s shortfall exceeds the tolerance ({audit.tolerance:g}).',
           '', '| model | train mode | ' + ' | '.join(f'{e:g}' for e in eps) + ' |',
           '|---|---|' + '---:|' * len(eps)]
  for (mode, size), (_, per_radius) in sorted(
      audit.shortfall.items(), key=lambda kv: (result_rows.mode_rank(kv[0][0]), kv[1][0])):
    lines.append(f'| {size} | {mode} | ' + ' | '.join(
        f'{k}/{n} [{low:.2f}, {high:.2f}]' for k, n, low, high in per_radius) + ' |')
  modes = list(dict.fromkeys(m for m, _ in audit.shortfall))
  lines += ['', '| train mode | ' + ' | '.join(f'slope at {e:g}' for e in eps) + ' |',
            '|---|' + '---:|' * len(eps)]
  for mode in modes:
    cells = []
    for e in eps:
      slope, low, high = audit.slopes[(mode, e)]
      cells.append('-' if math.isnan(slope) else f'{slope:+.3f}' if low is None
                   else f'{slope:+.3f} [{low:+.3f}, {high:+.3f}]')
    lines.append(f'| {mode} | ' + ' | '.join(cells) + ' |')
  lines.append('')
  for mode in modes:
    if mode in audit.withheld:
      lines.append(f'- **{mode}: size verdict withheld, it may be an attack artefact**: '
                   f'{audit.withheld[mode]}. Raise the study\'s attack budgets in the '
                   'config, not the tolerance.')
    else:
      lines.append(f'- {mode}: the audit gives no reason to doubt the size verdict.')
  for mode, c in audit.agreement.items():
    n = c.get('images', 0)
    if n:
      lines.append(f'- FAB-T\'s smallest fooling radius vs the study\'s ({mode}, {n} images): '
                   f'within the study\'s grid step for {c.get("agree", 0)}, below it '
                   f'(the study missed a closer point) for {c.get("study_later", 0)}, above '
                   f'it for {c.get("fab_weaker", 0)}.')
  return lines
