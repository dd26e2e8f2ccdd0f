"""User-facing errors: one clear message, caught by `main.py` and turned into exit 1."""


class MedAdvError(Exception):
  """Base class of every error caused by user input (configs, files, flags)."""


class ConfigError(MedAdvError):
  """A config field holds a value outside what is allowed."""

  def __init__(self, field: str, value, allowed: str):
    self.field = field
    self.value = value
    self.allowed = allowed
    super().__init__(
        f'config field `{field}` is {value!r}; allowed: {allowed}.')


class DataError(MedAdvError):
  """A data file or folder is missing, corrupt or not in the expected format."""


class DamagedFileError(MedAdvError):
  """A file this project wrote (atomically) no longer reads back: changed outside it."""


class DiskFullError(MedAdvError):
  """A write failed because the file system is full."""

  def __init__(self, path):
    self.path = path
    super().__init__(
        f'no space left on device writing {path}; free some space (or use a --workdir on '
        'a larger disk) and run the same command again to resume.')


class ArgumentError(MedAdvError):
  """A function argument holds a value outside what is allowed (the Python API's
  ConfigError)."""

  def __init__(self, argument: str, seen: str, allowed: str):
    self.argument = argument
    super().__init__(f'argument `{argument}`: {seen}; allowed: {allowed}.')
