"""The analysis plan (config.analysis): per claim the primary endpoint, radii band,
floor, margin and multiplicity family, the minimum seeds and the exclusion rule.
Written to the workdir as plan.json, the plan a study ran under."""

import dataclasses
import json
import pathlib

from medadv_jax import atomic_files

FILE_NAME = 'plan.json'
# A study's answers under other plans: <study>/ANSWERS_DIR/<plan name>/ (launch/reanalyse.py).
ANSWERS_DIR = 'analyses'
# Claim (a)'s endpoints: robust accuracy's slope on log2(parameters), on every
# attacked image or on the matched set (images every size gets right clean).
SIZE_ENDPOINTS = ('robust_slope', 'matched_robust_slope')
# Claim (b)'s endpoint: per size, adversarially trained minus standard on the same images.
TRAINING_ENDPOINTS = ('paired_gain',)
# Flagged models: out of the primary analysis, in a sensitivity row ('out_with_sensitivity').
EXCLUSION_RULES = ('out_with_sensitivity',)
HOLM_FAMILIES = ('sizes',)
CROSS_STUDY_FAMILIES = ('claims_and_studies',)
SECONDARY = ('matched_set', 'log_min_eps', 'clean_slope', 'adjusted_slope')


@dataclasses.dataclass(frozen=True)
class SizeClaim:
  """Claim (a): robustness falls as parameters grow (claimed slope < 0)."""
  endpoint: str
  mode: str
  band_255: tuple  # (low, high) radii x 1/255, inclusive.
  floor: float  # Radii where every size's robust accuracy is at or below it are dropped.
  margin: float  # Robust accuracy per doubling of parameters: smaller is no effect.


@dataclasses.dataclass(frozen=True)
class TrainingClaim:
  """Claim (b): adversarial training raises every size's robustness (gain > 0)."""
  endpoint: str
  mode: str
  baseline: str
  band_255: tuple
  margin: float  # Robust accuracy gain: smaller is no effect.
  holm: str  # The family Holm adjusts over.


@dataclasses.dataclass(frozen=True)
class Plan:
  name: str
  min_seeds: int
  min_sizes: int
  alpha: float
  exclusion: str
  size: SizeClaim
  training: TrainingClaim
  secondary: tuple
  cross_study_holm: str
  models: tuple = ()  # The models analysed (names in config.model.names); (): every one.

  @classmethod
  def from_config(cls, analysis) -> 'Plan':
    """From `config.analysis` (a ConfigDict or the dict plan.json holds)."""
    a = dict(analysis)
    size, training = dict(a['size']), dict(a['training'])
    return cls(
        name=str(a['name']), min_seeds=int(a['min_seeds']), min_sizes=int(a['min_sizes']),
        alpha=float(a['alpha']), exclusion=str(a['exclusion']),
        size=SizeClaim(str(size['endpoint']), str(size['mode']),
                       tuple(float(e) for e in size['band_255']), float(size['floor']),
                       float(size['margin'])),
        training=TrainingClaim(str(training['endpoint']), str(training['mode']),
                               str(training['baseline']),
                               tuple(float(e) for e in training['band_255']),
                               float(training['margin']), str(training['holm'])),
        secondary=tuple(a['secondary']), cross_study_holm=str(a['cross_study_holm']),
        models=tuple(str(m) for m in a.get('models', ())))

  def as_dict(self) -> dict:
    return dataclasses.asdict(self)


def write(plan: Plan, workdir: pathlib.Path) -> None:
  """plan.json in `workdir`: the plan the study runs under."""
  atomic_files.write_text(pathlib.Path(workdir) / FILE_NAME,
                          json.dumps(plan.as_dict(), indent=1))


def read(path: pathlib.Path) -> Plan:
  """The Plan in a plan.json (DamagedFileError if it does not read back)."""
  return Plan.from_config(atomic_files.read_json(path))
