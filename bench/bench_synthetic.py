"""Benchmark: one synthetic symbol-day at ~1,000,000 trades, a book snapshot every 100 ms.

Generates BTC with its Hawkes baseline scaled up, writes trades/book/bbo/funding and the
truth document into a temporary lake, and prints the wall time of each phase and the
peak resident memory of the process (ru_maxrss). Targets: < 60 s, < 2 GiB.

Run: .venv/bin/python bench/bench_synthetic.py [--trades 1000000] [--symbol BTC]
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sys
import tempfile
import time

from data_lake.lake import Lake
from data_lake.sources.synthetic import (
    DEFAULT_MARKET,
    TABLE_NAMES,
    generate_symbol_day,
    write_book,
)
from data_lake.sources.synthetic.flow import hawkes_expectation
from data_lake.sources.synthetic.truth import write_truth
from data_lake.writer import PartitionKey

TARGET_S = 60.0
TARGET_RSS_GIB = 2.0


def _rss_gib() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=1_000_000, help="target trades per day")
    parser.add_argument("--symbol", default="BTC")
    parser.add_argument("--snapshot-ms", type=float, default=100.0)
    args = parser.parse_args()

    date = dt.date(2026, 1, 5)
    # Warm-up on a short window: numba compilation (or cache load) is not generation time.
    t0 = time.perf_counter()
    generate_symbol_day(args.symbol, date, seed=1, duration_s=600.0)
    warmup_s = time.perf_counter() - t0

    # Scale the baseline from the default trades per order and expected orders per day.
    probe = generate_symbol_day(args.symbol, date, seed=1, duration_s=3_600.0)
    trades_per_order = probe.rows["trades"] / max(1, probe.orders.n)
    orders_per_day = hawkes_expectation(DEFAULT_MARKET.symbol(args.symbol).hawkes).expected_total
    factor = args.trades / (trades_per_order * orders_per_day)
    market = DEFAULT_MARKET.with_snapshot_interval(args.snapshot_ms / 1000.0).with_activity(
        args.symbol, factor
    )
    del probe

    t0 = time.perf_counter()
    day = generate_symbol_day(args.symbol, date, seed=7, market=market)
    generate_s = time.perf_counter() - t0
    rows = day.rows
    rss_after_generate = _rss_gib()

    with tempfile.TemporaryDirectory(prefix="bench_synthetic_") as home:
        lake = Lake.at(home)
        key = PartitionKey(market.venue, args.symbol, date)
        t0 = time.perf_counter()
        for name in ("trades", "bbo", "funding"):
            lake.write_day(name, key, day.tables[name], mode="replace", refresh=False)
        write_book(lake, key, day.book)
        write_truth(lake.paths, day.truth)
        lake.refresh()
        write_s = time.perf_counter() - t0
    total_s = generate_s + write_s
    peak = _rss_gib()

    print(f"synthetic {args.symbol} one day, book snapshot every {args.snapshot_ms:g} ms")
    print(f"  activity factor        {factor:.2f} x default baseline")
    for name in TABLE_NAMES:
        print(f"  rows {name:<17} {rows[name]:>12,}")
    print(f"  warm-up (jit/cache)    {warmup_s:8.2f} s")
    print(f"  generate               {generate_s:8.2f} s   (rss {rss_after_generate:.2f} GiB)")
    print(f"  write lake + truth     {write_s:8.2f} s")
    print(f"  total                  {total_s:8.2f} s   target < {TARGET_S:g} s")
    print(f"  peak rss               {peak:8.2f} GiB target < {TARGET_RSS_GIB:g} GiB")
    ok = total_s < TARGET_S and peak < TARGET_RSS_GIB
    print("  result                 " + ("OK" if ok else "OVER TARGET"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
