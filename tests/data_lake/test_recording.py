"""The Hyperliquid recorder: rotating files that survive crashes and disconnects, and
whose output round-trips through ``lake import hyperliquid``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from data_lake.cli import app
from data_lake.lake import Lake
from data_lake.recording import HyperliquidRecorder, RotatingLineWriter, recover_partials
from data_lake.sources.hyperliquid import import_hyperliquid
from tests.trader.hyperliquid.server import FakeHyperliquid

_H = 3_600_000_000_000
T0 = 1_767_225_600_000_000_000  # 2026-01-01 00:00 UTC


def test_writer_rotates_hourly_and_renames_closed_files(tmp_path: Path) -> None:
    w = RotatingLineWriter(tmp_path, "hl")
    for i in range(3):
        w.write(T0 + i, '{"a":1}')
    w.write(T0 + _H + 5, '{"b":2}')  # next hour: the first file is finished
    assert len(w.finished) == 1 and w.finished[0].suffix == ".txt"
    assert len(list(tmp_path.glob("*.part"))) == 1
    files = w.close()
    assert w.close() == files  # idempotent
    assert [p.name for p in files] == ["hl_20260101T000000.txt", "hl_20260101T010000.txt"]
    assert files[0].read_text().splitlines() == [f"{T0 + i} {{\"a\":1}}" for i in range(3)]
    assert not list(tmp_path.glob("*.part"))
    with pytest.raises(ValueError, match="one line"):
        RotatingLineWriter(tmp_path, "x").write(T0, "{\n}")


def test_crash_mid_write_is_recovered_whole_lines_only(tmp_path: Path) -> None:
    part = tmp_path / "hl_20260101T000000.txt.part"
    part.write_bytes(b'1 {"a":1}\n2 {"a":2}\n3 {"a"')  # killed mid-line
    (tmp_path / "hl_empty.txt.part").write_bytes(b'4 {"a')
    recovered = recover_partials(tmp_path)
    assert [p.name for p in recovered] == ["hl_20260101T000000.txt"]
    assert recovered[0].read_bytes() == b'1 {"a":1}\n2 {"a":2}\n'
    assert recover_partials(tmp_path) == []  # idempotent
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hl_20260101T000000.txt"]
    # A writer starting in that directory recovers before writing.
    part.write_bytes(b'5 {"a":5}\n6')
    w = RotatingLineWriter(tmp_path, "hl")
    assert [p.name for p in w.recovered] == ["hl_20260101T000000~1.txt"]


def test_recording_survives_a_disconnect_and_round_trips(tmp_path: Path) -> None:
    out = tmp_path / "raw"

    async def scenario(hl: FakeHyperliquid) -> list[Path]:
        rec = HyperliquidRecorder(hl.ws_url, ["BTC"], out, ping_interval_s=0.1,
                                  silence_s=1.0, backoff_base_s=0.02, backoff_cap_s=0.1)
        task = asyncio.create_task(rec.run())
        while rec.frames < 30:
            await asyncio.sleep(0.02)
        hl.drop_connections()
        while rec.connects < 2 or rec.frames < 60:
            await asyncio.sleep(0.02)
        rec.stop()
        files = await task
        assert rec.connects >= 2
        return files

    with FakeHyperliquid(interval_s=0.01) as hl:
        files = asyncio.run(scenario(hl))
        sent = list(hl.sent)
    assert len(files) == 1 and files[0].suffix == ".txt"
    lines = files[0].read_text().splitlines()
    payloads = [ln.split(" ", 1)[1] for ln in lines]
    data = [p for p in payloads if '"subscriptionResponse"' not in p]
    # Every frame received is in the file, in order, once. The server counts as sent
    # the frames in flight on the connection it drops, which no client can receive: a
    # few may be missing there, and only there.
    assert len(data) >= 50
    missing, i = [], 0
    for frame in data:  # data must be sent, in order, with frames skipped only at a gap
        while i < len(sent) and sent[i] != frame:
            missing.append(i)
            i += 1
        assert i < len(sent), "a recorded frame the server never sent (or out of order)"
        i += 1
    assert len(missing) <= 5, missing
    assert not missing or missing[-1] - missing[0] < 10  # one gap, at the drop

    lake = Lake.at(tmp_path / "home")
    report = import_hyperliquid(lake, files)
    assert not report.errors
    subs = sum('"subscriptionResponse"' in p for p in payloads)
    assert subs >= 6 and subs % 3 == 0  # three subscriptions per connection
    assert report.quarantined == {"unknown stream": subs}
    msgs = [orjson.loads(p) for p in data]
    books = [m["data"] for m in msgs if m["channel"] == "l2Book"]
    trades = {t["tid"]: t for m in msgs if m["channel"] == "trades" for t in m["data"]}
    ctxs = [m["data"] for m in msgs if m["channel"] == "activeAssetCtx"]
    book = lake.read("book", symbol="BTC", venue="hyperliquid").to_pylist()
    assert [r["ts"] for r in book] == [b["time"] * 1_000_000 for b in books]
    assert [r["bid_px"][0] for r in book] == [float(b["levels"][0][0]["px"]) for b in books]
    rows = lake.read("trades", symbol="BTC", venue="hyperliquid").to_pylist()
    assert {r["trade_id"] for r in rows} == {str(t) for t in trades}
    for r in rows:
        t = trades[int(r["trade_id"])]
        assert (r["price"], r["size"], r["side"]) == (float(t["px"]), float(t["sz"]),
                                                      1 if t["side"] == "B" else -1)
    funding = lake.read("funding", symbol="BTC", venue="hyperliquid").to_pylist()
    assert [r["rate"] for r in funding] == [float(c["ctx"]["funding"]) for c in ctxs]


def test_cli_records_for_a_duration(tmp_path: Path) -> None:
    with FakeHyperliquid(interval_s=0.01) as hl:
        result = CliRunner().invoke(app, ["record", "hyperliquid", "--coins", "BTC",
                                          "--out", str(tmp_path), "--url", hl.ws_url,
                                          "--duration", "0.5"])
    assert result.exit_code == 0, result.output
    files = sorted(tmp_path.glob("hyperliquid_BTC_*.txt"))
    assert len(files) == 1 and "lake import hyperliquid" in result.output
    assert sum(1 for _ in files[0].open()) > 10
    bad = CliRunner().invoke(app, ["record", "binance", "--coins", "BTC"])
    assert bad.exit_code == 2 and "only 'hyperliquid'" in bad.output
