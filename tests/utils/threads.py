"""Run a piece of work in several threads at once and collect what they raised."""

from __future__ import annotations

import threading
from collections.abc import Callable


def errors_in_threads(
    work: Callable[[int], None], count: int, timeout_s: float | None = None
) -> list[BaseException]:
    """Run ``work(0)`` .. ``work(count - 1)`` in ``count`` threads at once; what they raised.

    A thread still running after ``timeout_s`` counts as a ``TimeoutError``.
    """
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            work(n)
        except BaseException as e:  # surfaced to the caller
            errors.append(e)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout_s)
    errors += [TimeoutError(f"{t.name} still running") for t in threads if t.is_alive()]
    return errors
