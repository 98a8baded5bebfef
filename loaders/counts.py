"""Per-entity counts of an import."""

from __future__ import annotations

from dataclasses import dataclass

from kgrec.graph import UpsertCounts


@dataclass
class EntityCounts(UpsertCounts):
    """What an import did with one entity kind's rows.

    ``created`` / ``updated`` / ``unchanged`` count nodes (for the relationship-only
    kinds, ``kg`` and ``kg_links``, relationships: created, or already there);
    ``removed`` counts node properties removed (empty cells, and with
    ``--replace`` properties the file does not carry); ``rejected`` counts rows
    refused; ``accepted`` rows passed validation (a dry run stops there).
    """

    rows: int = 0
    accepted: int = 0
    rejected: int = 0

    def add_upsert(self, counts: UpsertCounts) -> None:
        """Add the counts a GraphStore upsert returned."""
        super().__iadd__(counts)

    def summary(
        self, name: str, *, dry_run: bool, replace: bool = False, relationships: bool = False
    ) -> str:
        """One line: ``products: 1,000 rows, 990 created, 0 updated, 5 unchanged, 5 rejected``.

        With ``replace`` (or when properties were removed) the line also says
        ``N properties removed``; with ``relationships`` (the kind writes them,
        not nodes) ``N relationships created``, or ``no rows`` when the files held
        none of that kind.
        """
        rows = f"{self.rows:,} row{'' if self.rows == 1 else 's'}"
        if dry_run:
            return (
                f"{name}: {rows}, {self.accepted:,} valid (dry run: nothing written), "
                f"{self.rejected:,} rejected"
            )
        touched = self.created or self.updated or self.unchanged or self.removed or self.rejected
        if relationships and not (self.rows or touched):
            return f"{name}: no rows"  # e.g. a knowledge graph of product links only (kg)
        parts = [rows] if self.rows else []
        noun = ("relationship " if self.created == 1 else "relationships ") if relationships else ""
        parts += [
            f"{self.created:,} {noun}created",
            f"{self.updated:,} updated",
            f"{self.unchanged:,} unchanged",
        ]
        if replace or self.removed:
            noun = "property" if self.removed == 1 else "properties"
            parts.append(f"{self.removed:,} {noun} removed")
        parts.append(f"{self.rejected:,} rejected")
        return f"{name}: " + ", ".join(parts)
