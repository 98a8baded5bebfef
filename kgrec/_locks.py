"""The one exclusive file lock of kgrec: an ``flock`` on a lock file, for one block.

Every lock that processes sharing a data directory take (the experiment log, the
forget lock, the artifact versions, the embedded server's start and server locks)
is :func:`exclusive_lock`. Each call opens the file anew, and an ``flock`` belongs to
an open file, so it excludes the other threads of this process as well as other
processes.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Final

DEFAULT_MODE: Final = 0o666
"""The permission bits of a lock file created here, less the umask (``open()``'s own)."""


@contextlib.contextmanager
def exclusive_lock(
    path: Path, *, blocking: bool = True, mode: int = DEFAULT_MODE
) -> Iterator[bool]:
    """Hold an exclusive ``flock`` on ``path`` for the block; released when it ends.

    Args:
        path: the lock file, opened read-write; created with ``mode`` when missing,
            never truncated.
        blocking: wait for another holder to release it. False: do not wait; when
            another holds it, the block runs without the lock, told so.
        mode: permission bits of a lock file created here (less the umask).

    Yields:
        True when the lock is held; False only when ``blocking`` is False and
        another holder has it.

    Raises:
        OSError: the lock file cannot be opened (permissions, a directory in the way).
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, mode)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            held = False
        else:
            held = True
        if not held:  # outside the except: the block's own errors are not chained to it
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
