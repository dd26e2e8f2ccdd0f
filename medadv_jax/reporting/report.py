"""report.md: what the study measured, in tables a reader can check against the CSV."""

import collections
import math

import numpy as np

from medadv_jax import cell_data
from medadv_jax.attacks import schedules
from medadv_jax.reporting.claims import render, render_audit
from medadv_jax.reporting.inputs import coverage, provenance, result_rows
from medadv_jax.reporting.statistics import paired_difference, worst_attack
from medadv_jax.reporting.tables import (clean_comparability, fitness_table, sanity_table,
                                         size_comparisons, summary_table)


def render_report(rows, files=(), environments=None, per_image=None, analysis=None,
                  coverage=None) -> str:
  """Markdown text summarising `rows` (the results table).

  `files`: (file name, description) of each artefact written beside report.md,
  listed at the end. `environments`: `provenance.load`'s {cell name: environment}
  for the "Software and hardware" section (left out when None). `per_image`:
  `per_image_data.load`'s per-image data, which gives the descriptive
  differences of a single seed their interval over its images (None: none).
  `analysis`: `claims.analysis.analyse`'s answer under the plan, the only source
  of verdicts and of the audit section (None: no claims section).
  `coverage`: `coverage.load`'s data read, failed and left-out cells, for the
  "Data and cells" section (None: left out).
  """
  if not rows:
    return '# Robustness study\n\nNo finished cells yet.\n' + ''.join(
        '\n' + line for line in _coverage_lines(coverage) + _files_lines(files))
  headline = result_rows.headline_eps(rows)
  modes = result_rows.ordered_modes(r['train_mode'] for r in rows)
  worst = worst_attack.worst_attack_accuracy(rows)
  # Correlations, differences and verdicts rest on the models fit to attack only.
  per_image_all = per_image or {}
  fit, per_image = fitness_table.fit_only(rows, per_image_all)
  seeds_fit = worst_attack.seed_accuracies(fit)
  lines = [
      '# Robustness study',
      '',
      _setup_sentence(rows),
      '',
      '**Accuracy under attack at eps** is the fraction of attacked test images still '
      'classified correctly by every attack iterate at every radius up to eps (an '
      'adversarial image found at a smaller radius is inside every larger ball). '
      + _bisection_sentence(rows) + _worst_attack_sentence(rows)
      + ' Intervals are 95 % Wilson intervals on the n images for one seed, and 95 % '
      't-intervals of the mean over seeds for several (the seeds are the replicates).',
      '',
      '## Model sizes and clean accuracy',
      '',
      '| model | params | MFLOPs/image | train mode | clean test acc. | balanced acc. | '
      'AUC | clean acc. (attacked set) | fit seeds |',
      '|---|---:|---:|---|---:|---:|---:|---:|---:|',
  ]
  for size, mode in _sizes_and_modes(rows, modes):
    r = result_rows.first(rows, size, mode)
    clean = np.mean(result_rows.per_seed(rows, size, mode, 'clean_test_accuracy'))
    eps0 = np.mean(result_rows.per_seed([x for x in rows if x['eps_255'] == 0], size, mode,
                                     'accuracy'))
    lines.append(f'| {result_rows.size_label(r)} | {r["params"]:,} | {r["flops"] / 1e6:.2f} | '
                 f'{mode} | {clean:.3f} | {_seed_mean(rows, size, mode, "balanced_accuracy")}'
                 f' | {_seed_mean(rows, size, mode, "auc")} | {eps0:.3f} | '
                 f'{_fit_seeds(rows, size, mode)} |')
  lines += ['', '## Are the models fit to attack?', '']
  lines += fitness_table.section_lines(rows, modes)
  lines += ['', '## Are clean accuracies comparable?', '']
  lines += clean_comparability.section_lines(rows, modes, per_image_all)
  lines += ['', '## Worst-attack accuracy at selected eps (x 1/255)', '',
            '| model | train mode | ' + ' | '.join(f'{e:g}' for e in headline) + ' |',
            '|---|---|' + '---:|' * len(headline)]
  for size, mode in _sizes_and_modes(rows, modes):
    cells = []
    for e in headline:
      acc, low, high, _ = worst[(size, mode, e)]
      cells.append(f'{acc:.3f} [{low:.2f}, {high:.2f}]')
    lines.append(f'| {result_rows.size_label(result_rows.first(rows, size, mode))} | {mode} | '
                 + ' | '.join(cells) + ' |')
  lines += ['', '## Mean ± std over seeds (summary.csv)', '']
  lines += summary_table.markdown_lines(rows, modes, headline)
  lines += ['', '## Accuracy per attack at selected eps (x 1/255)', ''] + _per_attack_lines(
      rows, modes, headline)
  lines += _strong_lines(rows, modes, headline)
  lines += ['', '## Does robustness fall with model size?', '',
            _spearman_section(fit, seeds_fit, modes, headline)]
  lines += _paired_lines(fit, seeds_fit, modes, headline, per_image)
  if {'standard', 'pgd'} <= set(modes):
    lines += ['', '## What adversarial training buys (PGD-trained minus standard)', '',
              'Worst-attack accuracy difference, for the sizes fit to attack in both modes, '
              'with a 95 % paired interval: the two modes of a seed are attacked on the '
              'same images, so each seed\'s difference is paired, and the seeds get a '
              't-interval; with one seed, Newcombe\'s paired interval on its images '
              '("1 seed: images only", from per_image.json).', '',
              '| model | ' + ' | '.join(f'{e:g}' for e in headline) + ' | seeds |',
              '|---|' + '---:|' * (len(headline) + 1)]
    gains = size_comparisons.training_gains(fit, seeds_fit, 'pgd', headline, per_image=per_image)
    for size in result_rows.sizes(fit):
      if (size, headline[0]) in gains:
        found = [gains[(size, e)] for e in headline]
        seeds = max(d.seeds for d in found)
        lines.append(f'| {result_rows.size_label(result_rows.first(fit, size))} | ' + ' | '.join(
            f'{d.estimate:+.3f} {paired_difference.interval_text(d, mark_one_seed=False)}'
            for d in found) + f' | {"1: images only" if seeds == 1 else seeds} |')
  if analysis is not None and analysis.audit is not None:
    lines += ['', '## Is the attack as strong for every size? (audit)', '']
    lines += render_audit.section_lines(analysis.audit)
  if analysis is not None:
    lines += ['', '## Agreement with the paper', '']
    if analysis.audit is not None and analysis.audit.withheld:
      lines += [f'**The audit points at an attack artefact for '
                f'{", ".join(analysis.audit.withheld)} (see above): no size verdict is given '
                'for those modes.**', '']
    lines += render.section_lines(analysis)
    lines += _clean_caveat(fit, analysis, per_image)
  lines += ['', '## Sanity checks', ''] + _sanity_lines(rows) + sanity_table.section_lines(rows)
  lines += _coverage_lines(coverage)
  if environments is not None:
    lines += ['', '## Software and hardware', ''] + provenance.section_lines(environments)
  lines += _files_lines(files)
  return '\n'.join(lines) + '\n'


