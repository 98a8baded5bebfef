"""Every bench script still starts: its imports resolve and ``--help`` prints its usage.

The modules the scripts share (no ``__main__`` block) only have to import.

The figures in the docs come from ``bench/`` scripts, and nothing else imports
them, so a rename in the package would break one unnoticed until someone next
measures. One child process runs each script's ``--help`` as ``python
bench/<script>.py --help`` would (its own folder first on ``sys.path``), which
shares the imports' cost across the scripts.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"

_RUN_ALL = """
import contextlib, io, json, runpy, sys
results = {}
for path in sys.argv[1:]:
    sys.argv = [path, "--help"]
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            runpy.run_path(path, run_name="__main__")
        code = "returned without exiting"
    except SystemExit as exit:
        code = exit.code
    except Exception as error:  # the failure is the test's finding
        code = f"{type(error).__name__}: {error}"
    results[path] = [code, "usage:" in out.getvalue()]
print(json.dumps(results))
"""


@pytest.mark.slow
def test_every_bench_script_prints_its_usage() -> None:
    scripts = sorted(str(p) for p in BENCH.glob("*.py"))
    assert len(scripts) >= 10, f"bench scripts not found under {BENCH}"
    program = f"import sys; sys.path.insert(0, {str(BENCH)!r})\n{_RUN_ALL}"
    done = subprocess.run(
        [sys.executable, "-c", program, *scripts],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    broken = {}
    for path, (code, usage) in results.items():
        if "__main__" not in Path(path).read_text(encoding="utf-8"):  # a shared module
            if code != "returned without exiting":
                broken[Path(path).name] = code
        elif code not in (0, None) or not usage:
            broken[Path(path).name] = code
    assert not broken, f"bench scripts that do not start: {broken}"
