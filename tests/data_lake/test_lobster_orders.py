"""The LOBSTER importer's level-3 ``orders`` table: events, displayed level size, quarantine."""

from __future__ import annotations

import math
from pathlib import Path

from data_lake.lake import Lake
from data_lake.sources.lobster import import_lobster
from tests.data_lake.helpers import FIXTURES, assert_accounted, lake_digest, quarantine_rows

STEM = "GOOG_2012-06-21_34200000_57600000"
GOOG = [FIXTURES / f"{STEM}_message_2.csv", FIXTURES / f"{STEM}_orderbook_2.csv"]


def _pair(tmp_path: Path, messages: list[str], books: list[str]) -> list[Path]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    msg = tmp_path / f"{STEM}_message_2.csv"
    book = tmp_path / f"{STEM}_orderbook_2.csv"
    msg.write_text("\n".join(messages) + "\n")
    book.write_text("\n".join(books) + "\n")
    return [msg, book]


def test_order_events_carry_id_side_and_the_level_size_after_them(tmp_path: Path) -> None:
    lake = Lake.at(tmp_path)
    assert_accounted(import_lobster(lake, GOOG))
    orders = lake.frame("orders", symbol="GOOG", venue="lobster")
    # The hidden execution (type 5, order id 0) is a trade, not an order event.
    assert orders["event"].tolist() == ["add", "execute", "delete", "add"]
    assert orders["order_id"].tolist() == [11, 11, 11, 12]
    assert orders["seq"].tolist() == [1, 2, 4, 5]
    assert orders["side"].tolist() == [-1, -1, -1, -1]  # sell limit orders rest on the ask
    assert orders["price"].tolist() == [580.0, 580.0, 580.0, 580.1]
    assert orders["size"].tolist() == [100.0, 40.0, 60.0, 50.0]
    # After the delete the ask side is empty: the level emptied (0), it is not unknown.
    assert orders["level_size"].tolist() == [100.0, 60.0, 0.0, 50.0]


def test_malformed_order_messages_are_quarantined_and_unseen_levels_are_null(
    tmp_path: Path,
) -> None:
    book = "5800000,100,5790000,200,5810000,10,5780000,300"
    paths = _pair(
        tmp_path / "in",
        [
            "34200.1,1,21,100,5800000,-1",
            "34200.2,1,22,30,5820000,-1",  # beyond the two ask levels the file shows
            "34200.3,1,23,0,5790000,1",  # an add of size 0
            "34200.4,3,-5,10,5790000,1",  # a delete of a negative order id
            "34200.5,3,21,100,5800000,-1",
        ],
        [book, book, book, book, "5810000,10,5790000,200,9999999999,0,5780000,300"],
    )
    lake = Lake.at(tmp_path / "home")
    report = import_lobster(lake, paths)
    assert_accounted(report)
    assert report.quarantined_by_table == {"orders": 2}
    rows = {int(r["line"]): r for r in quarantine_rows(lake)}
    assert sorted(rows) == [3, 4]
    assert str(rows[3]["reason"]).startswith("non-positive price or size: add of order 23")
    assert "delete of order -5" in str(rows[4]["reason"])
    assert {str(r["table"]) for r in rows.values()} == {"orders"}
    orders = lake.frame("orders", symbol="GOOG")
    assert orders["order_id"].tolist() == [21, 22, 21]
    level = orders["level_size"].tolist()
    assert level[0] == 100.0 and math.isnan(level[1]) and level[2] == 0.0


def test_reimport_leaves_the_orders_partition_byte_identical(tmp_path: Path) -> None:
    lake = Lake.at(tmp_path)
    import_lobster(lake, GOOG)
    before = lake_digest(lake)
    assert any(path.startswith("orders/") for path in before)
    import_lobster(lake, GOOG)
    assert lake_digest(lake) == before
