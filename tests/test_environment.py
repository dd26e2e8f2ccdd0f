"""A cell's environment.json and the report's "Software and hardware" section."""

import dataclasses
import importlib.metadata
import json
import pathlib
import subprocess

import pytest

from configs import default
from medadv_jax import cell_data, environment
from medadv_jax.errors import DamagedFileError
from medadv_jax.reporting.inputs import provenance
from medadv_jax.study import cells

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_describe_names_code_version_packages_and_devices():
  env = environment.describe()
  assert env['results_version'] == cell_data.RESULTS_VERSION
  assert env['packages']['jax'] == importlib.metadata.version('jax')
  assert env['packages']['flax'] == importlib.metadata.version('flax')
  assert env['backend'] == 'cpu' and env['devices'].endswith('x cpu')
  assert env['processes'] == 1
  assert set(env['host_cpu']) == {'model', 'vector_isa'}
  if (REPO_ROOT / '.git').exists():  # A checkout (CI runs on a clone): its commit.
    head = subprocess.run(['git', '-C', str(REPO_ROOT), 'rev-parse', 'HEAD'],
                          capture_output=True, text=True, check=True).stdout.strip()
    assert env['git_commit'] == head and isinstance(env['git_dirty'], bool)
  else:
    assert env['git_commit'] is None and env['git_dirty'] is None
  json.dumps(env)  # Plain JSON data.


def test_changes_under_docs_do_not_make_the_code_dirty(tmp_path, monkeypatch):
  git = lambda *args: subprocess.run(['git', '-C', str(tmp_path), *args], check=True,
                                     capture_output=True)
  git('init', '-q')
  (tmp_path / 'docs').mkdir()
  (tmp_path / 'docs' / 'report.md').write_text('a\n')
  (tmp_path / 'code.py').write_text('x = 1\n')
  git('add', '-A')
  git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'first')
  monkeypatch.setattr(environment, '_REPO_ROOT', tmp_path)
  assert environment.describe()['git_dirty'] is False
  (tmp_path / 'docs' / 'report.md').write_text('b\n')  # A study published there.
  assert environment.describe()['git_dirty'] is False
  (tmp_path / 'code.py').write_text('x = 2\n')
  assert environment.describe()['git_dirty'] is True


def _environments():
  base = {'results_version': 2, 'git_commit': 'abc', 'git_dirty': False,
          'packages': {'jax': '0.10.2', 'flax': '0.12.8'}, 'backend': 'cpu'}
  newer = dict(base, packages={'jax': '0.10.3', 'flax': '0.12.8'})
  return {'cell_a': base, 'cell_b': newer, 'cell_c': base, 'cell_d': None}


def test_section_lists_shared_fields_differences_with_their_cells_and_missing_files():
  lines = provenance.section_lines(_environments())
  text = '\n'.join(lines)
  assert lines[0] == ('Every cell that recorded it (3): results_version 2; git_commit abc; '
                      'git_dirty False; packages.flax 0.12.8; backend cpu.')
  assert ('**Cells differ in packages.jax:** 0.10.2 (cell_a, cell_c); 0.10.3 (cell_b)'
          in lines)
  assert '1 cell(s) without environment.json' in text and 'cell_d' in text
  same = provenance.section_lines({'cell_a': _environments()['cell_a']})
  assert not any('differ' in line or 'without' in line for line in same)


def test_a_damaged_environment_file_is_one_clear_error(tmp_path):
  config = default.get_config('smoke')
  cell = cells.expand_cells(config)[0]
  row = dict(dataclasses.asdict(cell))
  cell_dir = tmp_path / 'cells' / cell.name
  cell_dir.mkdir(parents=True)
  (cell_dir / environment.FILE_NAME).write_text('{"packages": {"jax": ')  # Cut short.
  with pytest.raises(DamagedFileError, match=f'{environment.FILE_NAME} is not valid JSON '
                     r'\(Expecting value: line 1 column 22.*changed from outside'):
    provenance.load(tmp_path, [row])
  (cell_dir / environment.FILE_NAME).write_bytes(b'\xff\xfe')
  with pytest.raises(DamagedFileError, match='utf-8'):
    provenance.load(tmp_path, [row])


def test_host_cpu_names_the_widest_vector_set(tmp_path):
  # Hosts with different sets compile different kernels: their numbers differ.
  x86 = tmp_path / 'x86'
  x86.write_text('processor\t: 0\nmodel name\t: AMD EPYC 9R14\nflags\t\t: fpu sse4_2 avx '
                 'avx2 avx512f avx512bw\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 9R14\n')
  assert environment.host_cpu(str(x86)) == {'model': 'AMD EPYC 9R14', 'vector_isa': 'avx512f'}
  older = tmp_path / 'older'
  older.write_text('model name\t: Intel Xeon\nflags\t\t: fpu sse4_2 avx avx2 fma\n')
  assert environment.host_cpu(str(older))['vector_isa'] == 'avx2'
  arm = tmp_path / 'arm'
  arm.write_text('processor\t: 0\nFeatures\t: fp asimd evtstrm aes\n')
  assert environment.host_cpu(str(arm))['vector_isa'] == 'asimd'
  assert environment.host_cpu(str(tmp_path / 'absent'))['vector_isa'] is None
