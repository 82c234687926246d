"""``lake ... --json``: one plain JSON document on stdout whose figures are the lake's."""

from __future__ import annotations

import datetime as dt
import json
import sys
import types
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import data_lake.sources
from data_lake.cli import app
from data_lake.json_output import dumps_json, ns_iso
from data_lake.lake import Lake
from tests.data_lake.helpers import FIXTURES

SMALL = str(FIXTURES / "binance_small.txt")


def _json(home: Path, *args: str, code: int = 0) -> Any:
    """Run ``lake --home HOME ARGS`` at a narrow terminal width; stdout must be one JSON
    document (nothing else, not wrapped), stderr free of tracebacks."""
    result = CliRunner().invoke(app, ["--home", str(home), *args], env={"COLUMNS": "40"})
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    report = _json(home, "import", "binance", SMALL, "--json")
    accepted, quarantined = sum(report["accepted"].values()), sum(report["quarantined"].values())
    assert report["records_in"] == accepted + quarantined and quarantined > 0
    n = Lake.at(home).sql("select count(*) n from quarantine")["n"].iloc[0]
    assert n == quarantined and report["partitions"]
    return home


def test_ls_json_lists_every_partition_file_with_footer_figures(home: Path) -> None:
    doc = _json(home, "ls", "--json")
    lake = Lake.at(home)
    assert doc["root"] == str(lake.root)
    files = sorted(lake.root.glob("*/venue=*/symbol=*/date=*/data.parquet"))
    assert sorted(Path(p["path"]) for p in doc["partitions"]) == files
    for p in doc["partitions"]:
        path = Path(p["path"])
        assert p["rows"] == pq.ParquetFile(path).metadata.num_rows
        assert p["bytes"] == path.stat().st_size
        assert f"{p['table']}/venue={p['venue']}/symbol={p['symbol']}/date={p['date']}" in str(
            path)
    trades = next(p for p in doc["partitions"] if p["table"] == "trades")
    ts = lake.sql("select min(ts) lo, max(ts) hi from trades").iloc[0]
    assert (trades["first_ts_ns"], trades["last_ts_ns"]) == (int(ts.lo), int(ts.hi))
    assert trades["first_ts"] == ns_iso(int(ts.lo)) and trades["first_ts"].endswith("Z")


def test_ls_json_on_an_empty_lake_is_an_empty_list(tmp_path: Path) -> None:
    assert _json(tmp_path, "ls", "--json")["partitions"] == []


def test_stats_json_counts_and_column_summary_match_sql(home: Path) -> None:
    lake = Lake.at(home)
    doc = _json(home, "stats", "trades", "--json")
    expected = lake.sql("select venue, symbol, count(*) n, min(ts) lo, max(ts) hi from trades "
                        "group by all order by all")
    assert [(s["venue"], s["symbol"], s["rows"], s["first_ts_ns"], s["last_ts_ns"])
            for s in doc["symbols"]] == [
        (r.venue, r.symbol, int(r.n), int(r.lo), int(r.hi))
        for r in expected.itertuples(index=False)]
    assert doc["rows"] == int(expected["n"].sum())
    price = next(c for c in doc["columns"] if c["column_name"] == "price")
    agg = lake.sql("select min(price) lo, max(price) hi, avg(price) m from trades").iloc[0]
    assert isinstance(price["min"], float) and price["min"] == pytest.approx(agg.lo)
    assert price["max"] == pytest.approx(agg.hi) and price["avg"] == pytest.approx(agg.m)
    assert price["null_percentage"] == 0.0
    quarantine = _json(home, "stats", "quarantine", "--json")
    n_quarantined = int(lake.sql("select count(*) n from quarantine")["n"].iloc[0])
    assert sum(r["records"] for r in quarantine["reasons"]) == n_quarantined > 0
    assert _json(home, "stats", "funding", "--json") == {
        "table": "funding", "rows": 0, "symbols": [], "columns": []}


def test_sql_json_flag_is_the_json_format_with_every_row(home: Path) -> None:
    rows = _json(home, "sql", "select ts, price, trade_id from trades order by ts", "--json",
                 "--max-rows", "1")
    frame = Lake.at(home).sql("select ts, price, trade_id from trades order by ts")
    assert rows == [{"ts": int(r.ts), "price": float(r.price), "trade_id": r.trade_id}
                    for r in frame.itertuples(index=False)]


def test_verify_json_reports_a_corrupt_file_and_exits_2(home: Path) -> None:
    assert _json(home, "verify", "--json") == {
        "root": str(Lake.at(home).root), "dry_run": False, "ok": True, "corrupt": [],
        "reports": None}
    target = next(Lake.at(home).root.glob("trades/venue=*/symbol=*/date=*/data.parquet"))
    target.write_bytes(target.read_bytes()[:-20])  # footer cut off
    doc = _json(home, "verify", "--json", "--dry-run", code=2)
    assert not doc["ok"] and [c["path"] for c in doc["corrupt"]] == [str(target)]
    assert doc["corrupt"][0]["moved_to"] is None and doc["corrupt"][0]["problem"]


def test_generate_json_reports_the_generator_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Summary:
        def __init__(self) -> None:
            self.rows = {"trades": 12, "book": 3}

        def to_dict(self) -> dict[str, Any]:
            return {"symbols": ["BTC"], "dates": ["2024-01-01"], "seconds": 0.5}

    fake = types.ModuleType("data_lake.sources.synthetic")
    fake.generate_to_lake = lambda _lake, **_kw: Summary()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "data_lake.sources.synthetic", fake)
    monkeypatch.setattr(data_lake.sources, "synthetic", fake, raising=False)
    doc = _json(tmp_path, "generate", "synthetic", "--symbols", "BTC", "--seed", "3", "--json")
    assert doc["rows"] == {"trades": 12, "book": 3} and doc["seed"] == 3
    assert doc["symbols"] == ["BTC"] and doc["catalog"].endswith("lake.duckdb")


def test_json_output_conventions() -> None:
    import numpy as np
    import pandas as pd

    ts = 1_767_571_200_123_456_789
    assert ns_iso(ts) == "2026-01-05T00:00:00.123456789Z"
    text = dumps_json({"a": np.float64(1.5), "b": np.int64(3), "c": float("inf"),
                       "d": np.nan, "e": pd.Timestamp(ts, unit="ns"), "f": dt.date(2026, 1, 5),
                       "g": Path("/x"), "h": np.array([1.0, 2.0]), 7: "int key"})
    assert json.loads(text) == {"a": 1.5, "b": 3, "c": None, "d": None,
                                "e": "2026-01-05T00:00:00.123456789Z", "f": "2026-01-05",
                                "g": "/x", "h": [1.0, 2.0], "7": "int key"}
    with pytest.raises(TypeError, match="not JSON serializable"):
        dumps_json({"x": object()})
