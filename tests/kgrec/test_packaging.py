"""The wheel holds every module and data file of the package folders.

Each under the name it is imported by.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("graph", "gnn", "text_encoders", "loaders", "api")
INSTALLED_AS = "kgrec/"
"""Where the wheel puts those folders: top-level names ("" ), or "kgrec/" (kgrec.api, ...)."""
DATA = ("loaders/sample/products.csv", "api/ui/static/index.html", "api/ui/static/vendor")


def test_the_wheel_ships_every_module_and_data_file(tmp_path: Path) -> None:
    source = tmp_path / "src"  # a copy: the build writes build/ and *.egg-info beside it
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("kgrec", *FOLDERS):
        shutil.copytree(ROOT / folder, source / folder, ignore=ignore)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(tmp_path / "dist"), str(source)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("kgrec-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    modules = {
        INSTALLED_AS + path.relative_to(source).as_posix()
        for folder in FOLDERS
        for path in (source / folder).rglob("*.py")
    } | {path.relative_to(source).as_posix() for path in (source / "kgrec").glob("*.py")}
    assert modules - shipped == set()
    for data in DATA:
        assert any(name.startswith(INSTALLED_AS + data) for name in shipped), data
    top = {name.split("/")[0] for name in shipped if not name.startswith("kgrec-0")}
    assert top == ({"kgrec"} if INSTALLED_AS else {"kgrec", *FOLDERS})
