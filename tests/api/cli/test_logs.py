"""A command shows kgrec's INFO summaries and warnings on stderr, not third-party INFO."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import logging
from kgrec.api.cli._app import show_logs
show_logs()
logging.getLogger("kgrec.gnn.snapshot").info("snapshot v1: 3 product")
logging.getLogger("faiss.loader").info("Loading faiss with AVX512 support.")
logging.getLogger("faiss.loader").warning("faiss warns")
print("stdout stays clean")
"""


def test_cli_shows_kgrec_info_and_every_warning_on_stderr() -> None:
    shown = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=60
    )
    assert shown.stderr.splitlines() == ["snapshot v1: 3 product", "faiss warns"]
    assert shown.stdout == "stdout stays clean\n"
