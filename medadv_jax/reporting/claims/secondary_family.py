"""The plan's secondary family of tests, Holm-adjusted together and apart from
the primary family: claim (a)'s primary slope under named re-analyses (e.g.
within the ResNets, `<study>/analyses/resnets/claims.csv`) and paired slope
contrasts between studies (`cross_study.slope_contrast`, e.g. the resolution
arm). Reported beside the answer, never as it.

Verdicts (docs/study.md, "Multiplicity", says why): a slope takes claim (a)'s words
from `verdicts.by_test` on its Holm p; it is equivalent only when its study's
own equivalence test held and its per-seed slopes' TOST at the plan's claim (a)
margin, Holm-adjusted over the family, is below alpha. A contrast claims no
side: `verdicts.by_difference` on its Holm p and its Holm-adjusted TOST at the
same margin.
"""

import math
import pathlib

import numpy as np

from medadv_jax.errors import MedAdvError
from medadv_jax.reporting.claims import claim_summary, cross_study, plan as plan_lib, verdicts
from medadv_jax.reporting.statistics import multiplicity, size_slope

CSV_FILE = 'secondary.csv'
COLUMNS = ('test', 'estimate', 'low', 'high', 'unit', 'seeds', 'p', 'p_holm', 'p_tost_holm',
           'verdict')
TABLE_START = '<!-- secondary family: written by launch/cross_study.py -->'
TABLE_END = '<!-- end of secondary family -->'
FIELD = '--secondary'
CONTRAST_UNIT = 'difference in robust accuracy per doubling of parameters'


def load(analysis_dirs) -> tuple[list[dict], plan_lib.Plan]:
  """Each folder's claim (a) primary row with `test` '<study> (<plan>)', and the
  plan they share (its alpha, claim (a) margin and minimum seeds rule the family)."""
  rows, plans = [], []
  for folder in map(pathlib.Path, analysis_dirs):
    path = folder / plan_lib.FILE_NAME
    if not path.is_file():
      raise MedAdvError(f'{FIELD}: {str(folder)!r} has no {plan_lib.FILE_NAME}; allowed: a '
                        'study\'s answer under a plan (<study>/analyses/<plan>, written by '
                        'launch/reanalyse.py) or a published study folder')
    plan = plan_lib.read(path)
    row = next((r for r in cross_study.load([folder], FIELD)
                if (r['claim'], r['analysis']) == ('a', 'primary')), None)
    if row is None:
      raise MedAdvError(f'{FIELD}: {str(folder)!r} has no claim (a) primary row; allowed: '
                        'answers that test claim (a)')
    study = folder.parents[1].name if folder.parent.name == plan_lib.ANSWERS_DIR else folder.name
    rows.append(dict(row, test=f'{study} ({plan.name})'))
    plans.append(plan)
  if not rows:
    raise MedAdvError(f'{FIELD}: names no folder; allowed: analysis folders, comma-separated')
  tests = [r['test'] for r in rows]
  if len(set(tests)) < len(tests):
    raise MedAdvError(f'{FIELD}: names a test twice ({", ".join(tests)}); allowed: each '
                      'analysis folder once')
  rules = {(p.alpha, p.size.margin, p.min_seeds) for p in plans}
  if len(rules) > 1:
    raise MedAdvError(f'{FIELD}: the plans differ in (alpha, claim (a) margin, minimum seeds) '
                      f'{sorted(rules)}; allowed: one family under one rule')
  return rows, plans[0]


def family(slopes, contrasts, plan: plan_lib.Plan) -> list[dict]:
  """The family's rows (COLUMNS): `slopes` (from `load`) then `contrasts`, each
  with its raw p, its Holm p over all of them, and its verdict."""
  members = [dict(test=r['test'], estimate=r['estimate'], low=r['low'], high=r['high'],
                  unit=r['unit'], seeds=r['seeds'], p=r['p'],
                  values=claim_summary.seed_values(r), own=r['verdict']) for r in slopes]
  members += [dict(test=f'{c["study"]} minus {c["reference"]}', estimate=c['estimate'],
                   low=c['low'], high=c['high'], unit=CONTRAST_UNIT, seeds=c['seeds'], p=c['p'],
                   values=c['seed_values'], own=None) for c in contrasts]
  if not members:
    return []
  p_holm = multiplicity.holm([m['p'] for m in members])
  tost_p = [float(size_slope.tost(list(m['values'].values()), plan.size.margin, plan.alpha)[1])
            if m['values'] else math.nan for m in members]
  tost_holm = multiplicity.holm(tost_p)
  out = []
  for m, p, t in zip(members, p_holm, tost_holm):
    significant, inside = bool(p < plan.alpha), bool(t < plan.alpha)  # NaN: False.
    out.append(dict({k: m[k] for k in COLUMNS if k in m}, p_holm=float(p),
                    p_tost_holm=float(t), verdict=_verdict(m, significant, inside, plan)))
  return out


def _verdict(member, significant: bool, inside: bool, plan) -> str:
  own = member['own']
  if own is None:  # A contrast.
    return (verdicts.too_few_seeds(member['seeds'], plan.min_seeds)
            or verdicts.by_difference(significant, inside))
  if own.startswith(verdicts.NO_VERDICT):  # Too few seeds, withheld by the audit, ...
    return own
  equivalent = inside and (own == verdicts.EQUIVALENT or own.endswith(verdicts.INSIDE_MARGIN))
  return verdicts.by_test(member['estimate'], significant, equivalent, claimed_sign=-1)


def write_csv(rows, path: pathlib.Path) -> None:
  """secondary.csv: one row per test of `family`."""
  claim_summary.write_rows(rows, COLUMNS, path)


def table_lines(rows, plan: plan_lib.Plan) -> list[str]:
  """Markdown: one line per test of `family`, then what the family and its words are."""
  header = ['test', 'estimate per doubling [95 %]', 'seeds', 'p', 'Holm p (secondary)',
            'verdict']
  lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
  for r in rows:
    lines.append(f'| {r["test"]} | {cross_study.interval_text(r)} | {r["seeds"]} | '
                 f'{cross_study.p_text(r["p"])} | {cross_study.p_text(r["p_holm"])} | '
                 f'{r["verdict"]} |')
  tested = int(np.isfinite([r['p'] for r in rows]).sum())
  return lines + ['', f'Holm p (secondary): adjusted over these {tested} tests together, apart '
                  'from the primary family; secondary, never the answer. A slope\'s verdict '
                  f'is claim (a)\'s at Holm p below {plan.alpha:g} (equivalent also needs TOST '
                  f'at +-{plan.size.margin:g} per doubling, Holm-adjusted); a contrast '
                  f'"{verdicts.DIFFERS}" at Holm p below {plan.alpha:g}, is '
                  f'"{verdicts.EQUIVALENT}" by Holm-adjusted TOST at the same margin, else '
                  f'"{verdicts.NO_DIFFERENCE}".']
