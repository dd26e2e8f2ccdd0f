"""Are the model sizes' clean accuracies comparable? The paper's claim is about
models "of similar clean performance": where larger models are also more accurate
on clean images, a size / robustness correlation mixes the two.

Per training mode, the largest model (by parameter count) minus the smallest gets
a 95 % paired interval (`statistics.paired_difference`): each seed's difference
is taken on the same test images, and the seeds get a t-interval; with one seed,
Newcombe's paired interval on the images' clean verdicts in per_image.json (no
interval without them). Sizes count as comparable when that whole interval lies
within +-SPREAD_TOLERANCE and the spread of clean accuracy over all sizes (best
minus worst mean) is at most SPREAD_TOLERANCE. This is an equivalence test: an
interval that merely contains 0 is not enough, or a small test set would make
any sizes comparable; no interval is "not comparable".
"""

import dataclasses
import math

from medadv_jax.intervals import wilson_interval
from medadv_jax.reporting.inputs import result_rows
from medadv_jax.reporting.statistics import image_verdicts, paired_difference

SPREAD_TOLERANCE = 0.05


@dataclasses.dataclass
class CleanAccuracy:
  """One model's clean test accuracy over seeds, as fractions of `n_test` images."""
  mean: float
  low: float  # 95 % Wilson interval with one seed, mean - std with several.
  high: float
  per_seed: list
  n_test: int


def clean_accuracy(rows, size, mode) -> CleanAccuracy:
  """Clean test accuracy of one model size and training mode."""
  per_seed = result_rows.per_seed(rows, size, mode, 'clean_test_accuracy')
  n_test = test_set_size(rows)
  mean = sum(per_seed) / len(per_seed)
  below, above = result_rows.seed_error(mean, per_seed,
                                     *wilson_interval(round(mean * n_test), n_test))
  return CleanAccuracy(mean, mean - below, mean + above, per_seed, n_test)


def test_set_size(rows) -> int:
  """Images the clean test accuracy is measured on."""
  return int(rows[0]['clean_test_n'])


@dataclasses.dataclass
class Comparison:
  """Clean accuracies of one training mode's sizes, smallest model first."""
  mode: str
  labels: list  # Size labels, by parameter count.
  accuracies: list  # CleanAccuracy per size.
  difference: paired_difference.Difference  # Largest minus smallest.
  spread: float  # Best minus worst mean over all sizes.

  @property
  def comparable(self) -> bool:
    _, low, high, _ = self.difference
    return (-SPREAD_TOLERANCE <= low and high <= SPREAD_TOLERANCE
            and self.spread <= SPREAD_TOLERANCE)


def compare(rows, mode, per_image=None) -> Comparison | None:
  """The clean accuracies of `mode`'s sizes; None with fewer than two sizes.
  `per_image` (`per_image_data.load`) with test-set clean verdicts gives the
  one-seed interval of largest minus smallest."""
  sizes = result_rows.sizes_by_params([r for r in rows if r['train_mode'] == mode])
  if len(sizes) < 2:
    return None
  accuracies = [clean_accuracy(rows, s, mode) for s in sizes]
  pair = ((sizes[-1], mode), (sizes[0], mode))
  difference = paired_difference.over_seeds(
      *(_by_seed(rows, *model) for model in pair),
      lambda seed: image_verdicts.clean(per_image or {}, pair, seed))
  means = [a.mean for a in accuracies]
  return Comparison(mode, [result_rows.size_label(result_rows.first(rows, s)) for s in sizes],
                    accuracies, difference, max(means) - min(means))


def _by_seed(rows, size, mode) -> dict:
  """{seed: clean test accuracy} of one model."""
  return {r['seed']: float(r['clean_test_accuracy']) for r in rows
          if result_rows.size_key(r) == size and r['train_mode'] == mode}


def section_lines(rows, modes, per_image=None) -> list[str]:
  """The report's 'Are clean accuracies comparable?' section."""
  comparisons = [c for c in (compare(rows, m, per_image) for m in modes) if c is not None]
  if not comparisons:
    return ['Fewer than two model sizes: nothing to compare.']
  n_test = test_set_size(rows)
  source = f'the {n_test} test images'
  present = {label for c in comparisons for label in c.labels}
  labels = [label for label in (result_rows.size_label(result_rows.first(rows, s))
                                for s in result_rows.sizes_by_params(rows)) if label in present]
  lines = ['Clean test accuracy per size: with one seed, a 95 % Wilson interval on '
           f'{source}; with several, mean ± std over seeds. "largest − '
           'smallest" is the largest model (by parameter count) minus the smallest, with '
           'a 95 % paired interval: each seed\'s difference on the same test images, a '
           't-interval over seeds; with one seed, Newcombe\'s paired interval on the '
           'images ("1 seed: images only"). Sizes count as comparable when that whole '
           f'interval lies within ±{SPREAD_TOLERANCE:g} and the spread (best minus worst '
           f'size) is at most {SPREAD_TOLERANCE:g}.', '',
           '| train mode | ' + ' | '.join(labels)
           + ' | largest − smallest | spread | comparable? |',
           '|---|' + '---:|' * (len(labels) + 2) + '---|']
  for c in comparisons:
    by_label = dict(zip(c.labels, c.accuracies))
    cells = [f'{by_label[l].mean:.3f} [{by_label[l].low:.2f}, {by_label[l].high:.2f}]'
             if l in by_label else '-' for l in labels]
    lines.append(f'| {c.mode} | ' + ' | '.join(cells) + f' | {c.difference.estimate:+.3f} '
                 f'{paired_difference.interval_text(c.difference)} | {c.spread:.3f} | '
                 f'{"yes" if c.comparable else "**no**"} |')
  lines.append('')
  lines += [f'- {_sentence(c)}' for c in comparisons]
  return lines


def _sentence(c: Comparison) -> str:
  d, low, high, _ = c.difference
  small, large = c.accuracies[0].mean, c.accuracies[-1].mean
  facts = (f'clean accuracy {small:.3f} ({c.labels[0]}) to {large:.3f} ({c.labels[-1]}), '
           f'difference {d:+.3f} {paired_difference.interval_text(c.difference)}, spread '
           f'{c.spread:.3f}')
  if c.comparable:
    return (f'**{c.mode}: comparable** ({facts}). With 95 % confidence the largest and '
            f'smallest sizes differ by at most {SPREAD_TOLERANCE:g} in clean accuracy, so '
            'no larger clean-accuracy gap can explain a size / robustness correlation '
            'for this mode.')
  reasons = []
  if math.isnan(low):
    reasons.append('no interval of the difference')
  elif not -SPREAD_TOLERANCE <= low <= high <= SPREAD_TOLERANCE:
    reasons.append(f'the interval of the difference reaches beyond ±{SPREAD_TOLERANCE:g}')
  if c.spread > SPREAD_TOLERANCE:
    reasons.append(f'the spread exceeds {SPREAD_TOLERANCE:g}')
  return (f'**{c.mode}: not comparable** ({facts}; {" and ".join(reasons)}). An image '
          'misclassified when clean counts as non-robust at every eps, so a size / '
          'robustness correlation for this mode partly reflects clean accuracy, not '
          'size alone. The minimal-eps distributions (min_eps_distributions.png, where '
          'drawn) look at clean-correct images only, which reduces that part without '
          'removing it: a more accurate size also keeps its harder, borderline images.')
