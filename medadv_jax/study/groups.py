"""Cell groups: the cells of one model, size and training mode, one per seed.

With `config.seed_groups` ('on', or 'auto' on GPU/TPU) a group's seeds train
as one program (`training.group_loop`); cells stay the unit of results and files. A group's
checkpoints live in WORKDIR/groups/<group>_s<seeds>, named by the seeds it
trains: the seeds whose cells were unfinished when it first started. A later
start trains the folder's seeds again (resuming, so a finished training only
loads its checkpoint) whenever one of them is still unfinished, so a kill at
any point ends with the numbers of an uninterrupted run.
"""

import pathlib
import re
from typing import Sequence

import jax

from medadv_jax import cell_data

GROUPS_DIR = 'groups'
# config.seed_groups: groups as one program, on accelerators only, or no groups.
SETTINGS = ('on', 'auto', 'off')


def selects_groups(config) -> bool:
  """Whether --config.cell=K runs K's whole group (launchers then spread groups)."""
  return config.seed_groups != 'off'


def trains_together(config) -> bool:
  """Whether a group's seeds train as one program on this process's backend."""
  return config.seed_groups == 'on' or (config.seed_groups == 'auto'
                                        and jax.default_backend() != 'cpu')


def group_name(cell: cell_data.Cell) -> str:
  """The cell's folder name without its seed: the same for every seed of its group."""
  return cell.name[:-len(f'_s{cell.seed}')]


def by_group(indexed_cells: Sequence[tuple[int, cell_data.Cell]]) -> list[list]:
  """(index, cell) pairs gathered by group, groups in the order of their first cell."""
  groups: dict[str, list] = {}
  for index, cell in indexed_cells:
    groups.setdefault(group_name(cell), []).append((index, cell))
  return list(groups.values())


def group_of(cells: Sequence[cell_data.Cell], index: int) -> list[tuple[int, cell_data.Cell]]:
  """(index, cell) of every cell in the group of cell `index`."""
  name = group_name(cells[index])
  return [(i, cell) for i, cell in enumerate(cells) if group_name(cell) == name]


def leading_indices(cells: Sequence[cell_data.Cell]) -> list[int]:
  """The index of each group's first cell: one per group, for launchers that
  start one worker per group with --config.cell."""
  return [group[0][0] for group in by_group(list(enumerate(cells)))]


def folder(workdir: pathlib.Path, name: str, seeds: Sequence[int]) -> pathlib.Path:
  return pathlib.Path(workdir) / GROUPS_DIR / f'{name}_s{"-".join(map(str, seeds))}'


def plan(workdir: pathlib.Path, name: str, pending: Sequence[int]) -> list[tuple[int, ...]]:
  """The seed tuples to train so that every seed of `pending` is trained: each
  existing group folder holding a pending seed, then one new group of the rest."""
  left, tuples = list(pending), []
  for seeds in existing(workdir, name):
    if set(seeds) & set(left):
      tuples.append(seeds)
      left = [seed for seed in left if seed not in seeds]
  if left:
    tuples.append(tuple(left))
  return tuples


def existing(workdir: pathlib.Path, name: str) -> list[tuple[int, ...]]:
  """Seed tuples of the group folders of `name` in `workdir`, sorted."""
  pattern = re.compile(re.escape(name) + r'_s(\d+(?:-\d+)*)')
  found = []
  root = pathlib.Path(workdir) / GROUPS_DIR
  for path in sorted(root.iterdir()) if root.is_dir() else ():
    match = pattern.fullmatch(path.name)
    if match:
      found.append(tuple(int(s) for s in match.group(1).split('-')))
  return found
