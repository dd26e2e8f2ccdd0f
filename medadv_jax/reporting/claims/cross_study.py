"""Several finished studies side by side: one CSV, one figure and a markdown
table, all read from each study's claims.csv (`claim_summary`), so no number
is typed twice.

A study is a folder holding claims.csv (a study workdir, or a copy of its
outputs such as docs/replication/<dataset>_<family>/); its folder name labels
it. A published study's made.json (launch/publish_study.py) gives its wall
and cell time, which the compute table sums.
"""

import math
import pathlib

import matplotlib

matplotlib.use('Agg')  # Files only; no display on servers and CI.
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top

import numpy as np

from medadv_jax import atomic_files
from medadv_jax.errors import MedAdvError
from medadv_jax.reporting.claims import claim_summary
from medadv_jax.reporting.figures import plotting
from medadv_jax.reporting.statistics import multiplicity, paired_gain, size_slope

CSV_FILE, FIGURE_FILE = 'cross_study.csv', 'cross_study.png'
# The README's table sits between these lines; the rest of the file is kept.
TABLE_START = '<!-- cross-study table: written by launch/cross_study.py -->'
TABLE_END = '<!-- end of cross-study table -->'
# How a published study was made (launch/publish_study.py), and where the
# compute table summing those goes.
MADE_FILE = 'made.json'
COMPUTE_START = '<!-- compute table: written by launch/cross_study.py -->'
COMPUTE_END = '<!-- end of compute table -->'


def load(study_dirs, field: str = '--studies') -> list[dict]:
  """Every study's claims rows, each with `study` (its folder name) first; `field`
  names the flag that gave the folders in an error."""
  out = []
  for folder in map(pathlib.Path, study_dirs):
    path = folder / claim_summary.FILE_NAME
    if not path.is_file():
      raise MedAdvError(f'{field}: {str(folder)!r} has no {claim_summary.FILE_NAME}; '
                        'allowed: folders of finished studies (aggregate them first with '
                        'launch/aggregate.py) or their answers under a plan '
                        '(launch/reanalyse.py)')
    rows = claim_summary.read_csv(path)
    if rows and 'claim' not in rows[0]:
      raise MedAdvError(f'{field}: {str(path)!r} is a claims.csv of an older format (rank-'
                        'correlation votes); allowed: one written by this code (publish the '
                        'study again, or launch/reanalyse.py)')
    out += [dict(study=folder.name, **row) for row in rows]
  if not out:
    raise MedAdvError(f'{field}: the folders hold no claims (no finished cells)')
  return out


HOLM_COLUMN = 'p_holm_summary'
ALPHA = 0.05


def summary_family(claims) -> list[dict]:
  """The tests Holm adjusts over in this summary: every study's claim (a) slope
  and claim (b) per-size gain (primary rows with a p-value)."""
  return [r for r in claims if r['analysis'] == 'primary' and not math.isnan(r['p'])]


def with_summary_holm(claims) -> list[dict]:
  """`claims` with HOLM_COLUMN: Holm-adjusted p over `summary_family`, the claims
  and studies of this one summary (empty on other rows)."""
  family = summary_family(claims)
  adjusted = multiplicity.holm(np.array([r['p'] for r in family])) if family else []
  by_id = {id(r): float(p) for r, p in zip(family, adjusted)}
  return [dict(r, **{HOLM_COLUMN: by_id.get(id(r), math.nan)}) for r in claims]


CONTRASTS_FILE = 'contrasts.csv'


def slope_contrast(claims, study: str, reference: str) -> dict:
  """Claim (a)'s slope in `study` minus in `reference`, paired by seed (the same
  seed re-splits the same images, e.g. at 64 and 28 px): the mean of the
  per-seed differences over the seeds both analysed, its 95 % t-interval,
  two-sided p and the differences by seed (`seed_values`). MedAdvError if either
  study has no primary claim (a) row."""
  found = {}
  for name in (study, reference):
    row = next((r for r in claims if (r['study'], r['claim'], r['analysis']) ==
                (name, 'a', 'primary')), None)
    if row is None:
      raise MedAdvError(f'--contrasts: {name!r} has no claim (a) primary row; allowed: '
                        f'studies of --studies ({", ".join(sorted({r["study"] for r in claims}))})')
    found[name] = claim_summary.seed_values(row)
  seeds = sorted(set(found[study]) & set(found[reference]))
  differences = np.array([found[study][s] - found[reference][s] for s in seeds])
  mean, low, high = (float(v) for v in size_slope.t_interval(differences))
  return dict(study=study, reference=reference, estimate=mean, low=low, high=high,
              p=float(paired_gain.t_test_p(differences)), seeds=len(seeds),
              seed_values=dict(zip(seeds, differences.tolist())))


