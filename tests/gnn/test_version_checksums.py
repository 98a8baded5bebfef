"""An artifact version's checksums: written at publication, checked at every load."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from kgrec.api.synthetic import synthetic_artifacts
from kgrec.errors import ArtifactError
from kgrec.gnn.artifacts import PRODUCT_TEXT, ArtifactSet
from kgrec.gnn.ranking.ranker import COMPILED_DIR
from kgrec.gnn.ranking.served import RANKING_DIR
from kgrec.gnn.version_checksums import CHECKSUMS, damaged_files, file_sha256, read_checksums
from kgrec.gnn.versions import GATE


def _version(root: Path) -> Path:
    def ranking(version: Path) -> None:  # a writer's nested file, listed too
        (version / RANKING_DIR / COMPILED_DIR).mkdir(parents=True)
        np.save(version / RANKING_DIR / "item_count.npy", np.arange(20))
        # the boosters' machine code for this host: a cache, rebuilt when it differs
        (version / RANKING_DIR / COMPILED_DIR / "forest-1.o").write_bytes(b"code")
        (version / GATE).write_text('{"promote": true}')  # the gate's record, kept up to date

    artifacts = synthetic_artifacts(20, 5, graph_dim=4, text_dim=4, clusters=2, seed=0)
    return artifacts.save(root, writers=[ranking], promote=False)


def test_a_version_lists_every_file_it_was_published_with(tmp_path: Path) -> None:
    version = _version(tmp_path)
    listed = read_checksums(version)
    assert listed is not None
    files = {p.relative_to(version).as_posix() for p in version.rglob("*") if p.is_file()}
    assert set(listed) == files - {CHECKSUMS, "ranking/compiled/forest-1.o", GATE}
    assert "ranking/item_count.npy" in listed and PRODUCT_TEXT in listed
    for name, digest in listed.items():
        assert file_sha256(version / name) == digest, name
    assert damaged_files(version) == []


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="coreutils' sha256sum not here")
def test_sha256sum_checks_a_version_too(tmp_path: Path) -> None:
    version = _version(tmp_path)
    done = subprocess.run(
        ["sha256sum", "--check", "--strict", CHECKSUMS], cwd=version, capture_output=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_changed_or_missing_file_stops_the_load_and_is_named(tmp_path: Path) -> None:
    version = _version(tmp_path)
    ArtifactSet.load(version)
    text = bytearray((version / PRODUCT_TEXT).read_bytes())
    text[-1] ^= 0x01  # one bit of the last vector: same size, still a valid .npy
    (version / PRODUCT_TEXT).write_bytes(bytes(text))
    (version / "ranking" / "item_count.npy").unlink()
    with pytest.raises(ArtifactError) as e:
        ArtifactSet.load(version, mmap=True)
    message = str(e.value)
    assert f"{PRODUCT_TEXT}: SHA-256" in message and "ranking/item_count.npy: missing" in message
    assert "kgrec embed" in message


def test_files_written_later_and_versions_without_checksums_still_load(tmp_path: Path) -> None:
    version = _version(tmp_path)
    compiled = version / RANKING_DIR / COMPILED_DIR  # another host's boosters, compiled later
    (compiled / "forest-2.o").write_bytes(b"another host's code")
    (compiled / "forest-1.o").write_bytes(b"recompiled")
    # kgrec train --since turns its decision down when another promotion landed first
    (version / GATE).write_text('{"promote": false}')
    (version / "notes.txt").write_text("an operator's file")
    assert ArtifactSet.load(version).manifest.num_products == 20
    (version / CHECKSUMS).unlink()  # as written before kgrec recorded them
    assert damaged_files(version) is None
    assert ArtifactSet.load(version).manifest.num_products == 20


def test_a_damaged_checksum_file_names_its_line(tmp_path: Path) -> None:
    version = _version(tmp_path)
    lines = (version / CHECKSUMS).read_text().splitlines()
    (version / CHECKSUMS).write_text("\n".join([lines[0], "not a checksum", *lines[1:]]))
    with pytest.raises(ArtifactError, match=f"{CHECKSUMS}, line 2: not"):
        ArtifactSet.load(version)
