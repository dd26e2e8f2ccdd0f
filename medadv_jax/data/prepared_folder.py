"""Ties a prepared tfds copy of an image folder to the folder it was built from.

tfds prepares a builder config once per `data.tfds_dir` and then serves the
prepared records, whatever `data.dir` says. MedMNIST files are checked against
their official MD5 before preparing, so their prepared copy can only be the
official data; an image folder has no such reference, and pointing `data.dir`
at a different folder (or adding, removing or replacing images) would
silently keep training and attacking on the old images. So preparing records
a listing of the folder next to the records, and every later read compares
the folder against it.

The listing is each file's path relative to the folder and its size in bytes:
cheap enough to check on every load of a folder of thousands of images, and
it changes when a file is added, removed, renamed or replaced by a different
one (a same-size edit in place is the one change it misses).
"""

import hashlib
import json
import pathlib

from medadv_jax import atomic_files
from medadv_jax.errors import DataError

LISTING_FILE = 'source_folder.json'


def folder_listing(root: pathlib.Path) -> dict:
  """Number of files and a SHA-256 over their relative paths and sizes.

  Hidden files (.DS_Store, ._x) are left out, as the folder reader skips them.
  """
  files = sorted(path for path in root.rglob('*') if path.is_file() and not any(
      part.startswith('.') for part in path.relative_to(root).parts))
  digest = hashlib.sha256()
  for path in files:
    digest.update(f'{path.relative_to(root).as_posix()}\0{path.stat().st_size}\n'.encode())
  return {'files': len(files), 'sha256': digest.hexdigest()}


def record(prepared_dir: pathlib.Path, root: pathlib.Path, listing: dict) -> None:
  """Writes the listing of `root` (as it was prepared) into `prepared_dir`."""
  atomic_files.write_text(prepared_dir / LISTING_FILE, json.dumps(
      dict(listing, dir=str(root.resolve())), indent=1, sort_keys=True) + '\n')


def check(prepared_dir: pathlib.Path, root: pathlib.Path, listing: dict) -> None:
  """Raises DataError unless `prepared_dir` was prepared from a folder listed
  exactly as `listing` (the current `root`)."""
  path = prepared_dir / LISTING_FILE
  remedy = (f'Delete {prepared_dir} to prepare it again from {root}, or set '
            '--config.data.tfds_dir to another folder.')
  try:
    recorded = json.loads(path.read_text())
    recorded_files, recorded_sha = recorded['files'], recorded['sha256']
  except FileNotFoundError:
    raise DataError(f'the prepared tfds data in {prepared_dir} has no {LISTING_FILE}, so '
                    f'which image folder it was built from is unknown. {remedy}') from None
  except (ValueError, KeyError, TypeError) as e:
    raise DataError(f'{path} is unreadable ({type(e).__name__}: {e}). {remedy}') from None
  if recorded_sha != listing['sha256']:
    raise DataError(
        f'data.dir={str(root)!r} ({listing["files"]} files) differs from the image folder '
        f'the prepared tfds data in {prepared_dir} was built from '
        f'({recorded.get("dir", "?")}, {recorded_files} files then): files were added, '
        f'removed, renamed or replaced. {remedy}')
