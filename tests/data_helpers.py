"""A `config.data` for data tests: local files only, every field explicit."""

import ml_collections


def data_config(directory, **overrides) -> ml_collections.ConfigDict:
  """config.data reading from `directory`, never downloading; `overrides` replace fields."""
  config = ml_collections.ConfigDict(dict(
      name='pneumoniamnist', size=28, dir=str(directory), cache_dir=str(directory / 'cache'),
      download=False, verify_md5=False, train_limit=0, attack_per_class=0,
      split='official', split_fractions=(0.71, 0.145, 0.145), grey_to_rgb=False))
  config.update(overrides)
  return config
