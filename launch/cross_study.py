"""Compares finished studies: one CSV, one figure and, optionally, the README's
results table, all from each study's claims.csv. The summary is one family for
multiplicity: every study's claim (a) slope and claim (b) per-size gains get a
p-value Holm-adjusted over all of them (`p_holm_summary`), and the table says so.

  python launch/cross_study.py --studies='docs/replication/*' --out=docs/replication \
      [--readme=README.md] [--compute_readme=docs/replication/README.md] \
      [--contrasts=breast64_width:breast_width \
       --secondary='docs/replication/*_depth/analyses/resnets' \
       --secondary_readme=docs/replication/README.md]

--studies: study folders (workdirs, or copies of their outputs), comma-separated,
each may be a glob. --readme: a markdown file whose block between the
cross-study markers (`reporting/claims/cross_study.py`) is replaced by the table,
linking each study's report.md relative to that file. --compute_readme: a
markdown file whose block between the compute markers is replaced by each
study's cells, sittings, wall and cell time and their total. --secondary: the
plan's secondary family, answers of launch/reanalyse.py (e.g.
'docs/replication/*_depth/analyses/resnets'), comma-separated, globs allowed:
their claim (a) slopes and the --contrasts, Holm-adjusted together
(`reporting/claims/secondary_family.py`), to secondary.csv and, with
--secondary_readme, between that file's secondary-family markers.
"""

import glob
import os
import pathlib
import sys

from absl import app, flags

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
# pylint: disable=g-import-not-at-top,wrong-import-position
from medadv_jax import atomic_files
from medadv_jax.errors import MedAdvError
from medadv_jax.reporting.claims import cross_study, secondary_family

_STUDIES = flags.DEFINE_string('studies', None, 'Study folders, comma-separated; globs allowed.',
                               required=True)
_OUT = flags.DEFINE_string('out', None, 'Folder for cross_study.csv and cross_study.png.',
                           required=True)
_README = flags.DEFINE_string('readme', '', 'Markdown file whose cross-study block to '
                              'replace with the table; empty: none.')
_COMPUTE_README = flags.DEFINE_string(
    'compute_readme', '', 'Markdown file whose compute block to replace with the studies\' '
    'wall and cell time (from each one\'s made.json); empty: none.')


_CONTRASTS = flags.DEFINE_string(
    'contrasts', '', 'Comma-separated STUDY:REFERENCE pairs: claim (a)\'s slope in STUDY '
    'minus in REFERENCE, paired by seed, to contrasts.csv (e.g. the resolution arm, '
    'breast64_width:breast_width); empty: none.')
_SECONDARY = flags.DEFINE_string(
    'secondary', '', 'Analysis folders (launch/reanalyse.py\'s answers), comma-separated, '
    'globs allowed: their claim (a) slopes and the --contrasts, Holm-adjusted together as '
    'the plan\'s secondary family, to secondary.csv; empty: none.')
_SECONDARY_README = flags.DEFINE_string(
    'secondary_readme', '', 'Markdown file whose secondary-family block to replace with '
    'the --secondary table; empty: none.')


def study_dirs(spec: str, field: str = '--studies') -> list[pathlib.Path]:
  """The folders `spec` names (comma-separated paths or globs) that hold claims."""
  found = []
  for part in filter(None, (p.strip() for p in spec.split(','))):
    matches = sorted(glob.glob(part))
    # A glob's files (the CSV and figure beside the studies) are not studies; a
    # path given as such is, and `cross_study.load` says if it holds none.
    found += [pathlib.Path(m) for m in matches if pathlib.Path(m).is_dir()] or [
        pathlib.Path(part)]
  if not found:
    raise MedAdvError(f'{field}={spec!r} names no folder; allowed: folders, '
                      'comma-separated, globs allowed')
  return found


