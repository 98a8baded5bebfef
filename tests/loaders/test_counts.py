"""The import summary's line per entity kind."""

from __future__ import annotations

from kgrec.loaders.counts import EntityCounts


def test_a_kind_the_files_did_not_hold_says_so() -> None:
    assert EntityCounts().summary("kg", dry_run=False, relationships=True) == "kg: no rows"
    one = EntityCounts(created=1, rows=1)
    assert one.summary("kg", dry_run=False, relationships=True) == (
        "kg: 1 row, 1 relationship created, 0 updated, 0 unchanged, 0 rejected"
    )
    brands = EntityCounts(created=2)  # derived from product rows: no rows of their own
    assert brands.summary("brands", dry_run=False) == (
        "brands: 2 created, 0 updated, 0 unchanged, 0 rejected"
    )