def write_contrasts(contrasts, path: pathlib.Path) -> None:
  """contrasts.csv: one row per `slope_contrast`."""
  claim_summary.write_rows(contrasts, ('study', 'reference', 'estimate', 'low', 'high', 'p',
                                       'seeds'), path)


def write_csv(claims, path: pathlib.Path) -> None:
  """One CSV of every study's claims rows, `study` first, with the summary's Holm p."""
  claim_summary.write_csv(with_summary_holm(claims), path, leading=('study',),
                          trailing=(HOLM_COLUMN,))


def plot(claims, path: pathlib.Path) -> None:
  """Claim (a)'s slope per study, and claim (b)'s per-size gains against
  parameters, each with its 95 % t-interval over seeds."""
  studies = sorted({r['study'] for r in claims})
  colours = plt.cm.tab10([k % 10 for k in range(len(studies))])
  fig, (left, right) = plt.subplots(1, 2, figsize=(11.0, 3.8))
  for k, (study, colour) in enumerate(zip(studies, colours)):
    for r in claims:
      if (r['study'], r['claim'], r['analysis']) == (study, 'a', 'primary') and not \
          math.isnan(r['estimate']):
        left.errorbar([r['estimate']], [k], xerr=_error(r), fmt='o', color=colour, capsize=3)
    gains = sorted((r['size'], r['estimate'], r) for r in claims if r['study'] == study
                   and r['claim'] == 'b' and r['analysis'] == 'primary'
                   and r['size'] != 'every size' and not math.isnan(r['estimate']))
    if gains:
      xs = list(range(len(gains)))
      right.errorbar(xs, [g[1] for g in gains],
                     yerr=np.array([_error(g[2]) for g in gains]).reshape(-1, 2).T,
                     marker='o', ms=3, capsize=2, color=colour, label=study)
  left.axvline(0.0, color='grey', linewidth=0.8)
  left.set_yticks(range(len(studies)), studies)
  plotting.label_panel(left, 'claim (a)', 'robust accuracy per doubling of parameters', None)
  right.axhline(0.0, color='grey', linewidth=0.8)
  plotting.label_panel(right, 'claim (b)', 'size (fewest parameters first)',
                      'robust accuracy gain')
  if right.get_legend_handles_labels()[0]:
    right.legend(fontsize=7)
  plotting.save_with_title(fig, 'Claims per study (bars: 95 % t-intervals over seeds)', path)


def _error(row) -> list:
  if math.isnan(row['low']):
    return [[0.0], [0.0]]
  return [[max(0.0, row['estimate'] - row['low'])], [max(0.0, row['high'] - row['estimate'])]]


def table_lines(claims, link=lambda study: None) -> list[str]:
  """Markdown: one line per study with claim (a)'s slope, interval, verdict and
  seeds, and claim (b)'s verdict and smallest gain; beside each, the p-value Holm-
  adjusted over every test of this summary (`summary_family`), said below it.
  `link(study)`: the report's relative path, or None."""
  adjusted = with_summary_holm(claims)
  header = ['study', 'plan', 'claim (a): slope per doubling [95 %]', 'verdict', 'seeds',
            'Holm p (summary)', 'claim (b)', 'smallest gain [95 %]', 'largest Holm p (summary)']
  lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
  for study in sorted({r['study'] for r in adjusted}):
    mine = [r for r in adjusted if r['study'] == study]
    a = next((r for r in mine if r['claim'] == 'a' and r['analysis'] == 'primary'), None)
    b = next((r for r in mine if r['claim'] == 'b' and r['size'] == 'every size'), None)
    sizes = [r for r in mine if r['claim'] == 'b' and r['analysis'] == 'primary'
             and r['size'] != 'every size']
    target = link(study)
    cells = [f'[{study}]({target})' if target else study, mine[0].get('plan', '')]
    cells += ([interval_text(a), _word(a), str(a['seeds']), p_text(a[HOLM_COLUMN])] if a else
              ['-', 'not tested', '-', '-'])
    if b and sizes:
      smallest = min(sizes, key=lambda r: (math.isnan(r['estimate']), r['estimate']))
      cells += [_word(b), f'{smallest["size"]}: {interval_text(smallest)}',
                p_text(max((r[HOLM_COLUMN] for r in sizes), default=math.nan))]
    else:
      cells += ['not tested', '-', '-']
    lines.append('| ' + ' | '.join(cells) + ' |')
  family = summary_family(adjusted)
  lines += ['', f'Holm p (summary): adjusted over the {len(family)} tests of this table '
            '(each study\'s claim (a) slope and claim (b) per-size gains); a verdict whose '
            f'Holm p here is not below {ALPHA:g} does not survive this family.']
  return lines


