"""Benchmark: events per second of our backtest loop, beside hftbacktest in the same run.

Issue 12. Single core, best of ``--repeats`` (3), numba compilation excluded (one
warm-up run first). Ours:

- **replay**: the loop with a strategy that never quotes, woken every 100 ms (the
  replay alone, hftbacktest's ``elapse(100 ms)`` loop);
- **glft**: :func:`trader.strategy.glft_quote` with a fixed :class:`StrategyParams`,
  requoting on every book or bbo update that reaches us and every 100 ms; 10 ms + 10 ms
  latency, risk-averse queue, post-only, maker 0 / taker 5 bps.

On two event sets: the real Binance BTCUSDT sample (its lake import: trades, book rows
at every depth diff, bbo rows from bookTicker) and one synthetic BTC day of about
1,000,000 trades (book every 100 ms, as ``bench_synthetic.py``). hftbacktest runs in its
venv on its converter's events of the same Binance file (``run_peer.py``: ``replay``,
``glft`` every 100 ms, ``glft_feed`` on every feed event and every 100 ms) in the same
process window, since this machine's speed drifts between runs.

The two engines count events differently for the same market data: hftbacktest one per
depth level change and trade (466,836 on the Binance file), ours one per trade and per
book or bbo row (a depth diff message of ~70 levels is one row). The table gives both
rates: ``events/s`` in the engine's own count, and ``file events/s`` = hftbacktest's
count of the Binance file over the wall time, the like-for-like rate on that file.

Run: .venv/bin/python bench/bench_backtest.py [--trades 1000000] [--repeats 3]
     [--home DIR] [--no-peer] [--no-synthetic]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numba import njit

from data_lake.lake import Lake
from data_lake.sources.binance import import_binance
from data_lake.sources.synthetic import DEFAULT_MARKET, generate_symbol_day, write_book
from data_lake.sources.synthetic.flow import hawkes_expectation
from data_lake.writer import PartitionKey
from trader.market_state import OUT_ASK_PX, OUT_ASK_SZ, OUT_BID_PX, OUT_BID_SZ
from trader.sim import BacktestConfig, BacktestResult, EventStream, load_events, run_backtest
from trader.strategy import StrategyParams, glft_quote

REPO = Path(__file__).resolve().parents[1]
PEER_DIR = REPO / "bench/peer_hftbacktest"
PEER_PY = REPO / "bench/.venv-hftbacktest/bin/python"
RAW = REPO.parent / "shared/data/real/binance_usdm_20240808/btcusdt_20240808.gz"
NPZ = REPO / "bench/out/btcusdt_20240808.npz"
BINANCE_WINDOW = (1_723_075_200_000_000_000, 1_723_248_000_000_000_000)
INTERVAL_NS = 100_000_000
LATENCY_NS = 10_000_000
TARGET_EVENTS_PER_S = 1_000_000


@njit(cache=True)
def no_quote(state: np.ndarray, params: np.ndarray, out: np.ndarray) -> None:
    """The replay's strategy: never quotes."""
    out[OUT_BID_PX] = np.nan
    out[OUT_BID_SZ] = 0.0
    out[OUT_ASK_PX] = np.nan
    out[OUT_ASK_SZ] = 0.0


def glft_params(tick: float, lot: float) -> np.ndarray:
    """A fixed BTC-like GLFT set (0.001 BTC quotes, +-0.02 BTC), packed."""
    return StrategyParams(
        gamma=0.05, order_size=0.001, max_position=0.02, tick_size=tick, lot_size=lot,
        kappa_bid_per_bps=0.5, kappa_ask_per_bps=0.5, A_bid_per_s=1.0, A_ask_per_s=1.0,
        sigma_bid_bps_per_sqrt_s=1.0, sigma_ask_bps_per_sqrt_s=1.0,
        as_addon_depth_bps=(0.0, 5.0), as_addon_bps=(0.5, 0.2),
    ).to_array()


@dataclass(frozen=True)
class Row:
    """One line of the table."""

    engine: str
    data: str
    run: str
    events: int
    wall_s: float
    fills: int | None
    requotes: int | None
    file_events: int | None = None

    @property
    def rate(self) -> float:
        return self.events / self.wall_s

    @property
    def file_rate(self) -> float | None:
        return None if self.file_events is None else self.file_events / self.wall_s


