"""CI runs exactly the README's test command, the AVX2 rerun included."""

import pathlib
import re

REPO = pathlib.Path(__file__).resolve().parent.parent


def _readme_test_command() -> list[str]:
  blocks = re.findall(r'```bash\n(.*?)\n```', (REPO / 'README.md').read_text(), re.S)
  tests = [b for b in blocks if 'pytest' in b]
  assert len(tests) == 1, tests
  return [part.strip() for part in tests[0].split('&&')]


def test_ci_runs_the_readmes_test_command_after_its_install():
  install, *commands = _readme_test_command()
  assert install.startswith('pip install') and 'requirements-test.txt' in install
  ci = [line.strip() for line in (REPO / '.ci' / 'run').read_text().splitlines()]
  assert ci[-len(commands):] == commands
  assert any('--xla_cpu_max_isa=AVX2' in c and '-m numerics' in c for c in commands)