def interval_text(row) -> str:
  """'+0.0123 [-0.0040, +0.0286]' from a row's estimate, low and high."""
  if math.isnan(row['estimate']):
    return 'n/a'
  if math.isnan(row['low']):
    return f'{row["estimate"]:+.4f} [n/a]'
  return f'{row["estimate"]:+.4f} [{row["low"]:+.4f}, {row["high"]:+.4f}]'


def _word(row) -> str:
  return row['verdict'] or '-'


def p_text(value) -> str:
  """A p-value to 3 significant digits, 'n/a' for NaN."""
  return 'n/a' if math.isnan(value) else f'{value:.3g}'


def compute_lines(study_dirs) -> list[str]:
  """A table of each study's cells, sittings, wall time and cell time from its
  made.json, and their total; a study without one, or with a sitting of
  unknown length, makes the total a lower bound and says so."""
  lines = ['| study | cells | sittings | wall time | cell time |', '|---|---:|---:|---:|---:|']
  wall = cell = 0.0
  missing = partial = 0
  for folder in map(pathlib.Path, study_dirs):
    path = folder / MADE_FILE
    if not path.is_file():
      missing += 1
      lines.append(f'| {folder.name} | - | - | not recorded | not recorded |')
      continue
    made = atomic_files.read_json(path)
    cut = sum(bool(s.get('cut_short')) for s in made['sittings'])
    sittings = f'{len(made["sittings"])}' + (f' ({cut} cut short)' if cut else '')
    unknown = made.get('sittings_of_unknown_length', 0)
    partial += bool(unknown) or made['wall_seconds'] is None
    wall += made['wall_seconds'] or 0.0
    cell += made['cell_seconds']
    wall_text = ('not recorded' if made['wall_seconds'] is None else
                 ('at least ' if unknown else '') + duration(made['wall_seconds']))
    lines.append(f'| {folder.name} | {made["cells"]} | {sittings} | {wall_text} | '
                 f'{duration(made["cell_seconds"])} |')
  gaps = [f'{n} {what}' for n, what in ((missing, 'not recorded'),
                                        (partial, 'with a wall time not known whole')) if n]
  total = 'total' + (f' ({", ".join(gaps)})' if gaps else '')
  at_least = 'at least ' if gaps else ''
  return lines + [f'| **{total}** | | | **{at_least}{duration(wall)}** | '
                  f'**{"at least " if missing else ""}{duration(cell)}** |']


def duration(seconds: float) -> str:
  """'1 h 06 min' or '38 min 49 s'."""
  minutes, secs = divmod(int(round(seconds)), 60)
  hours, minutes = divmod(minutes, 60)
  return f'{hours} h {minutes:02d} min' if hours else f'{minutes} min {secs:02d} s'


def replace_table(text: str, lines: list[str], start: str = TABLE_START, end: str = TABLE_END,
                  field: str = '--readme') -> str:
  """`text` with the lines between `start` and `end` replaced."""
  if start not in text or end not in text:
    raise MedAdvError(f'{field}: the file has no {start!r} ... {end!r} block; '
                      'allowed: a markdown file with both lines, where the table goes')
  head, rest = text.split(start, 1)
  _, tail = rest.split(end, 1)
  return head + start + '\n' + '\n'.join(lines) + '\n' + end + tail
