"""Features of one symbol-day, from lake frames: the work behind the feature assets.

No Dagster here (tested without it): quotes (mid, spread, imbalance) from the bbo or
the book's top level, trades with the prevailing quote, clock and volume bars.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from assets.history import History
from data_lake.writer import day_window_ns

__all__ = [
    "TRADE_COLUMNS",
    "DayFeatures",
    "build_features",
    "clock_bars",
    "minute_close_mids",
    "quotes_from_lake",
    "volume_bars",
]

IMBALANCE_LEVELS = (1, 3, 5)
TRADE_COLUMNS = ("ts", "price", "size", "side")  # what the fits read of each trade


@dataclass(frozen=True)
class DayFeatures:
    """Everything the calibrations read for one symbol-day. Times are int64 ns UTC."""

    venue: str
    symbol: str
    day: dt.date
    trades: pd.DataFrame  # ts, price, size, side, mid_before, bid_before, ask_before
    quotes: pd.DataFrame  # ts, bid_px, ask_px, bid_sz, ask_sz, mid, spread_bps, imb_1/3/5
    book_levels: dict[str, np.ndarray]  # bid_px/bid_sz/ask_px/ask_sz (n_snap, depth), ts
    funding: pd.DataFrame  # ts, rate, interval_s, mark_px, oracle_px
    bars_1m: pd.DataFrame  # clock bars: ts (bar start), open, high, low, close, volume, n
    volume_bars: pd.DataFrame  # ts (bar end), close, volume, n; bucket size in attrs
    # The trailing window the multi-day fits read (None: this day only, e.g. held out).
    history: History | None = None

    @property
    def window_ns(self) -> tuple[int, int]:
        return day_window_ns(self.day)

    @property
    def observed_ns(self) -> tuple[int, int]:
        """``[first, last]`` quote or trade time of the day (the calendar day without any):
        the span the market was recorded, which rates per second must divide by. A
        partial recording (a 345 s sample) is not a quiet day."""
        stamps = [
            frame["ts"].to_numpy(np.int64) for frame in (self.quotes, self.trades) if len(frame)
        ]
        if not stamps:
            return self.window_ns
        first = min(int(s.min()) for s in stamps)
        last = max(int(s.max()) for s in stamps)
        return first, max(last, first + 1)

    def summary(self) -> dict[str, float | int]:
        return {
            "trades": len(self.trades),
            "quotes": len(self.quotes),
            "book_snapshots": int(self.book_levels["ts"].shape[0]),
            "funding_rows": len(self.funding),
            "median_spread_bps": float(self.quotes["spread_bps"].median())
            if len(self.quotes)
            else 0.0,
            "volume": float(self.trades["size"].sum()),
            "history_days": len(self.history.days) if self.history else 1,
        }


def _levels(column: pd.Series | pa.ChunkedArray, depth: int) -> np.ndarray:
    """List column -> (n, depth) float array, NaN-padded where a side is shallower.

    O(n depth), no Python loop per snapshot (one cost ~1 s on a day of 86,400 snapshots x
    4 columns): an Arrow list column is read from its flat values and lengths; a pandas
    column of arrays is concatenated once.
    """
    n = len(column)
    out = np.full((n, depth), np.nan)
    if n == 0:
        return out
    if isinstance(column, pd.Series):
        rows = column.to_numpy(dtype=object)
        lengths = np.fromiter((len(v) for v in rows), dtype=np.int64, count=n)
        if lengths.sum() == 0:
            return out
        flat = np.concatenate([np.asarray(v, dtype=float) for v in rows])
    else:
        lists = column.combine_chunks()
        lengths = pc.list_value_length(lists).fill_null(0).to_numpy().astype(np.int64)
        flat = pc.list_flatten(lists).to_numpy(zero_copy_only=False).astype(float)
    row = np.repeat(np.arange(n), lengths)
    col = np.arange(flat.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    keep = col < depth
    out[row[keep], col[keep]] = flat[keep]
    return out


def quotes_from_lake(
    bbo: pd.DataFrame, book: pd.DataFrame | pa.Table, depth: int = 20
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Top-of-book quotes (from bbo when present, else the book) and the book as arrays.

    ``book`` may stay an Arrow table: its list columns are read without a pandas
    round trip (one array object per snapshot and side).
    """
    if len(book):
        levels = {k: _levels(book[k], depth) for k in ("bid_px", "bid_sz", "ask_px", "ask_sz")}
        levels["ts"] = np.asarray(book["ts"].to_numpy(), dtype=np.int64)
    else:
        levels = {k: np.empty((0, depth)) for k in ("bid_px", "bid_sz", "ask_px", "ask_sz")}
        levels["ts"] = np.empty(0, np.int64)
    if len(bbo):
        quotes = bbo[["ts", "bid_px", "bid_sz", "ask_px", "ask_sz"]].copy()
    else:
        quotes = pd.DataFrame(
            {
                "ts": levels["ts"],
                "bid_px": levels["bid_px"][:, 0],
                "bid_sz": levels["bid_sz"][:, 0],
                "ask_px": levels["ask_px"][:, 0],
                "ask_sz": levels["ask_sz"][:, 0],
            }
        )
    quotes = quotes.dropna().sort_values("ts", kind="stable").reset_index(drop=True)
    quotes["mid"] = 0.5 * (quotes["bid_px"] + quotes["ask_px"])
    quotes["spread_bps"] = (quotes["ask_px"] - quotes["bid_px"]) / quotes["mid"] * 1e4
    quotes["imb_1"] = _imbalance(quotes["bid_sz"].to_numpy(), quotes["ask_sz"].to_numpy())
    # Deeper imbalances come from the book, carried forward to each quote time.
    for k in IMBALANCE_LEVELS[1:]:
        if len(levels["ts"]):
            bid = np.nansum(levels["bid_sz"][:, :k], axis=1)
            ask = np.nansum(levels["ask_sz"][:, :k], axis=1)
            snap_imb = _imbalance(bid, ask)
            idx = np.searchsorted(levels["ts"], quotes["ts"].to_numpy(), side="right") - 1
            quotes[f"imb_{k}"] = np.where(idx >= 0, snap_imb[np.clip(idx, 0, None)], np.nan)
        else:
            quotes[f"imb_{k}"] = quotes["imb_1"]
    return quotes, levels


