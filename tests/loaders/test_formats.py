"""JSONL, Parquet, a BOM, and mapping files."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kgrec.errors import DataValidationError
from kgrec.graph import GraphStore
from kgrec.loaders import ChunkReader, ColumnMapping
from kgrec.loaders.checks import RowChecks
from kgrec.loaders.constants import MISSING
from kgrec.settings import Settings
from kgrec.typing import MAX_TS
from tests.utils.loaders import rejects_of, run, write


def test_jsonl_with_lists_and_numbers(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "products.jsonl",
        """
        {"id": 1, "title": "One", "price": 3.5, "category_ids": ["a", "b"], "color": "red"}
        {"id": 2, "title": "Two", "price": -1}
        """,
    )
    report = run(store, settings, {"products": path})
    assert report.counts["products"].created == 1
    assert [r["reason"].split(":")[0] for r in rejects_of(report)] == ["negative price"]
    props = store.nodes_by_id("Product", ["1"])["1"]
    assert props["color"] == "red" and props["price"] == 3.5
    assert store.count_relationships()["IN_CATEGORY"] == 2


def test_parquet_products_and_interactions(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    products = tmp_path / "p.parquet"
    pd.DataFrame({"id": ["p1", "p2"], "title": ["A", "B"], "in_stock": [True, False]}).to_parquet(
        products
    )
    users = tmp_path / "u.parquet"
    pd.DataFrame({"id": ["u1"], "age": [33]}).to_parquet(users)
    events = tmp_path / "e.parquet"
    pd.DataFrame(
        {"user_id": ["u1", "u1"], "product_id": ["p1", "p2"], "kind": ["view", "purchase"],
         "ts": [1, 2]}
    ).to_parquet(events)  # fmt: skip
    report = run(store, settings, {"products": products, "users": users, "interactions": events})
    assert report.exit_code == 0
    assert store.count_relationships()["INTERACTED"] == 2
    assert store.nodes_by_id("User", ["u1"])["u1"]["age"] == 33
    assert store.nodes_by_id("Product", ["p2"])["p2"]["in_stock"] is False


def test_parquet_timestamps_are_epoch_seconds(tmp_path: Path) -> None:
    """Datetime columns were read as their raw microsecond or nanosecond counts."""
    path = tmp_path / "e.parquet"
    day = pd.Timestamp("2024-01-01T00:00:00Z")
    pd.DataFrame(
        {
            "utc": pd.Series([day, pd.NaT], dtype="datetime64[us, UTC]"),
            "paris": pd.Series([day, day]).dt.tz_convert("Europe/Paris"),
            "naive": pd.Series([day, day + pd.Timedelta(seconds=1.5)]).dt.tz_localize(None),
        }
    ).to_parquet(path)
    (frame,) = ChunkReader(path, 10).chunks()
    checks = RowChecks(frame)
    seconds = int(day.timestamp())
    assert checks.timestamp("utc").fillna(-1).tolist() == [seconds, -1]
    assert checks.timestamp("paris").tolist() == [seconds, seconds]
    assert checks.timestamp("naive").tolist() == [seconds, seconds + 1]  # naive: UTC
    assert checks.reason.isna().tolist() == [True, False] and checks.reason[1] == MISSING


def test_a_millisecond_or_pre_1970_timestamp_is_refused_as_the_api_refuses_it() -> None:
    """1.7e12 was read as Unix seconds, the year 55000, that the API's events refuse."""
    frame = pd.DataFrame(
        {"ts": [1_700_000_000, 1_700_000_000_000, MAX_TS, MAX_TS + 1, -1, "1969-12-31"]}
    )
    checks = RowChecks(frame)
    assert checks.timestamp("ts").fillna(-9).tolist() == [1_700_000_000, -9, MAX_TS, -9, -9, -9]
    reasons = checks.reason.tolist()
    assert pd.isna(reasons[0])
    assert "milliseconds? divide by 1000" in reasons[1] and "'1700000000000'" in reasons[1]
    assert "after the year 9999" in reasons[3]
    assert reasons[4].endswith("is before 1970") and reasons[5].endswith("is before 1970")


def test_parquet_integers_with_nulls_stay_exact(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    """An int64 column with a null was read as floats: 2**53 + 1 became ...992."""
    big = 2**53 + 1
    path = tmp_path / "p.parquet"
    pq.write_table(
        pa.table(
            {
                "id": ["p1", "p2"],
                "title": ["A", "B"],
                "brand_id": pa.array([big, None], pa.int64()),
                "qty": pa.array([big, None], pa.int64()),
            }
        ),
        path,
    )
    assert run(store, settings, {"products": path}).exit_code == 0
    assert store.existing_ids("Brand", [str(big), str(big - 1)]) == {str(big)}
    products = store.nodes_by_id("Product", ["p1", "p2"])
    assert products["p1"]["qty"] == big and "qty" not in products["p2"]


def test_a_parquet_decimal_attribute_is_stored_as_a_float(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    """A Decimal stopped the import with the driver's error and no summary."""
    path = tmp_path / "p.parquet"
    cost = pa.array([Decimal("5.10"), None], pa.decimal128(10, 2))
    pq.write_table(pa.table({"id": ["p1", "p2"], "title": ["A", "B"], "cost": cost}), path)
    assert run(store, settings, {"products": path}).counts["products"].created == 2
    products = store.nodes_by_id("Product", ["p1", "p2"])
    assert products["p1"]["cost"] == 5.1 and "cost" not in products["p2"]


def test_utf8_bom_is_accepted(store: GraphStore, settings: Settings, tmp_path: Path) -> None:
    path = write(tmp_path, "brands.csv", "id,name\nb1,Müller", encoding="utf-8-sig")
    report = run(store, settings, {"brands": path})
    assert report.counts["brands"].created == 1
    assert store.nodes_by_id("Brand", ["b1"])["b1"]["name"] == "Müller"


def test_mapping_renames_keeps_and_types(
    store: GraphStore, settings: Settings, tmp_path: Path
) -> None:
    mapping_file = write(
        tmp_path,
        "mapping.toml",
        """
        [products]
        rename = { sku = "id", name = "title", maker = "brand_id", cost = "price" }
        keep = ["weight_g"]
        types = { weight_g = "float" }
        [interactions]
        rename = { customer = "user_id", item = "product_id", event = "kind", time = "ts" }
        kinds = { order = "purchase" }
        """,
    )
    products = write(
        tmp_path, "export.csv", "sku,name,maker,cost,weight_g,internal\nA1,Kettle,acme,20,850,x"
    )
    users = write(tmp_path, "users.csv", "id\nc1")
    events = write(tmp_path, "events.csv", "customer,item,event,time\nc1,A1,order,99")
    mapping = ColumnMapping.load(mapping_file)
    report = run(
        store,
        settings,
        {"products": products, "users": users, "interactions": events},
        mapping=mapping,
    )
    assert report.exit_code == 0, rejects_of(report)
    props = store.nodes_by_id("Product", ["A1"])["A1"]
    assert props["title"] == "Kettle" and props["weight_g"] == 850.0
    assert "internal" not in props
    assert store.count_relationships()["HAS_BRAND"] == 1
    frame = store.cypher("MATCH ()-[i:INTERACTED]->() RETURN i.kind AS kind")
    assert frame["kind"].tolist() == ["purchase"]


def test_bad_mapping_file_names_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, "m.toml", "[prodcts]\nrename = {}")
    with pytest.raises(DataValidationError, match="prodcts"):
        ColumnMapping.load(path)
