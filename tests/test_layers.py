"""Imports only point down: a module may import its own package and the layers
below it, never a layer above or a sibling of its own rank."""

import ast
import pathlib

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = REPO_ROOT / 'medadv_jax'

# Rank of each room of medadv_jax; '' is the package root (errors, atomic_files,
# intervals, cell_data, environment: what everything imports). Reporting is fed
# the study's rows: it ranks beside evaluation, so it may import neither that
# nor the study.
LAYERS = {
    '': 0,
    'ops': 1, 'runtime': 1,
    'data': 2, 'models': 2,
    'attacks': 3,
    'training': 4,
    'evaluation': 5, 'reporting': 5,
    'study': 6,
}
# Rank of each sub-package of reporting ('' its own modules: report and write_outputs,
# on top): a module may import its own sub-package and those ranked below it.
REPORTING_LAYERS = {
    'inputs': 0,
    'statistics': 1,
    'tables': 2,
    'figures': 3,
    'claims': 4,
    '': 5,
}
# Entry points outside the package, and the rooms of medadv_jax each may use.
ENTRY_POINTS = {
    'main.py': {'', 'study'},
    'launch': {'', 'reporting', 'study'},
    'configs': set(),
}
OUTSIDE = ('main', 'launch', 'configs', 'benchmarks', 'tests')


def _imported_modules(path: pathlib.Path) -> list[str]:
  """Absolute names of every module `path` imports (`from a import b` gives a.b,
  since b may be a module)."""
  names = []
  for node in ast.walk(ast.parse(path.read_text(), str(path))):
    if isinstance(node, ast.Import):
      names += [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
      names += [f'{node.module}.{alias.name}' for alias in node.names]
  return names


def _room(module: str) -> str:
  """'medadv_jax.attacks.pgd' -> 'attacks'; 'medadv_jax.errors...' -> ''."""
  parts = module.split('.')
  if len(parts) > 1 and parts[1] in LAYERS:
    return parts[1]
  return ''


def _package_modules():
  # Not the __init__.py files: they hold docstrings, and the root's holds the
  # front door, `medadv_jax.evaluate_robustness`, imported lazily on first use.
  return sorted(p for p in PACKAGE.rglob('*.py') if p.name != '__init__.py')


def test_every_room_of_the_package_has_a_rank():
  rooms = {p.name for p in PACKAGE.iterdir() if (p / '__init__.py').exists()}
  assert rooms == set(LAYERS) - {''}


def _upward_imports(path: pathlib.Path, room: str) -> list[str]:
  """The imports of `path`, a module of `room`, that point to its rank or above."""
  upward = []
  for module in _imported_modules(path):
    top = module.split('.')[0]
    if top in OUTSIDE:
      upward.append(module)
    elif top == 'medadv_jax':
      target = _room(module)
      if target != room and LAYERS[target] >= LAYERS[room]:
        upward.append(module)
  return upward


@pytest.mark.parametrize('path', _package_modules(),
                         ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_package_modules_import_only_downwards(path):
  parts = path.relative_to(PACKAGE).parts
  room = parts[0] if len(parts) > 1 else ''
  upward = _upward_imports(path, room)
  assert not upward, (f'{path.relative_to(REPO_ROOT)} ({room or "root"}, rank '
                      f'{LAYERS[room]}) imports from its rank or above: {upward}')


@pytest.mark.parametrize('entry', sorted(ENTRY_POINTS))
def test_entry_points_use_only_the_top_rooms(entry):
  paths = [REPO_ROOT / entry] if entry.endswith('.py') else sorted(
      (REPO_ROOT / entry).glob('*.py'))
  for path in paths:
    used = {_room(m) for m in _imported_modules(path) if m.split('.')[0] == 'medadv_jax'}
    assert used <= ENTRY_POINTS[entry], (path.name, used - ENTRY_POINTS[entry])


def _reporting_part(module: str) -> str:
  """'medadv_jax.reporting.claims.plan' -> 'claims'; 'medadv_jax.reporting.report' -> ''."""
  parts = module.split('.')
  return parts[2] if len(parts) > 3 and parts[2] in REPORTING_LAYERS else ''


def _upward_reporting_imports(path: pathlib.Path, part: str) -> list[str]:
  """The imports of `path`, in reporting sub-package `part`, of a reporting
  sub-package of its rank or above."""
  return [m for m in _imported_modules(path)
          if m.startswith('medadv_jax.reporting.') and _reporting_part(m) != part
          and REPORTING_LAYERS[_reporting_part(m)] >= REPORTING_LAYERS[part]]


def test_every_sub_package_of_reporting_has_a_rank():
  parts = {p.name for p in (PACKAGE / 'reporting').iterdir() if (p / '__init__.py').exists()}
  assert parts == set(REPORTING_LAYERS) - {''}


@pytest.mark.parametrize('path', sorted((PACKAGE / 'reporting').rglob('*.py')),
                         ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_reporting_sub_packages_import_only_downwards(path):
  parts = path.relative_to(PACKAGE / 'reporting').parts
  part = parts[0] if len(parts) > 1 else ''
  upward = _upward_reporting_imports(path, part)
  assert not upward, (f'{path.relative_to(REPO_ROOT)} (reporting/{part or "."}, rank '
                      f'{REPORTING_LAYERS[part]}) imports from its rank or above: {upward}')


def test_the_reporting_check_catches_upward_imports(tmp_path):
  module = tmp_path / 'module.py'
  module.write_text('from medadv_jax.reporting.claims import plan\n'
                    'from medadv_jax.reporting import report\n'
                    'from medadv_jax.reporting.inputs import result_rows\n')
  assert _upward_reporting_imports(module, 'tables') == [
      'medadv_jax.reporting.claims.plan', 'medadv_jax.reporting.report']
  assert _upward_reporting_imports(module, 'claims') == ['medadv_jax.reporting.report']


def test_the_check_catches_upward_and_sideways_imports(tmp_path):
  module = tmp_path / 'module.py'
  module.write_text('from medadv_jax.study import cells\n'
                    'from medadv_jax.evaluation import robustness\n'
                    'from medadv_jax import cell_data, errors\n'
                    'from medadv_jax.reporting.inputs import result_rows\n'
                    'import configs.default\n')
  assert _upward_imports(module, 'reporting') == [
      'medadv_jax.study.cells', 'medadv_jax.evaluation.robustness', 'configs.default']
  assert _upward_imports(module, 'study') == ['configs.default']
