"""Cross-check: the touch policy in our backtester and in hftbacktest, same raw file.

Issue 12. Both engines replay the raw Binance USD-M recording
``../shared/data/real/binance_usdm_20240808/btcusdt_20240808.gz``:

- hftbacktest (its own venv, ``bench/.venv-hftbacktest``, through a subprocess) on its
  converter's events, ``run_peer.py --policy simple``;
- ours on the lake import of the same file (``import_binance`` into a temporary
  ``MMCAL_HOME``), :func:`trader.strategy.simple.touch_quote` in
  :func:`trader.sim.run_backtest`.

Same policy (one lot at the best bid and ask, post-only, requoted every 100 ms), the
risk-averse queue, 10 ms entry and 10 ms response latency, the recorded feed latency
(the recorder's clock offset removed), maker 0 / taker 5 bps, tick 0.1, lot 0.001. The
lake's bookTicker rows are left out of the matched run (hftbacktest's converter drops
them); our timer is put on the peer's phase. Further rows change one thing each.

Prints the side-by-side table, a fill-by-fill match (exchange ts, side, price) and each
fill only one engine has, with the events at that instant. Units: USDT, BTC, ns.

Run (from the repo root)::

    .venv/bin/python bench/crosscheck_hftbacktest.py [--home DIR] [--maker-fee-bps 0]

``--home`` keeps the imported lake there (reused on the next run). The peer venv and its
converted ``.npz`` are built when missing (``bench/peer_hftbacktest/setup.sh``,
``convert_binance.py``).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from data_lake.lake import Lake
from data_lake.sources.binance import import_binance
from trader.sim import BacktestConfig, BacktestResult, EventStream, events_from_tables, run_backtest
from trader.sim.config import LATENCY_CONSTANT, LATENCY_RECORDED_FEED, TIF_ALO
from trader.sim.events import KIND_BOOK, KIND_TRADE
from trader.strategy.simple import simple_params, touch_quote

REPO = Path(__file__).resolve().parents[1]
PEER_DIR = REPO / "bench/peer_hftbacktest"
PEER_PY = REPO / "bench/.venv-hftbacktest/bin/python"
DEFAULT_INPUT = REPO.parent / "shared/data/real/binance_usdm_20240808/btcusdt_20240808.gz"
DEFAULT_NPZ = REPO / "bench/out/btcusdt_20240808.npz"
SYMBOL = "BTCUSDT"
VENUE = "binance"
# The recording spans 2024-08-08 23:54 to 2024-08-09 00:00:01 UTC.
WINDOW = (1_723_075_200_000_000_000, 1_723_248_000_000_000_000)
TICK = 0.1
LOT = 0.001
INTERVAL_NS = 100_000_000
LATENCY_NS = 10_000_000
TARGET_REL = 0.10


@dataclass(frozen=True)
class Run:
    """One configuration of our engine: a label and what it changes."""

    label: str
    with_bbo: bool = False
    latency_mode: int = LATENCY_RECORDED_FEED
    feed_latency_ns: int = 0
    phase_aligned: bool = True


RUNS = (
    Run("matched (recorded feed latency, peer's timer phase, no bookTicker)"),
    Run("timer phase 0 instead of the peer's", phase_aligned=False),
    Run("constant feed latency 0", latency_mode=LATENCY_CONSTANT),
    Run("constant feed latency 4 ms (the median)", latency_mode=LATENCY_CONSTANT,
        feed_latency_ns=4_000_000),
    Run("+ bookTicker rows as bbo events", with_bbo=True),
)


def ensure_peer(npz: Path, raw: Path) -> None:
    """Build the peer venv and its converted events when missing."""
    if not PEER_PY.is_file():
        subprocess.run([str(PEER_DIR / "setup.sh")], check=True)
    if not npz.is_file():
        subprocess.run([str(PEER_PY), str(PEER_DIR / "convert_binance.py"), "--input", str(raw),
                        "--output", str(npz)], check=True)


def run_peer(npz: Path, fills_out: Path, maker_fee_bps: float) -> dict[str, Any]:
    """hftbacktest's simple policy through the peer venv; its JSON record."""
    cmd = [str(PEER_PY), str(PEER_DIR / "run_peer.py"), "--data", str(npz), "--policy", "simple",
           "--repeats", "1", "--fills-out", str(fills_out),
           "--maker-fee-bps", str(maker_fee_bps), "--taker-fee-bps", "5"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    records = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    if len(records) != 1:
        raise RuntimeError(f"expected one JSON line from {' '.join(cmd)}, got:\n{out}")
    return records[0]


def lake_with_sample(home: Path, raw: Path) -> Lake:
    """The lake at ``home``, importing the raw file unless its trades are there."""
    lake = Lake.at(home)
    if lake.read("trades", symbol=SYMBOL, venue=VENUE, start_ns=WINDOW[0],
                 end_ns=WINDOW[1]).num_rows == 0:
        import_binance(lake, [raw], symbol=SYMBOL)
    return lake


def lake_events(lake: Lake, with_bbo: bool) -> EventStream:
    """Trades and book (and bbo rows when asked) of the sample as one stream."""
    def read(name: str) -> Any:
        return lake.read(name, symbol=SYMBOL, venue=VENUE, start_ns=WINDOW[0], end_ns=WINDOW[1])

    return events_from_tables(read("trades"), read("book"), read("bbo") if with_bbo else None,
                              None)


def run_ours(events: EventStream, run: Run, phase_ns: int, maker_fee_bps: float) -> BacktestResult:
    """Our engine under one configuration of the cross-check."""
    config = BacktestConfig(
        tick=TICK, lot=LOT, max_modify_ticks=0.0, tif=TIF_ALO,
        maker_fee_bps=maker_fee_bps, taker_fee_bps=5.0,
        latency_mode=run.latency_mode, feed_latency_ns=run.feed_latency_ns,
        entry_latency_ns=LATENCY_NS, response_latency_ns=LATENCY_NS,
        requote_on_book=False, requote_interval_ns=INTERVAL_NS,
        requote_phase_ns=phase_ns if run.phase_aligned else 0,
    )
    return run_backtest(events, touch_quote, simple_params(LOT), config)


def figures_ours(res: BacktestResult) -> dict[str, float]:
    """The compared figures of one of our runs."""
    buy = float(np.sum(res.fill_qty[res.fill_side > 0]))
    sell = float(np.sum(res.fill_qty[res.fill_side < 0]))
    return {
        "fills": res.n_fills, "filled_qty": res.filled_qty, "buy_qty": buy, "sell_qty": sell,
        "final_position": res.final_position, "pnl": res.attribution.total,
        "fees": -res.attribution.fees, "mark_mid": res.final_mid,
        "orders": res.orders_sent, "cancels": res.cancels_sent,
        "rejects_and_late_cancels": res.rejects, "wakes": res.requotes,
    }


def figures_peer(rec: dict[str, Any]) -> dict[str, float]:
    """The same figures from the peer's JSON record."""
    simple = rec["simple"]
    late = simple["cancel_requests"] - simple["seen_canceled"]
    return {
        "fills": rec["fills"], "filled_qty": rec["filled_qty"], "buy_qty": rec["buy_qty"],
        "sell_qty": rec["sell_qty"], "final_position": rec["final_position"], "pnl": rec["pnl"],
        "fees": rec["fees"], "mark_mid": rec["mark_mid"],
        "orders": simple["submitted_bids"] + simple["submitted_asks"],
        "cancels": simple["cancel_requests"],
        "rejects_and_late_cancels": simple["seen_expired_post_only"] + late,
        "wakes": rec["steps"],
    }


def rel_diff(ours: float, peer: float) -> float:
    """``|ours - peer| / |peer|`` (0 when both are 0, inf when only the peer's is)."""
    if peer == 0:
        return 0.0 if ours == 0 else math.inf
    return abs(ours - peer) / abs(peer)


def _fmt(value: float) -> str:
    if isinstance(value, int) or (float(value).is_integer() and abs(value) > 1):
        return f"{int(value):,}"
    return f"{value:.6g}" if abs(value) < 1 else f"{value:,.5f}"


def print_side_by_side(peer: dict[str, float], ours: dict[str, float]) -> None:
    """Markdown table: metric, hftbacktest, ours, relative difference."""
    print("| figure | hftbacktest | mmcal | difference |")
    print("|---|---|---|---|")
    for key in peer:
        d = rel_diff(ours[key], peer[key])
        print(f"| {key} | {_fmt(peer[key])} | {_fmt(ours[key])} | "
              f"{'-' if math.isinf(d) else f'{100 * d:.2f} %'} |")


def fill_keys_ours(res: BacktestResult) -> set[tuple[int, int, int]]:
    """(exchange ts ns, side, price in ticks) of each of our fills."""
    ticks = np.round(res.fill_px / TICK).astype(np.int64)
    return set(zip(res.fill_ts_ns.tolist(), res.fill_side.tolist(), ticks.tolist(), strict=True))


def fill_keys_peer(log: np.ndarray) -> set[tuple[int, int, int]]:
    """The same keys from the peer's fill log (ts, side, price tick, fraction x 1e9)."""
    return set(zip(log[:, 0].tolist(), log[:, 1].tolist(), log[:, 2].tolist(), strict=True))


def describe_instant(events: EventStream, ts: int, px: float) -> str:
    """Trades and book rows stamped ``ts``: what each engine had to order at that ns."""
    at = np.flatnonzero(events.ts_ns == ts)
    trades = [i for i in at if events.kind[i] == KIND_TRADE and abs(events.price[i] - px) < TICK]
    books = [i for i in at if events.kind[i] == KIND_BOOK]
    traded = float(np.sum(events.size[trades])) if trades else 0.0
    text = f"{len(trades)} trades at the price ({traded:.3f} BTC), {len(books)} book rows"
    if trades and books:
        first_book = min(events.recv_ts_ns[i] for i in books) < min(
            events.recv_ts_ns[i] for i in trades)
        text += ("; the book row was received first: hftbacktest applies it first (receive"
                 " order at equal exchange ts) and then the trades, which the book row"
                 " already shows, so the queue is depleted twice; we put trades first"
                 if first_book else "; the trades were received first")
    return text


def print_fill_match(
    events: EventStream, res: BacktestResult, log: np.ndarray, peer_pnl: float, mark: float
) -> None:
    """Fills matched by (exchange ts, side, price); the rest with their instant; the P&L
    gap those unmatched fills account for (each marked at the final mid ``mark``)."""
    ours, peer = fill_keys_ours(res), fill_keys_peer(log)
    common = ours & peer
    print(f"\nfills matched on (exchange ts, side, price): {len(common)} common, "
          f"{len(ours - common)} only ours, {len(peer - common)} only hftbacktest")
    gap = 0.0
    for who, keys, sign in (("only ours", ours - common, 1.0),
                            ("only hftbacktest", peer - common, -1.0)):
        for ts, side, tick in sorted(keys):
            px = tick * TICK
            gap += sign * side * (mark - px) * LOT
            print(f"  {who}: ts {ts} {'buy' if side > 0 else 'sell'} at {px:.1f}: "
                  f"{describe_instant(events, ts, px)}")
    actual = res.attribution.total - peer_pnl
    print(f"P&L gap (ours - hftbacktest) {actual:+.5f} USDT; the unmatched fills marked at "
          f"{mark:.2f} account for {gap:+.5f}")


def main(argv: list[str] | None = None) -> int:
    """Run both engines and print the comparison; exit 1 if outside the 10% target."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--input", type=Path, default=DEFAULT_INPUT)
    p.add_argument("--npz", type=Path, default=DEFAULT_NPZ)
    p.add_argument("--home", type=Path, default=None, help="lake home to keep (default: temp)")
    p.add_argument("--maker-fee-bps", type=float, default=0.0)
    args = p.parse_args(argv)
    if not args.input.is_file():
        print(f"raw recording not found: {args.input}; pass --input or put the shared "
              "real-data samples beside the repository", file=sys.stderr)
        return 2

    ensure_peer(args.npz, args.input)
    with tempfile.TemporaryDirectory(prefix="crosscheck_") as tmp:
        fills_path = Path(tmp) / "peer_fills.npy"
        peer = run_peer(args.npz, fills_path, args.maker_fee_bps)
        log = np.load(fills_path)
        home = args.home if args.home is not None else Path(tmp) / "home"
        lake = lake_with_sample(home, args.input)
        events = {flag: lake_events(lake, flag) for flag in (False, True)}
        phase = int(peer["simple"]["first_wake_ts"]) % INTERVAL_NS
        results = {run: run_ours(events[run.with_bbo], run, phase, args.maker_fee_bps)
                   for run in RUNS}

    matched = results[RUNS[0]]
    peer_fig, ours_fig = figures_peer(peer), figures_ours(matched)
    print(f"BTCUSDT 2024-08-08, {len(events[False]):,} lake events (trades + book) vs "
          f"hftbacktest's {peer['events']:,}; maker {args.maker_fee_bps:g} / taker 5 bps, "
          f"10 ms + 10 ms, 1 lot {LOT}, tick {TICK}, timer phase {phase / 1e6:g} ms\n")
    print_side_by_side(peer_fig, ours_fig)
    print_fill_match(events[False], matched, log, float(peer["pnl"]), matched.final_mid)

    print("\n| our run | fills | filled BTC | final pos | P&L USDT | fills vs peer |")
    print("|---|---|---|---|---|---|")
    for run, res in results.items():
        print(f"| {run.label} | {res.n_fills} | {res.filled_qty:.3f} | "
              f"{res.final_position:+.3f} | {res.attribution.total:.5f} | "
              f"{100 * (res.n_fills / peer['fills'] - 1):+.1f} % |")
    worst = max(rel_diff(ours_fig[k], peer_fig[k]) for k in ("fills", "filled_qty", "pnl"))
    verdict = "within" if worst <= TARGET_REL else "OUTSIDE"
    print(f"\nlargest relative difference (fills, filled qty, P&L): {100 * worst:.2f} % "
          f"({verdict} the {100 * TARGET_REL:.0f} % target)")
    return 0 if worst <= TARGET_REL else 1


if __name__ == "__main__":
    raise SystemExit(main())
