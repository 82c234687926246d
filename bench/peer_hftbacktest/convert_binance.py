"""Convert a raw Binance USD-M recording into hftbacktest's event arrays (peer venv only).

Runs in the hftbacktest peer venv (``bench/.venv-hftbacktest``), never in the project
venv. The conversion is hftbacktest's own ``hftbacktest.data.utils.binancefutures.convert``
so the peer sees exactly the events its authors intended:

- ``@trade`` (``X == "MARKET"`` only) -> one ``TRADE_EVENT`` row, side = initiator
  (``m`` true -> ``SELL_EVENT``), ``exch_ts = T * 1e6`` (ns), px, qty;
- ``@depth@0ms`` diff -> one ``DEPTH_EVENT`` row per ``[px, qty]`` pair (qty 0 removes the
  level), ``exch_ts = T * 1e6``;
- the REST snapshot line -> a ``DEPTH_CLEAR_EVENT`` per side (clears up to the snapshot's
  deepest price) followed by one ``DEPTH_SNAPSHOT_EVENT`` per level; the diffs received
  before it are applied to whatever book exists then (no ``lastUpdateId`` filtering);
- ``bookTicker`` lines are dropped unless ``--book-ticker`` (custom ev 103/104, which
  the backtester ignores).

``local_ts`` is the recorder's receive time (ns). The recorder clock runs ~1.27 s behind
the exchange, so ``correct_local_timestamp`` shifts every ``local_ts`` by one constant so
that the smallest feed latency ``local_ts - exch_ts`` becomes ``--base-latency-ns``.
``correct_event_order`` then splits rows whose exchange and local orders disagree into an
exchange-only and a local-only copy, so one raw event is one row flagged
``EXCH_EVENT | LOCAL_EVENT`` or two rows; the "events" count printed below is the number
of raw events (rows carrying ``EXCH_EVENT``), the "rows" count the array length.

Usage (from the repo root)::

    bench/.venv-hftbacktest/bin/python bench/peer_hftbacktest/convert_binance.py \\
        [--input ../shared/data/real/binance_usdm_20240808/btcusdt_20240808.gz] \\
        [--output bench/out/btcusdt_20240808.npz]

Prints one JSON line with the counts.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from hftbacktest import (
    DEPTH_CLEAR_EVENT,
    DEPTH_EVENT,
    DEPTH_SNAPSHOT_EVENT,
    EXCH_EVENT,
    LOCAL_EVENT,
    TRADE_EVENT,
)
from hftbacktest.data.utils import binancefutures

__all__ = ["DEFAULT_INPUT", "convert", "main", "summarize"]

REPO = Path(__file__).resolve().parents[2]
# The real data stay in the shared folder beside the repo; never copy them in.
DEFAULT_INPUT = REPO.parent / "shared/data/real/binance_usdm_20240808/btcusdt_20240808.gz"
DEFAULT_OUT_DIR = REPO / "bench/out"
# Rows preallocated by hftbacktest's converter; the BTCUSDT file needs ~470k.
BUFFER_ROWS = 5_000_000


def convert(
    input_path: Path, output_path: Path, base_latency_ns: int = 0, book_ticker: bool = False
) -> np.ndarray:
    """Convert ``input_path`` with hftbacktest's converter and save it as ``.npz``.

    Parameters
    ----------
    input_path : Path
        Gzip text of ``"<recv_ns> <json>"`` lines (combined-stream layout).
    output_path : Path
        Destination ``.npz`` (key ``data``), parent created if missing.
    base_latency_ns : int
        Smallest feed latency after the clock-offset correction, in ns.
    book_ticker : bool
        Keep ``bookTicker`` lines as custom events 103/104.

    Returns
    -------
    numpy.ndarray
        The event array (hftbacktest ``event_dtype``).
    """
    output_path.parent.mkdir(parents=True, exist_ok=True)
    data = binancefutures.convert(
        str(input_path),
        output_filename=None,
        opt="t" if book_ticker else "",
        base_latency=base_latency_ns,
        combined_stream=True,
        buffer_size=BUFFER_ROWS,
    )
    np.savez_compressed(output_path, data=data)
    return data


def summarize(data: np.ndarray) -> dict[str, Any]:
    """Count rows, raw events and event kinds of a converted array.

    Parameters
    ----------
    data : numpy.ndarray
        hftbacktest event array.

    Returns
    -------
    dict
        ``rows``, ``events`` (rows flagged ``EXCH_EVENT``), ``local_events``, per-kind
        counts over exchange rows, first/last ``exch_ts`` (ns) and feed-latency
        quantiles (ns) over rows flagged both ways.
    """
    ev = data["ev"].astype(np.uint64)
    exch = (ev & np.uint64(EXCH_EVENT)) != 0
    local = (ev & np.uint64(LOCAL_EVENT)) != 0
    kind = ev & np.uint64(0xFF)
    both = exch & local
    lat = (data["local_ts"] - data["exch_ts"])[both]

    def count(code: int) -> int:
        return int(np.sum(exch & (kind == np.uint64(code))))

    return {
        "rows": len(data),
        "events": int(exch.sum()),
        "local_events": int(local.sum()),
        "split_rows": int((exch & ~local).sum() + (local & ~exch).sum()),
        "trades": count(TRADE_EVENT),
        "depth": count(DEPTH_EVENT),
        "depth_clear": count(DEPTH_CLEAR_EVENT),
        "depth_snapshot": count(DEPTH_SNAPSHOT_EVENT),
        "first_exch_ts": int(data["exch_ts"][exch].min()),
        "last_exch_ts": int(data["exch_ts"][exch].max()),
        "feed_latency_ns_min": int(lat.min()),
        "feed_latency_ns_median": int(np.median(lat)),
        "feed_latency_ns_max": int(lat.max()),
    }


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; prints one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, default=DEFAULT_INPUT)
    parser.add_argument(
        "--output", type=Path, default=None, help="default bench/out/<input stem>.npz"
    )
    parser.add_argument("--base-latency-ns", type=int, default=0)
    parser.add_argument("--book-ticker", action="store_true")
    args = parser.parse_args(argv)
    stem = args.input.name.removesuffix(".gz")
    output = args.output or DEFAULT_OUT_DIR / f"{stem}.npz"
    t0 = time.perf_counter()
    data = convert(args.input, output, args.base_latency_ns, args.book_ticker)
    summary = summarize(data)
    summary.update(
        input=str(args.input), output=str(output), seconds=round(time.perf_counter() - t0, 3)
    )
    sys.stdout.flush()
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
