"""Imports a script of launch/ as a module, for tests of its functions."""

import importlib
import pathlib
import sys

LAUNCH = pathlib.Path(__file__).resolve().parent.parent / 'launch'


def launch_module(name):
  sys.path.insert(0, str(LAUNCH))
  try:
    return importlib.import_module(name)
  finally:
    sys.path.pop(0)
