"""File helpers for tests: which files under a directory hold some bytes; a bit flipped."""

from __future__ import annotations

import os
import struct
import zipfile
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


def flip_bit_in_record(path: Path, suffix: str = "/data/0", at: int = 0) -> str:
    """Flip one bit of a zip archive's record, as a disk or a copy might; return its name.

    The record is the first whose name ends with ``suffix`` (``/data/0``: the first
    tensor ``torch.save`` wrote); the byte ``at`` of its data changes, nothing else.
    """
    with zipfile.ZipFile(path) as archive:
        info = next(i for i in archive.infolist() if i.filename.endswith(suffix))
    data = bytearray(path.read_bytes())
    offset = info.header_offset  # local header: 30 bytes, then the name and the extra field
    name_len, extra_len = struct.unpack("<HH", data[offset + 26 : offset + 30])
    data[offset + 30 + name_len + extra_len + at] ^= 0x40
    path.write_bytes(bytes(data))
    return info.filename