def _clean_caveat(fit, analysis, per_image) -> list[str]:
  """A warning under claim (a) when its sizes' clean accuracies are not comparable."""
  if analysis.size is None:
    return []
  comparison = clean_comparability.compare(fit, analysis.size.mode, per_image)
  if comparison is None or comparison.comparable:
    return []
  return ['', f'The {analysis.size.mode}-trained sizes\' clean accuracies are not comparable '
          '(see "Are clean accuracies comparable?"): claim (a) mixes size with clean '
          'accuracy; its secondary slope adjusted for clean accuracy tells them apart.']


def _coverage_lines(loaded) -> list[str]:
  return [] if loaded is None else ['', '## Data and cells', ''] + coverage.section_lines(
      loaded)


def _files_lines(files) -> list[str]:
  if not files:
    return []
  return ['', '## Files', ''] + [f'- `{name}`: {description}' for name, description in files]


def _setup_sentence(rows) -> str:
  attacks = sorted({cell_data.attack_label(r) for r in rows})
  seeds = sorted({r['seed'] for r in rows})
  grid = sorted({r['eps_255'] for r in rows})
  return (f'Dataset **{rows[0]["dataset"]}**; {len(result_rows.sizes(rows))} model sizes; seeds '
          f'{seeds}; attacks: {"; ".join(attacks)}; {len(grid)} radii from 0 to '
          f'{grid[-1]:g}/255 (L-inf, pixels in [0, 1]{_l2_note(rows)}); n = {rows[0]["n"]} '
          'attacked test images per model.' + fitness_table.class_count_sentence(rows)
          + _binary_targets_note(rows))


