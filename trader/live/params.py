"""The params a live symbol quotes with: resolved at start, re-read when one is published.

A new version is only swapped in after it passes what the trader can check itself: the
registry loads and re-validates the document (schema, bounds, content hash);
:func:`trader.strategy.from_quoting` builds strategy params from its quoting block; and the
GLFT kernel, run on the live market state (or a probe state before the first book),
returns finite, uncrossed quotes with a size on at least one side. Anything else is
refused, logged once per version, and the running set is kept (docs/architecture.md §5).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from data_lake.registry import LATEST, ParamRegistry, ParamRegistryError, ParamSet
from trader.backtesting import strategy_params_of
from trader.market_state import (
    OUT_ASK_PX,
    OUT_ASK_SZ,
    OUT_BID_PX,
    OUT_BID_SZ,
    S_ASK_SZ,
    S_BEST_ASK,
    S_BEST_BID,
    S_BID_SZ,
    S_MID,
    S_TS_S,
    new_quote,
)
from trader.settings import TraderSettings
from trader.strategy import StrategyParams, glft_quote

__all__ = ["LoadedParams", "ParamsRefusedError", "ParamsWatcher", "build_params"]

log = logging.getLogger(__name__)

_PROBE_MID_TICKS = 10_000.0
"""Before the first book the kernel is probed at a mid of this many ticks."""


class ParamsRefusedError(ValueError):
    """A param set the trader will not quote with; the message says why."""


@dataclass(frozen=True)
class LoadedParams:
    """A param set ready to quote: the document, the strategy params and their array."""

    document: ParamSet
    strategy: StrategyParams
    array: np.ndarray

    @property
    def version(self) -> str | None:
        return self.document.version


def _probe_state(state: np.ndarray, tick: float) -> np.ndarray:
    probe = state.copy()
    if probe[S_MID] != probe[S_MID]:
        mid = _PROBE_MID_TICKS * tick
        probe[S_MID] = mid
        probe[S_BEST_BID] = mid - tick
        probe[S_BEST_ASK] = mid + tick
        probe[S_BID_SZ] = probe[S_ASK_SZ] = 1.0
        probe[S_TS_S] = 0.0
    return probe


def build_params(
    document: ParamSet, settings: TraderSettings, state: np.ndarray
) -> LoadedParams:
    """Strategy params for ``document`` under ``settings``, checked on ``state``.

    Raises
    ------
    ParamsRefusedError
        ``from_quoting`` refused the quoting block, or the kernel's quotes on the probe
        state are non-finite, crossed, or empty on both sides.
    """
    try:
        strategy = strategy_params_of(document, settings)
    except (ValueError, TypeError, KeyError) as exc:
        raise ParamsRefusedError(f"strategy params refused: {exc}") from exc
    array = np.ascontiguousarray(strategy.to_array(), dtype=np.float64)
    probe = _probe_state(state, settings.tick_size)
    out = new_quote()
    glft_quote(probe, array, out)
    sides = ((out[OUT_BID_PX], out[OUT_BID_SZ], "bid"), (out[OUT_ASK_PX], out[OUT_ASK_SZ], "ask"))
    for px, size, name in sides:
        if not np.isfinite(size) or size < 0:
            raise ParamsRefusedError(f"the {name} size is not a finite size: {size}")
        if size > 0 and not (np.isfinite(px) and px > 0):
            raise ParamsRefusedError(f"the {name} price is not finite and > 0: {px}")
    if out[OUT_BID_SZ] <= 0 and out[OUT_ASK_SZ] <= 0:
        raise ParamsRefusedError("the kernel quotes nothing on either side with these params")
    if out[OUT_BID_SZ] > 0 and out[OUT_ASK_SZ] > 0 and not out[OUT_BID_PX] < out[OUT_ASK_PX]:
        raise ParamsRefusedError(
            f"crossed quotes: bid {out[OUT_BID_PX]} >= ask {out[OUT_ASK_PX]}"
        )
    return LoadedParams(document, strategy, array)


class ParamsWatcher:
    """Polls the registry's ``LATEST`` of one symbol and offers a checked new version.

    Only a trader started with ``--params latest`` watches: a pinned version or file
    stays pinned.
    """

    def __init__(self, registry: ParamRegistry, symbol: str, current: str | None) -> None:
        self.registry = registry
        self.symbol = symbol
        self.current = current
        self.refused: dict[str, str] = {}
        self.problem: str | None = None
        """What is wrong with ``LATEST`` or the running version's file now (logged once
        when it appears), or None."""
        self._file_stamp: tuple[int, int, int] | None = None
        self._file_problem: str | None = None

    def _watch_problem(self, problem: str | None) -> None:
        """Log a pointer problem once when it appears (polled every second, it would
        repeat), and once when it clears."""
        if problem == self.problem:
            return
        if problem is not None:
            log.warning("params watch: %s; keeping %s", problem, self.current,
                        extra={"event": "params_watch_error", "symbol": self.symbol,
                               "kept": self.current, "reason": problem})
        else:
            log.info("params watch: the params of %s readable again", self.symbol,
                     extra={"event": "params_watch_ok", "symbol": self.symbol})
        self.problem = problem

    def _running_file_problem(self) -> str | None:
        """What is wrong with the running version's file, re-checked (hash and schema)
        only when its inode, size or mtime changed: one ``stat`` per poll otherwise."""
        assert self.current is not None
        path = self.registry.path_of(self.symbol, self.current)
        try:
            st = path.stat()
        except OSError as exc:
            self._file_stamp = None
            return f"the file of the running version {self.current} is unreadable: {exc}"
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        if stamp != self._file_stamp:
            self._file_stamp = stamp
            try:
                self.registry.load(self.symbol, self.current)
                self._file_problem = None
            except (ParamRegistryError, OSError, ValueError) as exc:
                self._file_problem = (f"the file of the running version {self.current} "
                                      f"changed and no longer loads: {exc}")
        return self._file_problem

    def poll(self, settings: TraderSettings, state: np.ndarray) -> LoadedParams | None:
        """A checked new version when ``LATEST`` moved to one not refused before, else None.

        A version that fails to load or to check is remembered (not retried) and logged.
        A ``LATEST`` that is unreadable, names a missing file, or is gone while a version
        runs, and a running version whose file was damaged, are logged once; the running
        version (in memory) is kept.
        """
        try:
            latest = self.registry.latest_version(self.symbol)
        except (OSError, ParamRegistryError, ValueError) as exc:
            self._watch_problem(f"cannot read LATEST of {self.symbol}: {exc}")
            return None
        if latest is None and self.current is not None:
            self._watch_problem(f"LATEST of {self.symbol} is gone (was {self.current})")
            return None
        if latest is not None and latest == self.current:
            self._watch_problem(self._running_file_problem())
            return None
        self._watch_problem(None)
        if latest is None or latest in self.refused:
            return None
        try:
            document = self.registry.load(self.symbol, latest)
            loaded = build_params(document, settings, state)
        except (ParamRegistryError, ParamsRefusedError, OSError) as exc:
            self.refused[latest] = str(exc)
            log.error("params %s for %s refused, keeping %s: %s", latest, self.symbol,
                      self.current, exc,
                      extra={"event": "params_refused", "symbol": self.symbol,
                             "version": latest, "kept": self.current, "reason": str(exc)})
            return None
        log.info("params %s for %s accepted (was %s)", latest, self.symbol, self.current,
                 extra={"event": "params_swapped", "symbol": self.symbol, "version": latest,
                        "previous": self.current})
        self.current = latest
        return loaded


def watches(spec: str) -> bool:
    """Whether ``--params spec`` follows new publications (only ``latest`` does)."""
    return spec == LATEST
