"""report.md: what the study measured, in tables a reader can check against the CSV."""

import collections

import numpy as np
from scipy import stats as scipy_stats

from medadv_jax.reporting import grouping

HEADLINE_EPS_255 = (0.5, 1.0, 2.0, 4.0, 8.0)


def render_report(rows) -> str:
  """Markdown text summarising `rows` (the results table)."""
  if not rows:
    return '# Robustness study\n\nNo finished cells yet.\n'
  grid = sorted({r['eps_255'] for r in rows})
  headline = [e for e in HEADLINE_EPS_255 if e in grid] or grid[-3:]
  modes = sorted({r['train_mode'] for r in rows}, key=['standard', 'pgd'].index)
  worst = _worst_attack_accuracy(rows)
  lines = [
      '# Robustness study',
      '',
      _setup_sentence(rows),
      '',
      '**Accuracy under attack at eps** is the fraction of attacked test images still '
      'classified correctly by every attack iterate at every radius up to eps (an '
      'adversarial image found at a smaller radius is inside every larger ball). '
      '"Worst attack" is the lowest such accuracy among the attacks run, per model; it '
      'is not yet a per-image ensemble. Intervals are 95 % Wilson intervals on n images.',
      '',
      '## Model sizes and clean accuracy',
      '',
      '| model | params | MFLOPs/image | train mode | clean test acc. | clean acc. (attacked set) |',
      '|---|---:|---:|---|---:|---:|',
  ]
  for size, mode in _sizes_and_modes(rows, modes):
    r = _first(rows, size, mode)
    clean = _mean(rows, size, mode, 'clean_test_accuracy')
    eps0 = _mean([x for x in rows if x['eps_255'] == 0], size, mode, 'accuracy')
    lines.append(f'| {grouping.size_label(r)} | {r["params"]:,} | {r["flops"] / 1e6:.2f} | '
                 f'{mode} | {clean:.3f} | {eps0:.3f} |')
  lines += ['', '## Worst-attack accuracy at selected eps (x 1/255)', '',
            '| model | train mode | ' + ' | '.join(f'{e:g}' for e in headline) + ' |',
            '|---|---|' + '---:|' * len(headline)]
  for size, mode in _sizes_and_modes(rows, modes):
    cells = []
    for e in headline:
      acc, low, high = worst[(size, mode, e)]
      cells.append(f'{acc:.3f} [{low:.2f}, {high:.2f}]')
    lines.append(f'| {grouping.size_label(_first(rows, size, mode))} | {mode} | '
                 + ' | '.join(cells) + ' |')
  lines += ['', '## Does robustness fall with model size?', '',
            _spearman_section(rows, worst, modes, headline)]
  if {'standard', 'pgd'} <= set(modes):
    lines += ['', '## What adversarial training buys (PGD-trained minus standard)', '',
              '| model | ' + ' | '.join(f'{e:g}' for e in headline) + ' |',
              '|---|' + '---:|' * len(headline)]
    for size in _sizes(rows):
      gains = [worst[(size, 'pgd', e)][0] - worst[(size, 'standard', e)][0]
               for e in headline]
      lines.append(f'| {grouping.size_label(_first(rows, size))} | '
                   + ' | '.join(f'{g:+.3f}' for g in gains) + ' |')
  lines += ['', '## Sanity checks', ''] + _sanity_lines(rows)
  return '\n'.join(lines) + '\n'


def _setup_sentence(rows) -> str:
  attacks = sorted({grouping.attack_label(r) for r in rows})
  seeds = sorted({r['seed'] for r in rows})
  grid = sorted({r['eps_255'] for r in rows})
  return (f'Dataset **{rows[0]["dataset"]}**; {len(_sizes(rows))} model sizes; seeds '
          f'{seeds}; attacks: {"; ".join(attacks)}; {len(grid)} radii from 0 to '
          f'{grid[-1]:g}/255 (L-inf, pixels in [0, 1]); n = {rows[0]["n"]} attacked test '
          'images per model.')


