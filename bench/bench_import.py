"""Binance import throughput next to its bound: reading + JSON-parsing the same lines.

Both run in this process on the same file (the real BTCUSDT recording, ~94k messages):

- bound: stream the gzip with the importer's own line reader, split the receive
  timestamp, ``orjson.loads`` every line, nothing else;
- import: ``import_binance`` into a fresh lake (trades, bbo, the L2 book rebuilt at
  every diff at depth 20, quarantine, atomic Parquet writes and the catalog refresh),
  and the same with the book throttled to 100 ms.

Each figure is the best of a few repeats (the machine is shared). Target: import
throughput >= half the bound.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import orjson

from data_lake.lake import Lake
from data_lake.sources.binance import import_binance
from data_lake.sources.textio import iter_line_batches, open_sources

REPO = Path(__file__).resolve().parents[1]
FILE = REPO.parent / "shared/data/real/binance_usdm_20240808/btcusdt_20240808.gz"
REPEATS = 5


def read_and_parse(path: Path) -> int:
    loads = orjson.loads
    n = 0
    for src in open_sources(path):
        for _, lines in iter_line_batches(src):
            for line in lines:
                sp = line.find(b" ")
                int(line[:sp])
                loads(line[sp + 1 :])
            n += len(lines)
    return n


def best_of(fn: Callable[[], int]) -> tuple[float, int]:
    best = float("inf")
    n = 0
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        n = fn()
        best = min(best, time.perf_counter() - t0)
    return best, n


def run_import(path: Path, book_interval_ms: int) -> int:
    with tempfile.TemporaryDirectory() as home:
        report = import_binance(Lake.at(home), [path], book_interval_ms=book_interval_ms)
    return report.records_in


def main() -> int:
    if not FILE.is_file():
        print(f"skipped: {FILE} not found (the real Binance sample)")
        return 0
    bound_s, n = best_of(lambda: read_and_parse(FILE))
    every_s, n_every = best_of(lambda: run_import(FILE, 0))
    throttled_s, n_throttled = best_of(lambda: run_import(FILE, 100))
    assert n == n_every == n_throttled
    bound = n / bound_s
    print(f"file: {FILE.name}, {n:,} messages, best of {REPEATS}")
    print(f"bound  read + orjson.loads      {bound:>12,.0f} msg/s  ({bound_s:.3f} s)")
    runs = (("import, book every diff", every_s), ("import, book every 100 ms", throttled_s))
    for label, secs in runs:
        rate = n / secs
        print(f"{label:<30} {rate:>12,.0f} msg/s  ({secs:.3f} s)  ratio {rate / bound:.2f}"
              f"  (target >= 0.50)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