def _binary_targets_note(rows) -> str:
  if not any(result_rows.truth(r.get('least_likely_as_untargeted')) for r in rows):
    return ''
  return (' On this 2-class task the least-likely target is the other class, and '
          'least-likely FGSM and PGD take the steps of the untargeted attacks (their '
          'losses\' gradients point the same way), so they run once, untargeted '
          '(attack.skip_binary_least_likely).')


def _l2_note(rows) -> str:
  scales = sorted({float(r['eps_scale']) for r in rows if not result_rows.is_linf(r)})
  if not scales:
    return ''
  return ('; L2 attacks at Euclidean radius ' + ' or '.join(f'{s:g}' for s in scales)
          + ' x eps')


def _worst_attack_sentence(rows) -> str:
  if any(result_rows.is_strong(r) for r in rows):
    radii = ', '.join(f'{e:g}' for e in sorted({r['eps_255'] for r in rows
                                                 if result_rows.is_strong(r)}))
    return ('"Worst attack" is the per-image worst case of every L-inf attack run: at '
            f'eps {radii} (x 1/255) the paper\'s attacks and the strong attack (an '
            'AutoAttack-style ensemble run after them), elsewhere the paper\'s attacks '
            'alone. An image counts as robust at eps only if every attack failed on it; '
            'tables, correlations and verdicts use this worst case.')
  if any(result_rows.is_ensemble(r) for r in rows):
    return ('"Worst attack" is the per-image ensemble of the L-inf attacks (AutoAttack '
            'style): an image counts as robust at eps only if every attack failed on it.')
  return ('"Worst attack" is the lowest such accuracy among the attacks run, per model '
          '(these results have no per-image ensemble).')


def _paired_lines(rows, seeds, modes, headline, per_image) -> list[str]:
  """Largest-minus-smallest size differences, paired, per mode."""
  lines = []
  for mode in modes:
    if len(size_comparisons.mode_sizes(rows, mode)) >= 2:
      lines += [''] + size_comparisons.difference_table_lines(rows, seeds, mode, headline,
                                                              per_image)
  return ['', '## Largest minus smallest size, paired', ''] + lines[1:] if lines else []


def _spearman_section(rows, seeds, modes, headline) -> str:
  sizes = result_rows.sizes(rows)
  if len(sizes) < 3:
    return 'Fewer than 3 model sizes: no rank correlation computed.'
  out = ['Spearman rank correlation between parameter count and mean worst-attack '
         'accuracy across the sizes fit to attack (negative: larger models are less '
         'robust, as the paper claims for standard training). A description only, '
         'without an interval: over a handful of sizes rho takes few values and ignores '
         'how large the differences are; claim (a) is answered by the slope per doubling '
         'under the plan.', '',
         '| train mode | ' + ' | '.join(f'eps {e:g}' for e in headline) + ' |',
         '|---|' + '---:|' * len(headline)]
  for mode in modes:
    fit_sizes = size_comparisons.mode_sizes(rows, mode)
    if len(fit_sizes) < 3:
      out.append(f'| {mode} | ' + ' | '.join(
          [f'n/a ({len(fit_sizes)} fit sizes)'] * len(headline)) + ' |')
      continue
    rhos = size_comparisons.size_spearman(rows, seeds, mode, headline).values()
    out.append(f'| {mode} | ' + ' | '.join('n/a (constant)' if np.isnan(rho) else f'{rho:+.2f}'
                                           for rho in rhos) + ' |')
  return '\n'.join(out)


def _bisection_sentence(rows) -> str:
  if not any(r.get('schedule') == 'min_eps' for r in rows):
    return ''
  return ("Under the 'min_eps' schedule (the schedule column) the radii are bisected, "
          'not all attacked: an image counts as fooled from the smallest radius at which '
          'the bisection found an adversarial image, so such accuracies can be higher than '
          'those of attacking every radius. ')