def best_of(events: EventStream, strategy: Any, params: np.ndarray, config: BacktestConfig,
            repeats: int) -> tuple[float, BacktestResult]:
    """Best wall time of ``repeats`` runs after one warm-up (compile) run."""
    result = run_backtest(events, strategy, params, config)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = run_backtest(events, strategy, params, config)
        best = min(best, time.perf_counter() - t0)
    return best, result


def bench_ours(events: EventStream, data: str, tick: float, lot: float, repeats: int,
               file_events: int | None) -> list[Row]:
    """Replay alone and GLFT on one event set."""
    common = dict(tick=tick, lot=lot, taker_fee_bps=5.0, entry_latency_ns=LATENCY_NS,
                  response_latency_ns=LATENCY_NS, requote_interval_ns=INTERVAL_NS)
    rows = []
    for run, strategy, params, on_book in (
        ("replay (wake every 100 ms)", no_quote, np.zeros(1), False),
        ("glft (every book update + 100 ms)", glft_quote, glft_params(tick, lot), True),
    ):
        config = BacktestConfig(requote_on_book=on_book, **common)  # type: ignore[arg-type]
        wall, res = best_of(events, strategy, params, config, repeats)
        rows.append(Row("mmcal", data, run, len(events), wall,
                        res.n_fills if on_book else None, res.requotes, file_events))
    return rows


def binance_events(home: Path) -> EventStream:
    """The Binance sample's lake events, importing the raw file when the lake lacks it."""
    lake = Lake.at(home)
    if lake.read("trades", symbol="BTCUSDT", venue="binance", start_ns=BINANCE_WINDOW[0],
                 end_ns=BINANCE_WINDOW[1]).num_rows == 0:
        import_binance(lake, [RAW], symbol="BTCUSDT")
    return load_events(lake, "binance", "BTCUSDT", *BINANCE_WINDOW)


def synthetic_events(home: Path, trades: int) -> tuple[EventStream, dict[str, int]]:
    """One synthetic BTC day scaled to about ``trades`` trades, written and read back."""
    date = dt.date(2026, 1, 5)
    probe = generate_symbol_day("BTC", date, seed=1, duration_s=3_600.0)
    per_order = probe.rows["trades"] / max(1, probe.orders.n)
    orders = hawkes_expectation(DEFAULT_MARKET.symbol("BTC").hawkes).expected_total
    market = DEFAULT_MARKET.with_snapshot_interval(0.1).with_activity(
        "BTC", trades / (per_order * orders))
    day = generate_symbol_day("BTC", date, seed=7, market=market)
    lake = Lake.at(home)
    key = PartitionKey(market.venue, "BTC", date)
    for name in ("trades", "bbo", "funding"):
        lake.write_day(name, key, day.tables[name], mode="replace", refresh=False)
    write_book(lake, key, day.book)
    lake.refresh()
    start = int(dt.datetime(2026, 1, 5, tzinfo=dt.UTC).timestamp() * 1e9)
    events = load_events(lake, market.venue, "BTC", start, start + 86_400_000_000_000)
    return events, {k: int(v) for k, v in day.rows.items()}


def bench_peer(repeats: int) -> list[Row]:
    """hftbacktest's replay and GLFT runs on the same Binance file, best of ``repeats``."""
    if not PEER_PY.is_file():
        subprocess.run([str(PEER_DIR / "setup.sh")], check=True)
    if not NPZ.is_file():
        subprocess.run([str(PEER_PY), str(PEER_DIR / "convert_binance.py"), "--output", str(NPZ)],
                       check=True)
    out = subprocess.run(
        [str(PEER_PY), str(PEER_DIR / "run_peer.py"), "--data", str(NPZ),
         "--policy", "replay,glft,glft_feed", "--repeats", str(repeats)],
        check=True, capture_output=True, text=True).stdout
    best: dict[str, dict[str, Any]] = {}
    for line in out.splitlines():
        if not line.startswith("{"):
            continue
        rec = json.loads(line)
        if rec["policy"] not in best or rec["wall_s"] < best[rec["policy"]]["wall_s"]:
            best[rec["policy"]] = rec
    labels = {"replay": "replay (elapse 100 ms)", "glft": "glft grid (every 100 ms)",
              "glft_feed": "glft grid (every feed event + 100 ms)"}
    rows = []
    for policy, label in labels.items():
        rec = best[policy]
        wakes = rec.get("glft", {}).get("wakes", rec.get("steps"))
        rows.append(Row("hftbacktest", "binance BTCUSDT", label, rec["events"], rec["wall_s"],
                        rec["fills"] if policy != "replay" else None, wakes, rec["events"]))
    return rows


