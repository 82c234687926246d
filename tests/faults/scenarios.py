"""The operations killed by the crash-point suite, each with its old state and its readers.

Every observer reads the home the way a user does and raises on a broken reader:
the DuckDB catalog views (``Lake.sql``, what ``lake sql`` runs), the Parquet reader
(``Lake.read``) and the param registry (``latest``, every version re-validated, the
decisions log). The values they return must equal the old state or the new state.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable
from pathlib import Path

from data_lake.lake import Lake
from data_lake.paths import LakePaths
from data_lake.quality import CheckOutcome
from data_lake.quality_store import fingerprints, load_quality, save_quality
from data_lake.registry import ParamRegistry
from data_lake.sources import get_importer
from tests.data_lake.helpers import FIXTURES
from tests.data_lake.test_params import make_document
from tests.faults.crashkit import Scenario

LAKE_TABLES = ("trades", "book", "bbo", "quarantine")
FIRST = FIXTURES / "binance_small.txt"
SECOND = FIXTURES / "binance_malformed.txt"  # new trades, books, bbo and bad lines
DAY = dt.date(2024, 8, 9)


def _import(home: Path, path: Path) -> None:
    get_importer("binance")(Lake.at(home), [path])


def observe_lake(home: Path) -> Hashable:
    """Rows per table through the catalog views and through the Parquet reader (must agree)."""
    lake = Lake.at(home)
    via_sql = tuple(
        int(lake.sql(f"select count(*) as n from {t}")["n"].iloc[0]) for t in LAKE_TABLES
    )
    via_read = tuple(lake.read(t).num_rows for t in LAKE_TABLES)
    if via_sql != via_read:
        raise AssertionError(f"catalog views {via_sql} disagree with the files {via_read}")
    trade_ids = tuple(sorted(lake.read("trades", columns=["trade_id"])["trade_id"].to_pylist()))
    return via_sql, trade_ids


def _registry(home: Path) -> ParamRegistry:
    return ParamRegistry(LakePaths.at(home))


def observe_registry(home: Path) -> Hashable:
    """LATEST's version (loaded and hash-checked), every version readable, log readable."""
    registry = _registry(home)
    latest = registry.load("BTC").version
    broken = [v.version for v in registry.versions("BTC") if v.error]
    if broken:
        raise AssertionError(f"unreadable versions {broken}")
    registry.decisions("BTC")
    # The catalog's view of the pointer, as `lake sql` shows it.
    view = Lake.at(home).sql("select version from param_latest")["version"].tolist()
    if view and view != [latest]:
        raise AssertionError(f"param_latest view says {view}, LATEST says {latest}")
    return latest


def _setup_lake(home: Path) -> None:
    _import(home, FIRST)


def _setup_empty(home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)


def _setup_published(home: Path) -> None:
    _registry(home).submit(make_document(score=-1.0))


def _publish_second(home: Path) -> None:
    _registry(home).submit(make_document(seed=1, score=-0.9))


def _setup_two_published(home: Path) -> None:
    _setup_published(home)
    _publish_second(home)


def _rollback(home: Path) -> None:
    registry = _registry(home)
    first = registry.version_ids("BTC")[0]
    if registry.latest_version("BTC") != first:  # a rerun after the rollback landed
        registry.rollback("BTC", first, reason="crash test")


def _outcomes(passed: bool) -> list[CheckOutcome]:
    return [CheckOutcome("no_crossed_books", passed, True, "bids below asks", table="trades")]


def _setup_quality(home: Path) -> None:
    _import(home, FIRST)
    paths = LakePaths.at(home)
    files = fingerprints(paths, "binance", "BTCUSDT", DAY, ("trades",))
    save_quality(paths, "binance", "BTCUSDT", DAY, _outcomes(False), files=files)


def _save_quality(home: Path) -> None:
    paths = LakePaths.at(home)
    files = fingerprints(paths, "binance", "BTCUSDT", DAY, ("trades",))
    save_quality(paths, "binance", "BTCUSDT", DAY, _outcomes(True), files=files)


def observe_quality(home: Path) -> Hashable:
    record = load_quality(LakePaths.at(home), "binance", "BTCUSDT", DAY)
    if not record:
        raise AssertionError("the quality record is missing")
    return tuple(bool(r["passed"]) for r in record)


def _refresh(home: Path) -> None:
    Lake.at(home).refresh()
    from data_lake.catalog import refresh_catalog

    refresh_catalog(LakePaths.at(home), force=True)


def lake_rows(state: Hashable) -> int:
    counts, _ = state  # type: ignore[misc]
    return int(sum(counts))


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("import", _setup_lake, lambda h: _import(h, SECOND), observe_lake, lake_rows),
        Scenario(
            "first_import", _setup_empty, lambda h: _import(h, FIRST), observe_lake, lake_rows
        ),
        Scenario("catalog_refresh", _setup_lake, _refresh, observe_lake, lake_rows),
        Scenario("publish", _setup_published, _publish_second, observe_registry),
        Scenario("rollback", _setup_two_published, _rollback, observe_registry),
        Scenario("quality_save", _setup_quality, _save_quality, observe_quality),
    )
}