def _strong_lines(rows, modes, headline) -> list[str]:
  """How far the strong attack lowers accuracy below the paper's attacks."""
  strong = [r for r in rows if result_rows.is_strong(r)]
  if not strong:
    return []
  radii = [e for e in headline if any(r['eps_255'] == e for r in strong)]
  tolerance = float(strong[0]['sanity_tolerance'])
  gaps = collections.defaultdict(list)
  for r in strong:
    gaps[(result_rows.size_key(r), r['train_mode'], r['eps_255'])].append(r)
  lines = ['', '## How much the strong attack adds to the paper\'s', '',
           'Accuracy of the paper\'s L-inf attacks (their per-image ensemble) minus that of '
           'the strong attack run after them, at each eps (x 1/255): the share of attacked '
           'images only the strong attack fooled, with its 95 % Wilson interval for one '
           'seed (a paired difference: both are counted on the same images), the mean '
           f'over seeds for several. Budgets: {strong[0]["members"]}. Bold: more than the '
           f'tolerance ({tolerance:g}), so that model\'s paper-attack accuracies are upper '
           'bounds.', '',
           '| model | train mode | ' + ' | '.join(f'{e:g}' for e in radii) + ' |',
           '|---|---|' + '---:|' * len(radii)]
  for size, mode in _sizes_and_modes(strong, modes):
    cells = []
    for e in radii:
      found = gaps.get((size, mode, e))
      if not found:
        cells.append('-')
        continue
      gap = float(np.mean([float(r['below_paper']) for r in found]))
      text = (f'{gap:.3f} [{float(found[0]["below_paper_ci_low"]):.2f}, '
              f'{float(found[0]["below_paper_ci_high"]):.2f}]' if len(found) == 1
              else f'{gap:.3f}')
      cells.append(f'**{text}**' if gap > tolerance + 1e-9 else text)
    lines.append(f'| {result_rows.size_label(result_rows.first(strong, size, mode))} | {mode} | '
                 + ' | '.join(cells) + ' |')
  return lines


def _certificate_lines(rows) -> list[str]:
  """The run-time check of certificates, over every model that used them."""
  models = {}
  for r in rows:
    if 'sanity_certificates' in r:
      models.setdefault((result_rows.size_key(r), r['train_mode'], r['seed']), r)
  checked = [r for r in models.values() if result_rows.truth(r['sanity_certificates']) is not None]
  if not checked:
    return ['- Certificates: none were used or checked (they are used by the cascade '
            'schedule, on models the bounds cover).']
  count = lambda r, column: int(float(r.get(column) or 0))
  images = sum(count(r, 'sanity_certificates_checked') for r in checked)
  certified = sum(count(r, 'sanity_certified_images') for r in checked)
  distrusted = [r for r in checked if result_rows.truth(r['sanity_certificates']) is False]
  line = (f'- Certificates: {certified} attacked images were certified robust at some '
          f'radius over {len(checked)} models; {images} of them were attacked inside their '
          'largest certified ball with the strong gradient attacks, and '
          f'{sum(count(r, "sanity_certificates_value") for r in checked)} were fooled.')
  if distrusted:
    line += (' Evaluated without certificates after an attack disproved one: '
             + ', '.join(f'{result_rows.size_label(r)} {r["train_mode"]} seed {r["seed"]}'
                         for r in distrusted) + '.')
  return [line]