def main(argv):
  del argv
  out = pathlib.Path(_OUT.value)
  try:
    folders = study_dirs(_STUDIES.value)
    claims = cross_study.load(folders)
    readme = pathlib.Path(_README.value) if _README.value else None
    compute = pathlib.Path(_COMPUTE_README.value) if _COMPUTE_README.value else None
    contrasts = [cross_study.slope_contrast(claims, *_pair(pair))
                 for pair in filter(None, _CONTRASTS.value.split(','))]
    secondary = _secondary(contrasts)
    edits = {}  # Resolved path -> new text; one file may take several tables.
    if readme is not None:
      link = lambda study: os.path.relpath(
          next(f for f in folders if f.name == study) / 'report.md', readme.parent)
      _replace_block(edits, readme, cross_study.table_lines(claims, link),
                     cross_study.TABLE_START, cross_study.TABLE_END, '--readme')
    if compute is not None:
      _replace_block(edits, compute, cross_study.compute_lines(folders),
                     cross_study.COMPUTE_START, cross_study.COMPUTE_END, '--compute_readme')
    if _SECONDARY_README.value:
      _replace_block(edits, pathlib.Path(_SECONDARY_README.value),
                     secondary_family.table_lines(*secondary), secondary_family.TABLE_START,
                     secondary_family.TABLE_END, '--secondary_readme')
  except (MedAdvError, OSError) as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(1)
  out.mkdir(parents=True, exist_ok=True)
  cross_study.write_csv(claims, out / cross_study.CSV_FILE)
  cross_study.plot(claims, out / cross_study.FIGURE_FILE)
  if contrasts:
    cross_study.write_contrasts(contrasts, out / cross_study.CONTRASTS_FILE)
    for c in contrasts:
      print(f'{c["study"]} minus {c["reference"]}: {c["estimate"]:+.4f} '
            f'[{c["low"]:+.4f}, {c["high"]:+.4f}] per doubling, p {c["p"]:.3g}, '
            f'{c["seeds"]} seeds')
  if secondary:
    secondary_family.write_csv(secondary[0], out / secondary_family.CSV_FILE)
    for r in secondary[0]:
      print(f'secondary: {r["test"]}: {r["estimate"]:+.4f}, Holm p {r["p_holm"]:.3g}, '
            f'{r["verdict"]}')
  for path, text in edits.items():
    atomic_files.write_text(path, text)
  print(f'{len({c["study"] for c in claims})} studies: {out / cross_study.CSV_FILE}, '
        f'{out / cross_study.FIGURE_FILE}' + (f', table in {readme}' if readme else '')
        + (f', compute table in {compute}' if compute else ''))


def _replace_block(edits: dict, path: pathlib.Path, lines, start: str, end: str,
                   field: str) -> None:
  """Puts in `edits` `path`'s text (as earlier edits left it) with `lines` between
  `start` and `end`; files are written only once every table is ready."""
  text = edits.get(path.resolve()) or path.read_text()
  edits[path.resolve()] = cross_study.replace_table(text, lines, start, end, field)


def _secondary(contrasts) -> tuple[list[dict], object] | None:
  """(rows, plan) of the secondary family that --secondary names with the
  contrasts, or None without --secondary."""
  if not _SECONDARY.value:
    if _SECONDARY_README.value:
      raise MedAdvError(f'--secondary_readme={_SECONDARY_README.value!r} without --secondary; '
                        'allowed: with --secondary, whose table it takes')
    return None
  slopes, plan = secondary_family.load(study_dirs(_SECONDARY.value, '--secondary'))
  return secondary_family.family(slopes, contrasts, plan), plan


def _pair(text: str) -> tuple[str, str]:
  study, sep, reference = text.strip().partition(':')
  if not sep or not study or not reference:
    raise MedAdvError(f'--contrasts: {text!r}; allowed: STUDY:REFERENCE pairs of study '
                      'folder names, comma-separated')
  return study, reference


if __name__ == '__main__':
  app.run(main)