def _worst_attack_accuracy(rows):
  """{(size, mode, eps_255): (accuracy, ci_low, ci_high)} of the lowest-accuracy attack,
  averaged over seeds."""
  by_cell = collections.defaultdict(list)
  for r in rows:
    by_cell[(grouping.size_key(r), r['train_mode'], r['eps_255'], r['seed'])].append(r)
  per_seed = collections.defaultdict(list)
  for (size, mode, eps, _), candidates in by_cell.items():
    lowest = min(candidates, key=lambda r: r['accuracy'])
    per_seed[(size, mode, eps)].append(
        (lowest['accuracy'], lowest['ci_low'], lowest['ci_high']))
  return {key: tuple(np.mean(values, axis=0)) for key, values in per_seed.items()}


def _spearman_section(rows, worst, modes, headline) -> str:
  sizes = _sizes(rows)
  if len(sizes) < 3:
    return 'Fewer than 3 model sizes: no rank correlation computed.'
  params = [_first(rows, s)['params'] for s in sizes]
  out = ['Spearman rank correlation between parameter count and worst-attack accuracy '
         f'across the {len(sizes)} sizes (negative: larger models are less robust, as '
         'the paper claims for standard training). With this few sizes and '
         f'{len({r["seed"] for r in rows})} seed(s), a single rho is a description, '
         'not a test.', '',
         '| train mode | ' + ' | '.join(f'eps {e:g}' for e in headline) + ' |',
         '|---|' + '---:|' * len(headline)]
  for mode in modes:
    rhos = []
    for e in headline:
      accuracies = [worst[(s, mode, e)][0] for s in sizes]
      rho = scipy_stats.spearmanr(params, accuracies).statistic
      rhos.append('n/a (constant)' if np.isnan(rho) else f'{rho:+.2f}')
    out.append(f'| {mode} | ' + ' | '.join(rhos) + ' |')
  return '\n'.join(out)


def _sanity_lines(rows) -> list[str]:
  lines = []
  eps0 = collections.defaultdict(set)
  for r in rows:
    if r['eps_255'] == 0:
      eps0[(grouping.size_key(r), r['train_mode'], r['seed'])].add(r['accuracy_single_eps'])
  differing = sum(len(v) > 1 for v in eps0.values())
  lines.append(f'- eps = 0 gives the same accuracy under every attack (the clean accuracy '
               f'of the attacked images): {"yes" if not differing else f"NO, {differing} models differ"}.')
  index = {(grouping.size_key(r), r['train_mode'], r['seed'], r['attack'], r['target'],
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
  curves = collections.defaultdict(list)
  for r in sorted(rows, key=lambda r: r['eps_255']):
    curves[(grouping.size_key(r), r['train_mode'], r['seed'], r['attack'],
            r['target'])].append(r['accuracy_single_eps'])
  rises = sum(int(np.sum(np.diff(c) > 1e-9)) for c in curves.values())
  steps = sum(len(c) - 1 for c in curves.values())
  lines.append(f'- Attack run at each eps alone: accuracy rose with eps in {rises} of '
               f'{steps} steps of the grid (random-start noise; the reported worst case '
               'never rises).')
  return lines


def _sizes(rows):
  return sorted({grouping.size_key(r) for r in rows})


def _sizes_and_modes(rows, modes):
  present = {(grouping.size_key(r), r['train_mode']) for r in rows}
  return [(s, m) for s in _sizes(rows) for m in modes if (s, m) in present]


def _first(rows, size, mode=None):
  return next(r for r in rows if grouping.size_key(r) == size
              and (mode is None or r['train_mode'] == mode))


def _mean(rows, size, mode, column) -> float:
  by_seed = {r['seed']: r[column] for r in rows
             if grouping.size_key(r) == size and r['train_mode'] == mode}
  return float(np.mean(list(by_seed.values())))