def _sanity_lines(rows) -> list[str]:
  # Only schedules that attack each radius on its own have verdicts to check here:
  # 'cascade' and 'min_eps' never attack at eps = 0 and keep cumulated verdicts.
  # The strong attack's rows are cumulated by construction.
  certificate_lines = _certificate_lines(rows)
  rows = [r for r in rows if not result_rows.is_strong(r)]
  single = [r for r in rows if r.get('schedule') in schedules.SINGLE_RADIUS_SCHEDULES]
  skipped = ''
  if len(single) < len(rows):
    skipped = (" Models evaluated with the 'cascade' or 'min_eps' schedule are not "
               'counted: they keep only verdicts cumulated over radii, which pass by '
               'construction (their table column says n/a).')
  lines = []
  if single:
    eps0 = collections.defaultdict(set)
    for r in single:
      if r['eps_255'] == 0:
        eps0[(result_rows.size_key(r), r['train_mode'], r['seed'])].add(
            r['accuracy_single_eps'])
    differing = sum(len(v) > 1 for v in eps0.values())
    lines.append('- eps = 0 gives the same accuracy under every attack (the clean '
                 'accuracy of the attacked images): '
                 + ('yes.' if not differing else f'NO, {differing} models differ.'))
    curves = collections.defaultdict(list)
    for r in sorted(single, key=lambda r: r['eps_255']):
      curves[(result_rows.size_key(r), r['train_mode'], r['seed'], r['attack'],
              r['target'], r.get('norm'))].append(r['accuracy_single_eps'])
    rises = sum(int(np.sum(np.diff(c) > 1e-9)) for c in curves.values())
    steps = sum(len(c) - 1 for c in curves.values())
    lines.append(f'- Attack run at each eps alone: accuracy rose with eps in {rises} of '
                 f'{steps} steps of the grid (random starts differ per radius, and one '
                 'FGSM step of length eps can overshoot; the reported worst case never '
                 'rises).' + skipped)
  else:
    lines.append('- eps = 0 and the attacks run at each eps alone: not checked.' + skipped)
  index = {(result_rows.size_key(r), r['train_mode'], r['seed'], r['attack'], r['target'],
            r['eps_255']): r['accuracy'] for r in rows}
  compared = violations = 0
  for (size, mode, seed, attack, target, eps), acc in index.items():
    fgsm = index.get((size, mode, seed, 'fgsm', target, eps))
    if attack == 'pgd' and fgsm is not None:
      compared += 1
      violations += acc > fgsm + 1e-9
  if compared:
    lines.append(f'- PGD at least as strong as FGSM (same target, same eps): '
                 f'{compared - violations}/{compared} comparisons hold.')
  return lines + certificate_lines


def _per_attack_lines(rows, modes, headline) -> list[str]:
  """Accuracy (mean over seeds) of every attack and ensemble, per model and mode."""
  accuracies = collections.defaultdict(list)
  medians = collections.defaultdict(list)
  order = {}
  for r in rows:
    label = cell_data.attack_label(r)
    order[label] = (result_rows.is_ensemble(r), not result_rows.is_linf(r), label)
    key = (result_rows.size_key(r), r['train_mode'], label)
    accuracies[key + (r['eps_255'],)].append(r['accuracy'])
    if r['eps_255'] == 0 and 'median_min_eps_255' in r:
      medians[key].append(r['median_min_eps_255'])
  labels = sorted(order, key=order.get)
  lines = ['Mean accuracy over seeds; "median min eps" is the median over images of the '
           'smallest grid radius (x 1/255) that fools the image ("> grid": more than half '
           'are never fooled), the robustness curve in one number.', '',
           '| model | train mode | attack | ' + ' | '.join(f'{e:g}' for e in headline)
           + ' | median min eps |', '|---|---|---|' + '---:|' * (len(headline) + 1)]
  for size, mode in _sizes_and_modes(rows, modes):
    for label in labels:
      if not accuracies.get((size, mode, label, headline[0])):
        continue
      cells = [f'{np.mean(accuracies[(size, mode, label, e)]):.3f}'
               if accuracies.get((size, mode, label, e)) else '-' for e in headline]
      lines.append(f'| {result_rows.size_label(result_rows.first(rows, size, mode))} | {mode} | {label} | '
                   + ' | '.join(cells) + f' | {_median_cell(medians.get((size, mode, label)))} |')
  return lines


def _median_cell(values) -> str:
  if not values:
    return '-'
  if any(v is None or v == '' for v in values):
    return '> grid'
  return f'{np.mean([float(v) for v in values]):.3g}'


def _seed_mean(rows, size, mode, column) -> str:
  """Mean over seeds of a per-model column, '-' for cells without it."""
  found = [r for r in rows if result_rows.size_key(r) == size and r['train_mode'] == mode
           and r.get(column) not in (None, '')]
  if not found:
    return '-'
  return f'{np.mean(result_rows.per_seed(found, size, mode, column)):.3f}'


def _fit_seeds(rows, size, mode) -> str:
  """'2 / 3': seeds of this model fit to attack, of those run."""
  ran = {seed: r for (s, m, seed), r in fitness_table.models(rows).items()
         if s == size and m == mode}
  return f'{sum(fitness_table.is_fit(r) for r in ran.values())} / {len(ran)}'


def _sizes_and_modes(rows, modes):
  present = {(result_rows.size_key(r), r['train_mode']) for r in rows}
  return [(s, m) for s in result_rows.sizes(rows) for m in modes if (s, m) in present]
