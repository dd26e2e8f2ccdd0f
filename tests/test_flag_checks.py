"""The command line checked before parsing: misspelt fields, a missing config file,
a repeated override, tuples of bare names (issue 21, cases 1, 2, 10, 12)."""

import ast
import pathlib
import subprocess
import sys

import pytest

from medadv_jax.study import flag_checks

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
CONFIG = f'--config={REPO_ROOT}/configs/default.py:smoke'


def _check(*args):
  return flag_checks.check_argv(['main.py', CONFIG, *args])


@pytest.mark.parametrize('override,message', [
    ('--config.train.epoch=3', 'unknown config field train.epoch; did you mean train.epochs?'),
    ('--config.attack_per_class=1000',
     'unknown config field attack_per_class; did you mean data.attack_per_class?'),
    ('--config.train.adv.eps=2', 'did you mean train.adv.eps_255?'),
])
def test_a_misspelt_field_names_the_closest_one(override, message):
  with pytest.raises(flag_checks.FlagError, match=message.replace('?', r'\?')):
    _check(override)


def test_known_fields_pass_unchanged():
  argv = _check('--config.train.epochs=3', '--config.data.augment.hflip=none',
                '--noconfig.data.download')
  assert argv[2:] == ['--config.train.epochs=3', '--config.data.augment.hflip=none',
                      '--noconfig.data.download']


def test_a_repeated_override_is_refused():
  with pytest.raises(flag_checks.FlagError, match=r'--config.model.widths is given twice'):
    _check("--config.model.widths=(0.25,)", "--config.model.widths=(1.0,)")


@pytest.mark.parametrize('typed,expected', [
    ('standard,pgd', ('standard', 'pgd')), ('(standard,)', ('standard',)),
    ('( standard , pgd )', ('standard', 'pgd')), ("('standard',)", ('standard',)),
])
def test_tuples_of_bare_names_are_quoted(typed, expected):
  argv = _check(f'--config.train.modes={typed}')
  assert ast.literal_eval(argv[2].split('=', 1)[1]) == expected


@pytest.mark.parametrize('value', ['standard', '0.5', '(0.25, 0.5)', '/data/x,y.npz/', ''])
def test_other_values_are_left_alone(value):
  assert flag_checks.quote_names(value) == value


def test_a_missing_config_file_names_it_and_the_directory(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  with pytest.raises(flag_checks.FlagError) as error:
    flag_checks.check_argv(['main.py', '--config=configs/default.py'])
  message = str(error.value)
  assert "'configs/default.py'" in message and str(tmp_path) in message
  assert f'did you mean {REPO_ROOT / "configs" / "default.py"}' in message


def _main(*args, cwd=REPO_ROOT):
  return subprocess.run([sys.executable, str(REPO_ROOT / 'main.py'), *args], cwd=cwd,
                        capture_output=True, text=True, timeout=120)


def test_main_reports_a_typo_in_one_line_with_exit_2(tmp_path):
  result = _main('--config=configs/default.py:smoke', f'--workdir={tmp_path}',
                 '--config.train.epoch=3')
  assert result.returncode == 2
  assert result.stderr.strip() == ('error: unknown config field train.epoch; did you mean '
                                   'train.epochs?')
  assert not any(tmp_path.iterdir())


def test_main_reads_a_bare_tuple_of_names_as_that_tuple(tmp_path):
  # Smoke has 2 widths: one mode makes 2 cells, so cell 2 is out of range.
  result = _main('--config=configs/default.py:smoke', f'--workdir={tmp_path}',
                 '--config.train.modes=(standard,)', '--config.cell=2')
  assert result.returncode == 1
  assert 'index in 0..1 (this config has 2 cells)' in result.stderr


def _variant(config, allowed):
  """A config variant the file refuses: argv, and the message's start, middle, end."""
  flag = f'--config={REPO_ROOT}/{config}'
  return [flag], f'{flag}: ', allowed, ''


def _one_value(override, quoted):
  """One value for a tuple field: argv, and the message's start, middle, end."""
  return [CONFIG, override], '', 'gives one value to a tuple field', f'e.g. {quoted}'


@pytest.mark.parametrize('argv, start, middle, end', [
    _variant('configs/default.py:smok', "unknown arg 'smok'; allowed: '' or 'smoke'"),
    _variant('configs/paper.py:datset=pneumonia', "unknown key 'datset'"),
    _variant('configs/replication.py:dataset=pneumonia,family=wide', "family='wide'; allowed: "),
    _one_value('--config.seeds=3', "--config.seeds='(3,)'"),
    _one_value('--config.model.widths=0.5', "--config.model.widths='(0.5,)'"),
    _one_value('--config.train.modes=standard', '--config.train.modes="(\'standard\',)"'),
])
def test_a_bad_variant_or_one_value_for_a_tuple_field_is_one_line_naming_the_fix(
    argv, start, middle, end):
  with pytest.raises(flag_checks.FlagError) as error:
    flag_checks.check_argv(['main.py', *argv])
  message = str(error.value)
  assert message.startswith(start) and middle in message and message.endswith(end)
  assert '\n' not in message


def test_a_tuple_for_a_tuple_field_and_one_value_for_a_number_pass():
  argv = _check('--config.seeds=(3,)', '--config.attack.strong.eps_255=()',
                '--config.cell=1')
  assert argv[2:] == ['--config.seeds=(3,)', '--config.attack.strong.eps_255=()',
                      '--config.cell=1']