def _imbalance(bid_sz: np.ndarray, ask_sz: np.ndarray) -> np.ndarray:
    total = bid_sz + ask_sz
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (bid_sz - ask_sz) / total, 0.0)


def _with_prevailing_quote(trades: pd.DataFrame, quotes: pd.DataFrame) -> pd.DataFrame:
    """Attach the last quote strictly before each trade (the book the aggressor hit)."""
    out = trades.copy()
    q_ts = quotes["ts"].to_numpy(np.int64)
    idx = np.searchsorted(q_ts, out["ts"].to_numpy(np.int64), side="left") - 1
    valid = idx >= 0
    for col, src in (("mid_before", "mid"), ("bid_before", "bid_px"), ("ask_before", "ask_px")):
        values = quotes[src].to_numpy(float)
        out[col] = np.where(valid, values[np.clip(idx, 0, None)], np.nan)
    return out


def clock_bars(trades: pd.DataFrame, bar_s: int = 60) -> pd.DataFrame:
    """OHLCV bars on clock time (bar start as ts)."""
    if trades.empty:
        return pd.DataFrame(columns=["ts", "open", "high", "low", "close", "volume", "n"])
    bar_ns = bar_s * 1_000_000_000
    key = trades["ts"].to_numpy(np.int64) // bar_ns * bar_ns
    grouped = trades.assign(bar=key).groupby("bar", sort=True)
    bars = grouped["price"].agg(["first", "max", "min", "last"])
    bars.columns = ["open", "high", "low", "close"]
    bars["volume"] = grouped["size"].sum()
    bars["n"] = grouped["size"].size()
    return bars.reset_index(names="ts")


def volume_bars(trades: pd.DataFrame, n_bars_target: int = 500) -> pd.DataFrame:
    """Bars closing every ``total volume / n_bars_target`` units of traded volume."""
    if trades.empty:
        out = pd.DataFrame(columns=["ts", "close", "volume", "n"])
        out.attrs["bucket_volume"] = 0.0
        return out
    size = trades["size"].to_numpy(float)
    bucket = float(size.sum()) / n_bars_target
    bar_id = np.floor(np.cumsum(size) / bucket - 1e-12).astype(np.int64)
    grouped = trades.assign(bar=bar_id).groupby("bar", sort=True)
    out = pd.DataFrame(
        {
            "ts": grouped["ts"].last(),
            "close": grouped["price"].last(),
            "volume": grouped["size"].sum(),
            "n": grouped["size"].size(),
        }
    ).reset_index(drop=True)
    out.attrs["bucket_volume"] = bucket
    return out


def minute_close_mids(quotes: pd.DataFrame) -> np.ndarray:
    """The last mid of each clock minute that has quotes (price units)."""
    minute = quotes["ts"].to_numpy(np.int64) // 60_000_000_000
    last = np.r_[minute[1:] != minute[:-1], True]
    return quotes["mid"].to_numpy(float)[last]


def build_features(
    venue: str,
    symbol: str,
    day: dt.date,
    trades: pd.DataFrame,
    bbo: pd.DataFrame,
    book: pd.DataFrame | pa.Table,
    funding: pd.DataFrame,
    history: History | None = None,
) -> DayFeatures:
    """Derive the day's features from its lake tables (already read, sorted by ts)."""
    quotes, levels = quotes_from_lake(bbo, book)
    base = trades[list(TRADE_COLUMNS)].reset_index(drop=True)
    enriched = _with_prevailing_quote(base, quotes)
    cols = ["ts", "rate", "interval_s", "mark_px", "oracle_px"]
    fund = funding[cols].reset_index(drop=True) if len(funding) else pd.DataFrame(columns=cols)
    return DayFeatures(
        venue=venue,
        symbol=symbol,
        day=day,
        trades=enriched,
        quotes=quotes,
        book_levels=levels,
        funding=fund,
        bars_1m=clock_bars(base),
        volume_bars=volume_bars(base),
        history=history,
    )
