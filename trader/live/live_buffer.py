"""An appendable event stream: live market events in the columns of a replay.

:class:`LiveEventBuffer` holds the columns of :class:`trader.sim.EventStream` in numpy
arrays grown in chunks (capacity doubles), so the jitted live step and the paper venue
(:class:`trader.live.engine.SymbolEngine`) run on live data exactly as on a replay: same
queue model, same fills. Its column attributes are views of the filled rows, re-read by
the engine on each event (a growth moves the arrays; rows never change once written).

Exchange timestamps are made non-decreasing (a trade stamped a millisecond before the
book already appended keeps the book's time): the simulator's clock never runs back.
Units as in EventStream: int64 ns UTC, quote currency, base units.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from trader.sim.events import KIND_BOOK, KIND_FUNDING, KIND_TRADE

__all__ = ["LiveEventBuffer"]

_COLUMNS = (("ts_ns", np.int64, 0), ("recv_ts_ns", np.int64, 0), ("kind", np.int8, 0),
            ("price", np.float64, np.nan), ("size", np.float64, np.nan),
            ("side", np.int8, 0), ("level_row", np.int64, -1),
            ("interval_s", np.float64, np.nan))
_LEVELS = (("bid_px", np.nan), ("bid_sz", 0.0), ("ask_px", np.nan), ("ask_sz", 0.0))


class LiveEventBuffer:
    """Rows appended one event at a time; reads like an EventStream.

    Parameters
    ----------
    depth : int
        Book levels kept per side.
    capacity : int
        Initial rows (events and snapshots each); doubled when full.
    """

    def __init__(self, depth: int = 20, capacity: int = 4096) -> None:
        if depth < 1 or capacity < 1:
            raise ValueError(f"depth and capacity must be >= 1, got {depth}, {capacity}")
        self._depth = depth
        self.n = 0
        self.n_levels = 0
        self.last_ts = -1
        self._cols = {name: np.full(capacity, fill, dtype=dtype) for name, dtype, fill in _COLUMNS}
        self._levels = {name: np.full((capacity, depth), fill) for name, fill in _LEVELS}
        # The live feeds send L2 snapshots only: no top-of-book rows (EventStream.bbo).
        self.bbo = np.zeros((0, 4))

    # -- EventStream's read side -------------------------------------------------------
    def __len__(self) -> int:
        return self.n

    @property
    def depth(self) -> int:
        return self._depth

    def __getattr__(self, name: str) -> np.ndarray:
        cols = self.__dict__.get("_cols", {})
        if name in cols:
            return cols[name][: self.n]
        levels = self.__dict__.get("_levels", {})
        if name in levels:
            return levels[name][: self.n_levels]
        raise AttributeError(name)

    # -- appending ---------------------------------------------------------------------
    def _grow_rows(self) -> None:
        for name, col in self._cols.items():
            fill = next(f for n, _, f in _COLUMNS if n == name)
            grown = np.full(2 * len(col), fill, dtype=col.dtype)
            grown[: len(col)] = col
            self._cols[name] = grown

    def _grow_levels(self) -> None:
        for name, arr in self._levels.items():
            fill = next(f for n, f in _LEVELS if n == name)
            grown = np.full((2 * arr.shape[0], self._depth), fill)
            grown[: arr.shape[0]] = arr
            self._levels[name] = grown

    def _row(self, ts_ns: int, recv_ns: int, kind: int) -> int:
        if self.n == len(self._cols["ts_ns"]):
            self._grow_rows()
        i = self.n
        ts = max(int(ts_ns), self.last_ts)
        self.last_ts = ts
        c = self._cols
        c["ts_ns"][i] = ts
        c["recv_ts_ns"][i] = recv_ns
        c["kind"][i] = kind
        self.n = i + 1
        return i

    def append_book(self, ts_ns: int, recv_ns: int, bid_px: Sequence[float],
                    bid_sz: Sequence[float], ask_px: Sequence[float],
                    ask_sz: Sequence[float]) -> int:
        """One L2 snapshot (best first, truncated to ``depth``); returns its event row."""
        if self.n_levels == self._levels["bid_px"].shape[0]:
            self._grow_levels()
        r = self.n_levels
        d = self._depth
        for name, values in (("bid_px", bid_px), ("bid_sz", bid_sz), ("ask_px", ask_px),
                             ("ask_sz", ask_sz)):
            k = min(len(values), d)
            self._levels[name][r, :k] = values[:k]
        self.n_levels = r + 1
        i = self._row(ts_ns, recv_ns, KIND_BOOK)
        self._cols["level_row"][i] = r
        return i

    def append_trade(self, ts_ns: int, recv_ns: int, px: float, sz: float, side: int) -> int:
        """A public trade (``side`` +1 buy aggressor); returns its row."""
        i = self._row(ts_ns, recv_ns, KIND_TRADE)
        self._cols["price"][i] = px
        self._cols["size"][i] = sz
        self._cols["side"][i] = side
        return i

    def append_funding(self, ts_ns: int, recv_ns: int, mark_px: float, rate: float,
                       interval_s: float) -> int:
        """A funding print: ``rate`` per ``interval_s`` (fraction) at ``mark_px``."""
        i = self._row(ts_ns, recv_ns, KIND_FUNDING)
        self._cols["price"][i] = mark_px
        self._cols["size"][i] = rate
        self._cols["interval_s"][i] = interval_s
        return i
