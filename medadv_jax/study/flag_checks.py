"""Checks the command line before absl and ml_collections parse it.

Their own errors for the commonest slips are long tracebacks: a misspelt
`--config.a.b` field, a `--config` file that is not there. Here each becomes one
line naming the flag and what is allowed (exit 2), as is an unknown config
variant (`configs/default.py:smok`). More slips are handled before parsing: a
`--config.a.b` given twice (ml_collections would concatenate the values of a
tuple field) and one value for a tuple field (`--config.seeds=3`, which
ml_collections turns into the tuple (3,) silently) are refused, and a tuple of
names typed without quotes (`standard,pgd` or `(standard,)`) is quoted, as
Python needs it.
"""

import ast
import difflib
import importlib.util
import os
import re
import sys

from absl import app
from ml_collections import config_dict

from medadv_jax.errors import MedAdvError

# Exit status of a command line that cannot be parsed (as argparse uses).
USAGE_EXIT = 2
_NAME = r'[A-Za-z_][\w.-]*'
_NAMES = re.compile(rf'^\(?\s*{_NAME}(\s*,\s*{_NAME})*\s*,?\s*\)?$')


class FlagError(MedAdvError):
  """A command-line flag is misspelt, repeated or names a missing file."""


def parse_flags(argv: list[str]) -> list[str]:
  """`app.run(main, flags_parser=parse_flags)`: checks `argv`, then absl parses it."""
  try:
    argv = check_argv(argv)
  except FlagError as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(USAGE_EXIT)
  return app.parse_flags_with_usage(argv)


def check_argv(argv: list[str], flag: str = 'config') -> list[str]:
  """`argv` with tuples of bare names quoted; raises FlagError for a repeated
  `--config.*` override, a missing config file or an unknown config field."""
  argv, config_value, overrides = _split_config_args(argv, flag)
  seen = {}
  for path, value in overrides:
    if path in seen:
      raise FlagError(
          f'--{flag}.{path} is given twice ({seen[path]!r} and {value!r}); give it once '
          f"(a tuple as one value, e.g. --{flag}.{path}='(a, b)').")
    seen[path] = value
  if config_value is not None:
    config = _load_config(config_value, flag)
    if config is not None:
      for path, value in overrides:
        _check_tuple_value(path, value, _check_field(config, path, flag), flag)
  return argv


def quote_names(value: str) -> str:
  """`standard,pgd` or `(standard,)` -> "('standard', 'pgd')"; anything that is
  already a Python literal, or not a list of names, is returned as it is."""
  try:
    ast.literal_eval(value)
    return value
  except (SyntaxError, ValueError):
    pass
  if not _NAMES.match(value) or not (',' in value or value.startswith('(')):
    return value
  names = [n.strip() for n in value.strip().strip('()').split(',') if n.strip()]
  return repr(tuple(names))


def _split_config_args(argv, flag):
  """(argv with names quoted, the --flag value or None, [(field path, value)])."""
  out, config_value, overrides = list(argv[:1]), None, []
  prefix = f'--{flag}.'
  args = iter(argv[1:])
  for arg in args:
    if arg == '--':
      out += [arg, *args]
      break
    if arg in (f'--{flag}', f'-{flag}'):
      config_value = next(args, None)
      out += [arg] + ([config_value] if config_value is not None else [])
      continue
    if arg.startswith(f'--{flag}='):
      config_value = arg.split('=', 1)[1]
    elif arg.startswith((prefix, f'--no{flag}.')):
      name, equals, value = arg[2:].partition('=')
      path = name.split('.', 1)[1]  # 'config.a.b' or 'noconfig.a.b' -> 'a.b'
      if equals:
        arg = f'{prefix}{path}={quote_names(value)}'
      overrides.append((path, value if equals else None))
    out.append(arg)
  return out, config_value, overrides


def _load_config(value: str, flag: str):
  """The ConfigDict `--flag=value` names (as ml_collections reads it: path, then
  ':arg'), or None if the file loads with errors (ml_collections reports those)."""
  path, *arg = value.split(':', 1)
  if not os.path.isfile(path):
    here = os.getcwd()
    # This file is medadv_jax/study/flag_checks.py: the checkout is three up.
    checkout = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    repo_path = os.path.join(checkout, path)
    hint = (f'; did you mean {repo_path}?' if not os.path.isabs(path)
            and os.path.isfile(repo_path) else '')
    raise FlagError(f'--{flag}={value}: no config file {path!r} '
                    f'{"found" if os.path.isabs(path) else f"in the directory {here}"}'
                    f'; allowed: the path of a config file such as configs/default.py, '
                    f'optionally with :arg{hint}')
  try:
    spec = importlib.util.spec_from_file_location('_flag_checks_config', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_config(*arg)
  except ValueError as e:  # The configs' own refusal of an unknown variant or key.
    raise FlagError(f'--{flag}={value}: {e}') from None
  except Exception:  # pylint: disable=broad-except
    return None


def _check_field(config, path: str, flag: str):
  """The default value of the field `path` names (None for an indexed path)."""
  if '[' in path:
    return None
  node = config
  for part in path.split('.'):
    if not isinstance(node, (config_dict.ConfigDict, dict)) or part not in node:
      known = _field_paths(config)
      hint = _closest(path, known)
      raise FlagError(f'unknown config field {path}; '
                      + (f'did you mean {hint}?' if hint else
                         f'--{flag} has no such field (--helpfull lists them)'))
    node = node[part]
  return node


def _check_tuple_value(path: str, value, default, flag: str) -> None:
  """Refuses one value (`3`, `0.5`, `standard`) for a field holding a tuple."""
  if not isinstance(default, tuple) or value is None:
    return
  try:
    parsed = ast.literal_eval(quote_names(value))
  except (SyntaxError, ValueError):
    parsed = value  # A bare word.
  if isinstance(parsed, (tuple, list)):
    return
  example = repr((parsed,))
  quote = '"' if "'" in example else "'"
  raise FlagError(f'--{flag}.{path}={value} gives one value to a tuple field; allowed: '
                  f'a tuple, quoted for the shell, e.g. --{flag}.{path}={quote}{example}{quote}')


def _field_paths(node, prefix=''):
  paths = []
  for key in node.keys():
    paths.append(prefix + key)
    child = node[key]
    if isinstance(child, (config_dict.ConfigDict, dict)):
      paths += _field_paths(child, f'{prefix}{key}.')
  return paths


def _closest(path: str, known: list[str]):
  """The known field most like `path`: one it begins (`eps` -> `eps_255`), then a
  close spelling, then the same name elsewhere (`attack_per_class` ->
  `data.attack_per_class`)."""
  parent, _, leaf = path.rpartition('.')
  siblings = [p for p in known if p.rpartition('.')[0] == parent]
  for matches in ([p for p in siblings if p.rpartition('.')[2].startswith(leaf)],
                  difflib.get_close_matches(path, known, n=1, cutoff=0.75),
                  [p for p in known if p.rpartition('.')[2] == leaf],
                  [p for p in known if p.replace('.', '_').endswith(path.replace('.', '_'))],
                  difflib.get_close_matches(path, known, n=1, cutoff=0.6)):
    if matches:
      return matches[0]
  return None
