"""A Python command line whose SIGINT acts as from a terminal, whatever the suite's.

A suite started in the background (`cmd &`) passes SIGINT on ignored, and Python
then never turns it into KeyboardInterrupt. A preexec_fn could reset it, but it
runs Python code in a fork of a JAX-multithreaded test process, which can
deadlock; here the child resets SIGINT itself and execs the real command."""

import sys

PYTHON = [sys.executable, '-c',
          'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); '
          'os.execv(sys.executable, [sys.executable, *sys.argv[1:]])']
