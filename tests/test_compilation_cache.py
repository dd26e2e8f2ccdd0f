"""The persistent compilation cache: programs are stored and loaded, and a loaded
program gives the same numbers as a compiled one."""

import os
import pathlib
import subprocess
import sys

import jax

from medadv_jax.runtime import compilation_cache

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
# A fresh process per run: the cache is set up once per process, before compiling.
_SCRIPT = '''
import sys
import jax, numpy as np
from medadv_jax.attacks import registry, schedules
from medadv_jax.models.cnn import WidthCNN
from medadv_jax.models.eval_apply import EvalApply
from medadv_jax.runtime import compilation_cache
compilation_cache.enable(sys.argv[1])
# Every program stored, however fast it compiled, so that the second run has
# nothing left to store whatever the machine's load.
jax.config.update('jax_persistent_cache_min_compile_time_secs', 0.0)
model = WidthCNN(num_classes=2, width=0.25)
images = np.random.default_rng(0).uniform(0, 1, (16, 12, 12, 1)).astype(np.float32)
variables = model.init(jax.random.key(0), images[:1], train=False)
labels = np.asarray(EvalApply(model)(variables, images).argmax(-1))
spec = registry.AttackSpec('pgd', 'untargeted', steps=5)
verdicts = schedules.evaluate('loop', spec, EvalApply(model), variables, images, labels,
                              np.array([0.5, 2, 8], np.float32) / 255, jax.random.key(1), 16)
np.save(sys.argv[2], verdicts)
'''


def _without_session_folder() -> dict:
  """The environment minus the test session's cache folder, which would win over
  the folder a script names."""
  return {k: v for k, v in os.environ.items() if k != compilation_cache.ENV_FOLDER}


def _run(cache, out):
  subprocess.run([sys.executable, '-c', _SCRIPT, str(cache), str(out)], cwd=REPO_ROOT,
                 check=True, capture_output=True, timeout=300, env=_without_session_folder())
  import numpy as np
  return np.load(out)


def test_a_second_process_loads_the_programs_and_gets_the_same_verdicts(tmp_path):
  cache = tmp_path / 'xla'
  first = _run(cache, tmp_path / 'first.npy')
  stored = sorted(p.name for p in cache.iterdir())
  assert stored  # The attack's programs were written.
  second = _run(cache, tmp_path / 'second.npy')
  assert sorted(p.name for p in cache.iterdir()) == stored  # Loaded, none compiled anew.
  assert (first == second).all()
  uncached = _run('', tmp_path / 'uncached.npy')
  assert (first == uncached).all()


def test_an_empty_folder_name_leaves_the_cache_off_and_a_bad_one_warns(tmp_path):
  compilation_cache.enable('')  # Nothing to assert but that nothing is created.
  assert not any(tmp_path.iterdir())
  blocker = tmp_path / 'file'
  blocker.write_text('')
  compilation_cache.enable(str(blocker / 'xla'))  # Cannot be created: warns, goes on.
  assert not (blocker / 'xla').exists()


_SMALL_SCRIPT = '''
import sys
import jax, jax.numpy as jnp
from medadv_jax.runtime import compilation_cache
compilation_cache.enable(sys.argv[1])
jax.config.update('jax_persistent_cache_min_compile_time_secs', 0.0)
print(float(jax.jit(lambda x: jnp.sin(x) @ x)(jnp.ones((4, 4))).sum()))
'''


def _run_small(cache):
  return subprocess.run([sys.executable, '-c', _SMALL_SCRIPT, str(cache)], cwd=REPO_ROOT,
                        check=True, capture_output=True, text=True, timeout=120,
                        env=_without_session_folder())


def test_a_damaged_entry_is_named_once_then_compiled_and_stored_again(tmp_path):
  cache = tmp_path / 'xla'
  first = _run_small(cache)
  entries = sorted(cache.iterdir())
  assert entries
  for path in entries:
    path.write_bytes(b'not a compiled program')
  second = _run_small(cache)
  assert second.stdout == first.stdout
  warnings = [line for line in second.stderr.splitlines() if 'cache' in line.lower()]
  assert len(warnings) == 1, second.stderr
  assert f'compilation cache {cache} held a damaged entry' in warnings[0]
  assert all(path.read_bytes() != b'not a compiled program'
             for path in cache.iterdir())  # Stored anew.
  third = _run_small(cache)
  assert third.stdout == first.stdout and 'cache' not in third.stderr.lower()


def test_jaxs_own_folder_setting_wins_over_the_configs(tmp_path, monkeypatch):
  # conftest.py names a fresh folder for the session; a study's config (by
  # default ~/.cache/...) must not send the tests' programs elsewhere.
  session = jax.config.jax_compilation_cache_dir
  monkeypatch.setenv(compilation_cache.ENV_FOLDER, session)
  compilation_cache.enable(str(tmp_path / 'elsewhere'))
  assert jax.config.jax_compilation_cache_dir == session
  assert not (tmp_path / 'elsewhere').exists()
