"""The lake's tables, each defined once as a pyarrow schema (docs/architecture.md §1).

Timestamps are int64 nanoseconds UTC; prices and sizes float64. The hive partition
keys ``venue``, ``symbol`` and ``date`` live in the directory names, not in the files:
the DuckDB views and the readers add them back as columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

__all__ = [
    "BACKTESTS",
    "BBO",
    "BOOK",
    "DEFAULT_BOOK_DEPTH",
    "DERIVED_TABLES",
    "FUNDING",
    "MID_1S",
    "ORDERS",
    "ORDER_EVENTS",
    "PARTITION_KEYS",
    "QUARANTINE",
    "RV_5M",
    "TABLES",
    "TRADES",
    "VOLUME_1H",
    "TableSpec",
    "spec",
]

PARTITION_KEYS: tuple[str, str, str] = ("venue", "symbol", "date")
DEFAULT_BOOK_DEPTH = 20

_f64 = pa.float64()
_i64 = pa.int64()
_levels = pa.list_(pa.float64())


@dataclass(frozen=True)
class TableSpec:
    """One lake table: its file schema, its sort order and its deduplication key.

    ``key`` identifies a row across re-imports: rows with an equal key are the same
    observation, and a merge keeps the newest copy (``keep="last"``) or, for tables
    whose rows carry an ingestion time, the first one (``keep="first"``), so that a
    re-import leaves the partition byte-identical. ``sort`` must be a total order on
    deduplicated rows (it extends the key), so the file content is a function of the
    row set alone.
    """

    name: str
    schema: pa.Schema
    key: tuple[str, ...]
    sort: tuple[str, ...]
    keep: str = "last"

    def empty(self) -> pa.Table:
        return self.schema.empty_table()


TRADES = TableSpec(
    name="trades",
    schema=pa.schema(
        [
            pa.field("ts", _i64, nullable=False),  # exchange time, ns UTC
            pa.field("price", _f64, nullable=False),
            pa.field("size", _f64, nullable=False),  # base-asset units
            pa.field("side", pa.int8(), nullable=False),  # +1 buy aggressor, -1 sell
            pa.field("trade_id", pa.string(), nullable=False),
            pa.field("recv_ts", _i64),  # local receive time, ns UTC (null if unknown)
        ]
    ),
    key=("trade_id",),
    sort=("ts", "trade_id"),
)

BOOK = TableSpec(
    name="book",
    schema=pa.schema(
        [
            pa.field("ts", _i64, nullable=False),
            pa.field("seq", _i64, nullable=False),  # venue sequence id (or a counter)
            pa.field("bid_px", _levels, nullable=False),  # best first
            pa.field("bid_sz", _levels, nullable=False),
            pa.field("ask_px", _levels, nullable=False),  # best first
            pa.field("ask_sz", _levels, nullable=False),
            pa.field("recv_ts", _i64),
        ]
    ),
    key=("ts", "seq"),
    sort=("ts", "seq"),
)

BBO = TableSpec(
    name="bbo",
    schema=pa.schema(
        [
            pa.field("ts", _i64, nullable=False),
            pa.field("seq", _i64, nullable=False),
            pa.field("bid_px", _f64, nullable=False),
            pa.field("bid_sz", _f64, nullable=False),
            pa.field("ask_px", _f64, nullable=False),
            pa.field("ask_sz", _f64, nullable=False),
            pa.field("recv_ts", _i64),
        ]
    ),
    key=("ts", "seq"),
    sort=("ts", "seq"),
)

FUNDING = TableSpec(
    name="funding",
    schema=pa.schema(
        [
            pa.field("ts", _i64, nullable=False),
            pa.field("rate", _f64, nullable=False),  # per interval, as published
            pa.field("interval_s", _i64, nullable=False),
            pa.field("mark_px", _f64),
            pa.field("oracle_px", _f64),
            pa.field("recv_ts", _i64),
        ]
    ),
    key=("ts",),
    sort=("ts",),
)

ORDER_EVENTS: tuple[str, ...] = ("add", "cancel", "delete", "execute")
"""Values of ``orders.event``: a new order, a partial cancel (size down, priority kept),
a delete of the rest, a visible execution against the order (size = qty executed)."""

# Level-3 (per-order) events, where the source has them (LOBSTER); one row per message.
# ``seq`` is the message's row in its file, which also orders events sharing a ``ts``.
# ``level_size`` is the displayed size at (side, price) right after the event, from the
# source's book: it tells a fit whether the orders it has seen make up the whole level.
ORDERS = TableSpec(
    name="orders",
    schema=pa.schema(
        [
            pa.field("ts", _i64, nullable=False),  # exchange time, ns UTC
            pa.field("seq", _i64, nullable=False),  # row in the source file
            pa.field("order_id", _i64, nullable=False),
            pa.field("event", pa.string(), nullable=False),  # one of ORDER_EVENTS
            pa.field("side", pa.int8(), nullable=False),  # +1 bid (buy order), -1 ask
            pa.field("price", _f64, nullable=False),  # quote currency
            pa.field("size", _f64, nullable=False),  # base units added, cancelled, executed
            pa.field("level_size", _f64),  # displayed at (side, price) after; null: unseen
        ]
    ),
    key=("ts", "seq"),
    sort=("ts", "seq"),
)

QUARANTINE = TableSpec(
    name="quarantine",
    schema=pa.schema(
        [
            pa.field("ts", _i64),  # exchange time of the row when it could be read
            pa.field("table", pa.string(), nullable=False),  # table the row was meant for
            pa.field("source", pa.string(), nullable=False),  # file the row came from
            pa.field("line", _i64, nullable=False),  # 1-based line (or row) in that file
            pa.field("raw", pa.string(), nullable=False),  # the row as read (truncated)
            pa.field("reason", pa.string(), nullable=False),
            pa.field("ts_ingested", _i64, nullable=False),
        ]
    ),
    key=("source", "line", "table", "reason"),
    sort=("source", "line", "table", "reason"),
    keep="first",  # the first quarantine of a row keeps its ts_ingested on re-import
)

# Derived tables: small per-partition summaries of a checked symbol-day, written by the
# assets (assets/derived.py) so multi-day fits read days of history without rescanning
# ticks (docs/architecture.md §1). Each is a pure function of its day's source tables.

MID_1S = TableSpec(
    name="mid_1s",
    schema=pa.schema(
        [
            pa.field("ts", _i64, nullable=False),  # start of the second, ns UTC
            pa.field("mid", _f64, nullable=False),  # mid prevailing at ts (previous tick)
        ]
    ),
    key=("ts",),
    sort=("ts",),
)

RV_5M = TableSpec(
    name="rv_5m",
    schema=pa.schema(
        [
            pa.field("ts", _i64, nullable=False),  # bar start, ns UTC
            pa.field("rv", _f64, nullable=False),  # sum of squared 1 s log returns (decimal)
            pa.field("ret", _f64, nullable=False),  # bar log return (decimal)
            pa.field("n_returns", _i64, nullable=False),  # 1 s returns in the bar
            pa.field("quarticity", _f64, nullable=False),  # sum of r^4
            pa.field("ac1", _f64, nullable=False),  # sum of r_t r_{t+1} inside the bar
            pa.field("bipower", _f64, nullable=False),  # pi/2 sum |r_t||r_{t+1}| (decimal)
        ]
    ),
    key=("ts",),
    sort=("ts",),
)

VOLUME_1H = TableSpec(
    name="volume_1h",
    schema=pa.schema(
        [
            pa.field("ts", _i64, nullable=False),  # hour start, ns UTC
            pa.field("volume", _f64, nullable=False),  # traded volume, base units
            pa.field("n_trades", _i64, nullable=False),
            pa.field("exposure_h", _f64, nullable=False),  # hours of the day observed
        ]
    ),
    key=("ts",),
    sort=("ts",),
)

DERIVED_TABLES: tuple[TableSpec, ...] = (MID_1S, RV_5M, VOLUME_1H)

# One row per backtest run (trader backtest, the nightly backtest), partitioned by the
# backtested window's first day (data_lake/backtests.py writes it). ``run_id`` hashes the
# run's inputs, so the same backtest twice is one row; the first keeps its created_at and
# a rerun leaves the partition byte-identical. P&L in quote currency.
BACKTESTS = TableSpec(
    name="backtests",
    schema=pa.schema(
        [
            pa.field("ts", _i64, nullable=False),  # window start, ns UTC (the partition day)
            pa.field("run_id", pa.string(), nullable=False),  # hash of the run's inputs
            pa.field("created_at", _i64, nullable=False),  # ns UTC, the first run's
            pa.field("param_version", pa.string()),  # registry version; null for a file
            pa.field("param_hash", pa.string(), nullable=False),  # param set content hash
            pa.field("window_start_ns", _i64, nullable=False),
            pa.field("window_end_ns", _i64, nullable=False),  # exclusive
            pa.field("settings_json", pa.string(), nullable=False),  # trader settings
            pa.field("overrides_json", pa.string(), nullable=False),  # strategy overrides
            pa.field("spread_capture", _f64, nullable=False),
            pa.field("adverse_selection", _f64, nullable=False),
            pa.field("inventory_carry", _f64, nullable=False),
            pa.field("funding", _f64, nullable=False),
            pa.field("fees", _f64, nullable=False),
            pa.field("total", _f64, nullable=False),  # the five parts' sum
            pa.field("fills", _i64, nullable=False),
            pa.field("fill_ratio", _f64, nullable=False),  # filled / quoted size
            pa.field("max_drawdown", _f64, nullable=False),
            pa.field("time_at_limit_s", _f64, nullable=False),
            pa.field("score", _f64),  # mean/std of 60 s P&L; null when not estimable
            pa.field("score_stderr", _f64),
            pa.field("events", _i64, nullable=False),
            pa.field("fallbacks_json", pa.string(), nullable=False),
            pa.field("code_version", pa.string(), nullable=False),
            pa.field("png_path", pa.string()),  # equity-curve picture, if written
        ]
    ),
    key=("run_id",),
    sort=("ts", "run_id"),
    keep="first",
)

TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (TRADES, BOOK, BBO, FUNDING, ORDERS, QUARANTINE, *DERIVED_TABLES, BACKTESTS)
}


def spec(table: str) -> TableSpec:
    """The spec of a lake table, or a ValueError naming the known ones."""
    try:
        return TABLES[table]
    except KeyError:
        raise ValueError(
            f"unknown lake table {table!r}; known tables: {', '.join(sorted(TABLES))}"
        ) from None
