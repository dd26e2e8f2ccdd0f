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

from medadv_jax import atomic_files
from medadv_jax.errors import MedAdvError
from medadv_jax.reporting import claim_summary, figures, grouping

CSV_FILE, FIGURE_FILE = 'cross_study.csv', 'cross_study.png'
TABLE_EPS_255 = (1.0, 2.0, 4.0)
# The README's table sits between these lines; the rest of the file is kept.
TABLE_START = '<!-- cross-study table: written by launch/cross_study.py -->'
TABLE_END = '<!-- end of cross-study table -->'
# How a published study was made (launch/publish_study.py), and where the
# compute table summing those goes.
MADE_FILE = 'made.json'
COMPUTE_START = '<!-- compute table: written by launch/cross_study.py -->'
COMPUTE_END = '<!-- end of compute table -->'


def load(study_dirs) -> list[dict]:
  """Every study's claims rows, each with `study` (its folder name) first."""
  out = []
  for folder in map(pathlib.Path, study_dirs):
    path = folder / claim_summary.FILE_NAME
    if not path.is_file():
      raise MedAdvError(f'--studies: {str(folder)!r} has no {claim_summary.FILE_NAME}; '
                        'allowed: folders of finished studies (aggregate them first with '
                        'launch/aggregate.py)')
    out += [dict(study=folder.name, **row) for row in claim_summary.read_csv(path)]
  if not out:
    raise MedAdvError('--studies: the studies hold no claims (no finished cells)')
  return out


def write_csv(claims, path: pathlib.Path) -> None:
  """One CSV of every study's claims rows, `study` first."""
  claim_summary.write_csv(claims, path, leading=('study',))


def plot(claims, path: pathlib.Path) -> None:
  """Spearman rho of size with accuracy against eps, one line per study, with
  95 % intervals; a row of panels per view (headline, matched set), a column
  per train mode."""
  views = [v for v in ('headline', 'matched') if any(r['view'] == v for r in claims)]
  modes = grouping.ordered_modes({r['train_mode'] for r in claims})
  studies = sorted({r['study'] for r in claims})
  radii = sorted({r['eps_255'] for r in claims if r['eps_255']})
  fig, axes = plt.subplots(len(views), len(modes), squeeze=False, sharex=True, sharey=True,
                           figsize=(5.0 * len(modes), 3.4 * len(views)))
  colours = plt.cm.tab10([k % 10 for k in range(len(studies))])
  for i, view in enumerate(views):
    for j, mode in enumerate(modes):
      ax = axes[i][j]
      for k, (study, colour) in enumerate(zip(studies, colours)):
        points = sorted((r['eps_255'], r['rho'], r['rho_low'], r['rho_high']) for r in claims
                        if (r['study'], r['view'], r['train_mode']) == (study, view, mode)
                        and not math.isnan(r['rho']))
        if not points:
          continue
        # Studies side by side at each radius, so their intervals do not overlap.
        shift = 1.0 + 0.04 * (k - (len(studies) - 1) / 2)
        eps, rho, low, high = (list(column) for column in zip(*points))
        errors = [[max(0.0, r - l) if not math.isnan(l) else 0.0 for r, l in zip(rho, low)],
                  [max(0.0, h - r) if not math.isnan(h) else 0.0 for r, h in zip(rho, high)]]
        ax.errorbar([e * shift for e in eps], rho, yerr=errors, marker='o', ms=3,
                    capsize=2, color=colour, label=study)
      ax.axhline(0.0, color='grey', linewidth=0.8)
      ax.set_xscale('log')
      ax.set_xticks(radii, [f'{e:g}' for e in radii])
      ax.minorticks_off()
      ax.set_ylim(-1.05, 1.05)
      figures.label_panel(ax, f'{view} | {figures.TRAIN_MODE_TITLES.get(mode, mode)}',
                          'eps (x 1/255, L-inf)' if i == len(views) - 1 else None,
                          'Spearman rho (size vs accuracy)' if j == 0 else None)
  figures.save_with_title(fig, 'Size vs robustness per study (below 0: smaller models more '
                          'robust; bars: 95 % paired intervals)', path)


def table_lines(claims, link=lambda study: None) -> list[str]:
  """Markdown: one line per study and train mode with claim (a) over the radii
  (headline; matched set; smallest fooling radius), rho and its interval at
  TABLE_EPS_255 in each view, and claim (b). `link(study)`: the report's
  relative path, or None."""
  header = ['study', 'train mode', 'claim (a): headline; matched; min-eps']
  header += [f'rho at {e:g}/255: headline; matched' for e in TABLE_EPS_255]
  header += ['rho, min-eps', 'claim (b)', 'seeds']
  lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
  for study in sorted({r['study'] for r in claims}):
    mine = [r for r in claims if r['study'] == study]
    for mode in grouping.ordered_modes({r['train_mode'] for r in mine}):
      rows = {(r['view'], r['eps_255']): r for r in mine if r['train_mode'] == mode}
      first = next(r for r in mine if r['train_mode'] == mode)
      views = [rows[k]['size_verdict_overall'] for k in
               (_first_key(rows, 'headline'), _first_key(rows, 'matched'), ('min_eps', None))
               if k in rows]
      target = link(study)
      name = f'[{study}]({target})' if target else study
      cells = [name, mode, '; '.join(views)]
      for e in TABLE_EPS_255:
        cells.append('; '.join(_rho(rows.get((view, e))) for view in ('headline', 'matched')))
      cells += [_rho(rows.get(('min_eps', None))), first['training_verdict_overall'] or '-',
                str(first['seeds'])]
      lines.append('| ' + ' | '.join(cells) + ' |')
  return lines


def _first_key(rows, view):
  keys = sorted(e for v, e in rows if v == view and e is not None)
  return (view, keys[0]) if keys else None


def _rho(row) -> str:
  if row is None:
    return '-'
  if math.isnan(row['rho']):
    return 'n/a'
  if math.isnan(row['rho_low']):
    return f'{row["rho"]:+.2f} [ties]'
  return f'{row["rho"]:+.2f} [{row["rho_low"]:+.2f}, {row["rho_high"]:+.2f}]'


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
