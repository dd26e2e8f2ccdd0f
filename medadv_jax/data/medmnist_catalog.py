"""Facts MedMNIST publishes about its official files (v3, Zenodo record 10519652).

MD5 values are the official ones from MedMNIST's `info.py`. Only the subsets and
sizes listed here can be downloaded or verified.
"""

import dataclasses

ZENODO_URL = 'https://zenodo.org/records/10519652/files/{file_name}?download=1'


@dataclasses.dataclass(frozen=True)
class MedMNISTSubset:
  name: str
  task: str  # 'binary', 'multi-class', 'ordinal' or 'multi-label'.
  label_names: tuple[str, ...]
  channels: int
  md5_by_size: dict  # image size -> official MD5 of the npz file.
  licence: str = 'CC BY 4.0'

  @property
  def num_classes(self) -> int:
    return len(self.label_names)

  def file_name(self, size: int) -> str:
    return f'{self.name}.npz' if size == 28 else f'{self.name}_{size}.npz'

  def url(self, size: int) -> str:
    return ZENODO_URL.format(file_name=self.file_name(size))


CATALOG = {
    subset.name: subset for subset in (
        MedMNISTSubset(
            name='pneumoniamnist', task='binary',
            label_names=('normal', 'pneumonia'), channels=1,
            md5_by_size={28: '28209eda62fecd6e6a2d98b1501bb15f'}),
        MedMNISTSubset(
            name='breastmnist', task='binary',
            label_names=('malignant', 'normal, benign'), channels=1,
            md5_by_size={28: '750601b1f35ba3300ea97c75c52ff8f6',
                         64: '742edef2a1fd1524b2efff4bd7ba9364'}),
        MedMNISTSubset(
            name='retinamnist', task='ordinal',
            label_names=('0', '1', '2', '3', '4'), channels=3,
            md5_by_size={28: 'bd4c0672f1bba3e3a89f0e4e876791e4'}),
    )
}
