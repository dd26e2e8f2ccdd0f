"""Model registry: a config string selects a family or a named preset.

An entry's `build` is a module constructor (a class or a `functools.partial`
preset) called as `build(num_classes=..., width=...)`, plus `depth=...` for
families with a depth knob; the rest reject a depth. A name of the form
'package.module:Name' is one's own Linen module, imported (`imported`).
"""

import dataclasses
import numbers
from typing import Callable, Optional

import flax.linen as nn

from medadv_jax.errors import ConfigError
from medadv_jax.models import cbr
from medadv_jax.models import cnn
from medadv_jax.models import imported
from medadv_jax.models import resnet_cifar
from medadv_jax.models import resnet_imagenet


@dataclasses.dataclass(frozen=True)
class ModelEntry:
  build: Callable[..., nn.Module]
  has_depth: bool = False
  description: str = ''
  # For depth families: which depths are valid, and how to say so.
  depth_ok: Callable[[int], bool] = lambda depth: False
  depths_allowed: str = ''


_REGISTRY: dict[str, ModelEntry] = {
    'cnn': ModelEntry(cnn.WidthCNN,
                      description='plain conv-BN-ReLU, 16/32/64 x width'),
    'resnet': ModelEntry(
        resnet_cifar.CifarResNetV1, has_depth=True,
        description='CIFAR ResNet v1, depth 6n+2 (default 20), 16/32/64 x width',
        depth_ok=resnet_cifar.is_valid_depth,
        depths_allowed='values 6n+2 with n >= 1 (8, 14, 20, 26, 32, ..., 50)'),
    'resnet8': ModelEntry(resnet_cifar.ResNet8, description='paper ResNet-8'),
    'resnet20': ModelEntry(resnet_cifar.ResNet20, description='paper ResNet-20'),
    'resnet32': ModelEntry(resnet_cifar.ResNet32, description='paper ResNet-32'),
    'resnet50': ModelEntry(resnet_cifar.ResNet50,
                           description='paper ResNet-50 (CIFAR-style, 6n+2)'),
    'cbr_tiny': ModelEntry(cbr.CBRTiny, description='Raghu 2019 CBR-Tiny'),
    'cbr_small': ModelEntry(cbr.CBRSmall, description='Raghu 2019 CBR-Small'),
    'cbr_large_t': ModelEntry(cbr.CBRLargeT,
                              description='Raghu 2019 CBR-LargeT (paper)'),
    'cbr_large_w': ModelEntry(cbr.CBRLargeW,
                              description='Raghu 2019 CBR-LargeW'),
    'resnet18': ModelEntry(resnet_imagenet.ResNet18,
                           description='ImageNet ResNet-18, 64-512 x width'),
}


def available_models() -> list[str]:
  return sorted(_REGISTRY)


def model_has_depth(name: str) -> bool:
  return _entry(name, 'model.name').has_depth


def get_model(name: str, *, num_classes: int, width: float = 1.0,
              depth: Optional[int] = None,
              field: str = 'model.name') -> nn.Module:
  """Builds the registered model `name` at the given width (and depth).

  `depth=None` on a depth family gives the family's default depth.
  """
  entry = _entry(name, field)
  kwargs = dict(num_classes=num_classes, width=width)
  if depth is not None:
    if not entry.has_depth:
      raise ConfigError('model.depths', depth,
                        f'no depth for model {name!r} (it has no depth knob); '
                        'leave model.depths empty')
    # bool is an int subclass; `True` as a depth is a config mistake.
    if (isinstance(depth, bool) or not isinstance(depth, numbers.Integral)
        or not entry.depth_ok(int(depth))):
      raise ConfigError('model.depths', depth,
                        f'for model {name!r}: {entry.depths_allowed}')
    kwargs['depth'] = int(depth)
  if not isinstance(width, numbers.Real) or width <= 0:
    raise ConfigError('model.widths', width, 'positive numbers')
  return entry.build(**kwargs)


def _entry(name: str, field: str) -> ModelEntry:
  if imported.is_import_path(name):
    build = imported.load(name, field, ', '.join(available_models()))
    return ModelEntry(build, has_depth='depth' in imported.field_names(build),
                      description=f'imported from {name}', depth_ok=lambda depth: depth >= 1,
                      depths_allowed='positive integers (its depth field)')
  if name not in _REGISTRY:
    raise ConfigError(field, name, ', '.join(available_models()))
  return _REGISTRY[name]
