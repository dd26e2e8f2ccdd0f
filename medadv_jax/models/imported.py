"""A model named by import path, 'package.module:Name': one's own Flax Linen
module, trained and attacked like a registered one.

The module must be importable (on the Python path) and `Name` a Linen module
class with `num_classes` and `width` fields (and a `depth` field if the
config sweeps `model.depths`), called as `Name(num_classes=..., width=...)`
and applied as `model.apply(variables, images, train=...)` with BatchNorm
statistics, if any, in the 'batch_stats' collection.
"""

import dataclasses
import importlib

import flax.linen as nn

from medadv_jax.errors import ConfigError

REQUIRED_FIELDS = ('num_classes', 'width')


def is_import_path(name) -> bool:
  return isinstance(name, str) and ':' in name


def load(name: str, field: str, registered: str) -> type[nn.Module]:
  """The Linen module class `name` ('package.module:Name') points to; a
  ConfigError naming `field` if it does not resolve to one (`registered`
  lists the registry's names for the message)."""
  module_name, _, attribute = name.partition(':')
  allowed = (f'a registered model ({registered}) or "package.module:Name", a Flax '
             f'Linen module class with fields {", ".join(REQUIRED_FIELDS)}')
  try:
    target = importlib.import_module(module_name)
    for part in attribute.split('.'):
      target = getattr(target, part)
  except ImportError as e:
    raise ConfigError(field, name, f'{allowed} (cannot import {module_name!r}: {e})') \
        from None
  except (AttributeError, ValueError):
    raise ConfigError(field, name, f'{allowed} ({module_name!r} has no {attribute!r})') \
        from None
  if not (isinstance(target, type) and issubclass(target, nn.Module)):
    raise ConfigError(field, name, f'{allowed} (it is not a Linen module class)')
  missing = [f for f in REQUIRED_FIELDS if f not in field_names(target)]
  if missing:
    raise ConfigError(field, name, f'{allowed} (it has no field {", ".join(missing)})')
  return target


def field_names(module_class: type[nn.Module]) -> set[str]:
  return {f.name for f in dataclasses.fields(module_class)}
