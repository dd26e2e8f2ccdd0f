"""Test set-up: where the MedMNIST files are, and a shared XLA compilation cache."""

import os
import pathlib
import tempfile

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent

# The machines that run the tests have no internet: the official files sit in
# ../shared/medmnist unless MEDMNIST_DIR says otherwise.
os.environ.setdefault('MEDMNIST_DIR', str(REPO_ROOT.parent / 'shared' / 'medmnist'))
# Tests compile the same small programs in several processes (main.py runs);
# a compilation cache shared by them, fresh for each test session, saves most
# of the compile time without letting an old run's programs leak in.
os.environ.setdefault('JAX_COMPILATION_CACHE_DIR', tempfile.mkdtemp(prefix='medadv_xla_'))
# Every program, not only those compiling for over a second (JAX's default): the
# tests' programs are small, and a second main.py run on the same config took
# 15 s instead of 27 s with all of them cached.
os.environ.setdefault('JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS', '0')
