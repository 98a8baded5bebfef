"""The outcome of an import: counts per entity, messages, rejects files."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kgrec.errors import KgrecError
from kgrec.loaders.constants import ENTITIES_WRITTEN, ENTITY_KINDS, KG, KG_LINKS
from kgrec.loaders.counts import EntityCounts

EXIT_OK = 0
EXIT_REJECTED = 3


@dataclass
class ImportReport:
    """What :meth:`kgrec.loaders.Importer.run` did.

    Attributes:
        counts: per entity kind (and ``entities`` for knowledge-graph nodes).
        messages: notes for the user (empty files, ignored columns, separators,
            strict aborts).
        rejects_files: CSV files holding the rejected rows.
        dry_run: nothing was written on purpose.
        aborted: ``--strict`` found rejects (or an error) and wrote nothing.
        replace: properties a file does not carry were removed (``--replace``).
    """

    counts: dict[str, EntityCounts] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    rejects_files: list[Path] = field(default_factory=list)
    dry_run: bool = False
    aborted: bool = False
    replace: bool = False

    def entity(self, name: str) -> EntityCounts:
        """The counts of one entity kind (created on first use)."""
        return self.counts.setdefault(name, EntityCounts())

    @property
    def rejected(self) -> int:
        """Rows rejected over all entity kinds."""
        return sum(c.rejected for c in self.counts.values())

    @property
    def exit_code(self) -> int:
        """0 when every row was accepted, 3 when some were rejected."""
        return EXIT_REJECTED if self.rejected else EXIT_OK

    def summary_lines(self) -> list[str]:
        """One line per entity kind, in write order, then the rejects files."""
        names_in_order = [*ENTITY_KINDS[:4], ENTITIES_WRITTEN, *ENTITY_KINDS[4:]]
        order: dict[str, int] = {name: i for i, name in enumerate(names_in_order)}
        names = sorted(self.counts, key=lambda n: order.get(n, len(order)))
        nothing = self.dry_run or self.aborted
        lines = [
            self.counts[n].summary(
                n, dry_run=nothing, replace=self.replace, relationships=n in (KG, KG_LINKS)
            )
            for n in names
        ]
        lines += [f"rejected rows and reasons: {p}" for p in self.rejects_files]
        return lines


class ImportFailed(KgrecError):  # noqa: N818  (reads as "the import failed")
    """An error stopped an import part-way; ``report`` says what was written before it.

    The message is the error's own (file, row, reason). With ``--strict`` the
    error came from the validation pass and nothing was written
    (``report.aborted``).
    """

    def __init__(self, error: KgrecError, report: ImportReport) -> None:
        super().__init__(str(error))
        self.error = error
        self.report = report
