"""Serve again what online writes wrote: after a swap, and after a restart.

A new artifact version, swapped in while the service runs, lacks what was
written online since its snapshot, or holds it stale; so does the version a
restarted service starts from. :class:`ServedAgain` puts those products and
shoppers back, as the graph holds them now, through the engine's write path
(:class:`~kgrec.api.writes.OnlineWrites`): :meth:`ServedAgain.carry_over` after
a swap, :meth:`ServedAgain.stale_in_version` and :meth:`ServedAgain.serve_again`
for a restart's restore (:mod:`kgrec.api.restore`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Final, TypeVar

from kgrec.api.state import ServedState
from kgrec.api.writes import OnlineWrites
from kgrec.api.written_online import CLOCK_MARGIN_S
from kgrec.errors import ArtifactError, GraphConnectionError, KgrecError
from kgrec.typing import PRODUCT, USER

if TYPE_CHECKING:
    from kgrec.api.engine import Engine

log = logging.getLogger(__name__)
SERVE_BATCH: Final = 256
"""Ids served again from the graph per call (:meth:`ServedAgain.serve_again`), in a
swap and in a restart's restore."""
T = TypeVar("T")


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """``items`` in consecutive slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


class ServedAgain:
    """What one :class:`~kgrec.api.engine.Engine` serves again from the graph.

    Args:
        engine: the engine whose state it reads.
        writes: the engine's write path, which embeds and serves what is read back.
    """

    def __init__(self, engine: Engine, writes: OnlineWrites) -> None:
        self._engine = engine
        self._writes = writes

    def carry_over(self, old: ServedState) -> None:
        """Serve in the engine's new state what ``old`` served from online writes (a swap).

        The products and shoppers the new version lacks, and those it holds that
        were written online since its snapshot (:meth:`stale_in_version`; without a
        ledger, every one), through :meth:`serve_again` in batches. A batch that
        fails is logged and left to the next restart's restore; the others go on.
        """
        engine = self._engine
        catalogue = engine._state.catalogue
        written = (
            (PRODUCT, [i.row["id"] for i in old.overlay.items], catalogue.row_of),
            (USER, list(old.overlay.users), catalogue.user_row),
        )
        for label, ids, in_version in written:
            stale = self.stale_in_version(label)
            if stale is not None:
                recent = set(stale)
                ids = [i for i in ids if i not in in_version or i in recent]
            for batch in chunks(ids, SERVE_BATCH):
                try:
                    self.serve_again(label, batch)
                except KgrecError as e:
                    if isinstance(e, GraphConnectionError):
                        engine._health.mark_down()
                    log.warning(
                        "could not carry %d online %s over to version %s: %s; they are served "
                        "again after a restart",
                        len(batch),
                        "products" if label == PRODUCT else "shoppers",
                        engine.version,
                        e,
                    )

    def stale_in_version(self, label: str) -> list[str] | None:
        """Ids of ``label`` the served version holds and the ledger names as written since.

        Written online since the version's snapshot was exported (less
        :data:`~kgrec.api.written_online.CLOCK_MARGIN_S`): the version alone serves
        them stale. None when the engine keeps no ledger, or it cannot be read
        (logged): which are stale is then unknown.
        """
        engine = self._engine
        ledger = engine.written_online
        if ledger is None:
            return None
        catalogue = engine._state.catalogue
        try:
            ids = ledger.since(label, catalogue.snapshot_exported_at - CLOCK_MARGIN_S)
        except ArtifactError as e:
            log.error("%s rows written online since the snapshot are unknown: %s", label, e)
            return None
        in_version = catalogue.row_of if label == PRODUCT else catalogue.user_row
        return [i for i in ids if i in in_version]

    def serve_again(self, label: str, ids: Sequence[str]) -> list[str]:
        """Serve ``ids`` of ``label`` (Product, User) as the graph holds them now.

        Products are read back after a fresh stamp (``mirror``), so an update that
        lands meanwhile is served, not an older read; shoppers are embedded from the
        graph as it is (:meth:`~kgrec.api.writes.OnlineWrites.refresh_users`). Ids
        the graph no longer holds are not served.

        Returns:
            The ids served.
        """
        if label == USER:
            return self._writes.refresh_users(ids)
        store = self._engine._health.require_store("products served again")
        rows = store.product_rows(ids)  # read back whole after the stamp (_served_rows)
        return self._writes.add_items(rows, write_graph=False, replace=False, mirror=True)