def _num(x: float | None, fmt: str) -> str:
    return "-" if x is None else format(x, fmt)


def print_table(rows: list[Row]) -> None:
    """Markdown table of every run."""
    print("| engine | data | run | events | wall s | events/s | file events/s | requotes |"
          " fills |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        file_rate = r.file_rate
        print(f"| {r.engine} | {r.data} | {r.run} | {r.events:,} | {r.wall_s:.4f} | "
              f"{r.rate / 1e6:.2f}M | {'-' if file_rate is None else f'{file_rate / 1e6:.2f}M'} | "
              f"{_num(r.requotes, ',')} | {_num(r.fills, ',')} |")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table with its verdict (exit 0 either way, as the
    other benches: figures to read, not a gate)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trades", type=int, default=1_000_000, help="synthetic day's trades")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--home", type=Path, default=None, help="lake home to keep (default: temp)")
    p.add_argument("--no-peer", action="store_true", help="skip hftbacktest")
    p.add_argument("--no-synthetic", action="store_true", help="skip the synthetic day")
    args = p.parse_args(argv)

    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench_backtest_") as tmp:
        home = args.home if args.home is not None else Path(tmp) / "binance"
        have_raw = RAW.is_file()
        peer_rows: list[Row] = []
        if have_raw:
            events = binance_events(home)
            peer_events = None
            if not args.no_peer:
                peer_rows = bench_peer(args.repeats)
                peer_events = peer_rows[0].events
            rows += bench_ours(events, "binance BTCUSDT", 0.1, 0.001, args.repeats, peer_events)
            rows += peer_rows
        else:
            print(f"real sample not found at {RAW}: Binance rows skipped", file=sys.stderr)
        if not args.no_synthetic:
            t0 = time.perf_counter()
            syn, counts = synthetic_events(Path(tmp) / "synthetic", args.trades)
            print(f"synthetic BTC day: {counts['trades']:,} trades, {len(syn):,} events "
                  f"(generated and read back in {time.perf_counter() - t0:.1f} s)")
            rows += bench_ours(syn, f"synthetic BTC {counts['trades'] / 1e6:.2f}M trades",
                               0.1, 1e-5, args.repeats, None)

    load = os.getloadavg()[0]
    print(f"\nsingle core, best of {args.repeats}, compile excluded; load average {load:.1f} "
          f"on {os.cpu_count()} cpus\n")
    print_table(rows)
    ours = [r for r in rows if r.engine == "mmcal"]
    worst = min(ours, key=lambda r: r.rate) if ours else None
    ok = worst is None or worst.rate >= TARGET_EVENTS_PER_S
    peer_glft = [r for r in rows if r.engine == "hftbacktest" and r.run.startswith("glft")]
    our_glft = [r for r in ours if r.data.startswith("binance") and r.run.startswith("glft")]
    if peer_glft and our_glft:
        same = next(r for r in peer_glft if "feed" in r.run)
        ratio = same.wall_s / our_glft[0].wall_s
        print(f"\nGLFT at the same cadence on the same file: ours {our_glft[0].wall_s:.4f} s, "
              f"hftbacktest {same.wall_s:.4f} s ({ratio:.1f}x)")
        ok = ok and ratio >= 1.0
    if worst is not None:
        print(f"slowest of ours: {worst.rate / 1e6:.2f}M events/s in its own count "
              f"({worst.data}, {worst.run}); target >= 1M")
    print("result: " + ("OK" if ok else "UNDER TARGET"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
