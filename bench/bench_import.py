"""Binance import throughput next to its bound: reading + JSON-parsing the same lines.

Both run in this process, interleaved, on the same file (the real BTCUSDT recording,
93,954 messages):

- bound: stream the gzip with the importer's own line reader, split off the receive
  timestamp and ``orjson.loads`` every line (orjson: the fastest JSON parser installed),
  nothing else;
- import: ``import_binance`` into a fresh lake: trades, bbo, the L2 book rebuilt at
  every diff (and, second, throttled to 100 ms) at depth 20, quarantine, atomic
  zstd Parquet partitions and the DuckDB catalog.

The importer does not call orjson on most lines: bookTicker, trade and depth lines in
the venue's layout are parsed from their bytes by numba kernels (``parse`` and
``kernels`` in ``data_lake.sources.binance``); everything else goes through orjson.
Figures are the best of several interleaved repeats, as wall-clock and as process CPU time (the
machine is shared, so CPU time is the steadier of the two). Target: import throughput
>= half the bound.
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


def run_import(path: Path, book_interval_ms: int) -> int:
    with tempfile.TemporaryDirectory() as home:
        report = import_binance(Lake.at(home), [path], book_interval_ms=book_interval_ms)
    return report.records_in


def main() -> int:
    if not FILE.is_file():
        print(f"skipped: {FILE} not found (the real Binance sample)")
        return 0
    runs: dict[str, Callable[[], int]] = {
        "bound: read + orjson.loads": lambda: read_and_parse(FILE),
        "import, book at every diff": lambda: run_import(FILE, 0),
        "import, book every 100 ms": lambda: run_import(FILE, 100),
    }
    run_import(FILE, 0)  # warm up: numba kernels load from their cache (or compile)
    wall = dict.fromkeys(runs, float("inf"))
    cpu = dict.fromkeys(runs, float("inf"))
    counts: dict[str, int] = {}
    for _ in range(REPEATS):
        for label, fn in runs.items():
            w0, c0 = time.perf_counter(), time.process_time()
            counts[label] = fn()
            wall[label] = min(wall[label], time.perf_counter() - w0)
            cpu[label] = min(cpu[label], time.process_time() - c0)
    n = counts["bound: read + orjson.loads"]
    assert set(counts.values()) == {n}, counts
    print(f"file: {FILE.name}, {n:,} messages, best of {REPEATS} interleaved runs")
    bound_label = "bound: read + orjson.loads"
    for label in runs:
        rate_w, rate_c = n / wall[label], n / cpu[label]
        line = f"{label:<28} {rate_w:>10,.0f} msg/s wall ({wall[label]:.3f} s)"
        line += f"  {rate_c:>10,.0f} msg/s cpu ({cpu[label]:.3f} s)"
        if label != bound_label:
            line += (
                f"  ratio {wall[bound_label] / wall[label]:.2f} wall,"
                f" {cpu[bound_label] / cpu[label]:.2f} cpu (target >= 0.50)"
            )
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
