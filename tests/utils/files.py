"""File helpers for tests: which files under a directory hold some bytes."""

from __future__ import annotations

import os
from pathlib import Path


def files_holding(root: Path, needle: bytes) -> list[str]:
    """Every file under ``root`` whose bytes contain ``needle`` (paths relative to it)."""
    found = []
    for directory, _, names in os.walk(root):
        for name in names:
            path = Path(directory) / name
            if needle in path.read_bytes():
                found.append(str(path.relative_to(root)))
    return sorted(found)
