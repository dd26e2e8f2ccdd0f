"""Test set-up: where the MedMNIST files are, and a shared XLA compilation cache."""

import os
import pathlib
import shutil
import tempfile

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent

# The machines that run the tests have no internet: the official files sit in
# ../shared/medmnist unless MEDMNIST_DIR says otherwise.
os.environ.setdefault('MEDMNIST_DIR', str(REPO_ROOT.parent / 'shared' / 'medmnist'))
# Tests compile the same small programs in several processes (main.py runs);
# a compilation cache shared by them, fresh for each test session, saves most
# of the compile time without letting an old run's programs leak in.
# pytest-xdist's workers inherit the directory from the process that made it,
# which deletes it when the session ends.
_CACHE_MADE_HERE = None
if 'JAX_COMPILATION_CACHE_DIR' not in os.environ:
  _CACHE_MADE_HERE = tempfile.mkdtemp(prefix='medadv_xla_')
  os.environ['JAX_COMPILATION_CACHE_DIR'] = _CACHE_MADE_HERE
# Every program, not only those compiling for over a second (JAX's default): the
# tests' programs are small, and a second main.py run on the same config took
# 15 s instead of 27 s with all of them cached.
os.environ.setdefault('JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS', '0')


def pytest_configure(config):
  # .ci/run runs these again with XLA_FLAGS=--xla_cpu_max_isa=AVX2: a second x86
  # code path for the tests that compare compiled numbers with a reference.
  config.addinivalue_line('markers', 'numerics: compares compiled numbers with a '
                          'reference; rerun under a second CPU instruction set')


def pytest_unconfigure(config):
  del config  # Unused: the hook's signature.
  if _CACHE_MADE_HERE is not None:
    shutil.rmtree(_CACHE_MADE_HERE, ignore_errors=True)
