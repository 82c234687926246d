"""Backtest one param set: param document + events + trader settings -> a frozen report.

:func:`backtest_param_set` is the one entry point shared by ``trader backtest``, the
nightly backtest in the publish gate and the "calibration pays" study: it builds the
GLFT strategy params from the set's quoting block (:func:`trader.strategy.from_quoting`,
with its conservative fallbacks), optionally perturbs them, replays the events through
the simulated venue (:func:`trader.sim.run_backtest`) and scores the result.
:func:`resolve_param_set` turns ``latest``, a version id or a JSON file path into a
:class:`ParamSet` (docs/architecture.md §5).

Units: P&L in quote currency; times in int64 ns UTC; the score is dimensionless.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from pydantic import ValidationError

from calibration.common.newey_west import hac_mean, newey_west_rule_lags
from data_lake.registry import LATEST, ParamRegistry, ParamRegistryError, ParamSet
from trader.settings import TraderSettings
from trader.sim import BacktestResult, EventStream, run_backtest
from trader.strategy import StrategyParams, from_quoting, glft_quote
from trader.strategy.vpin_live import VpinLive, vpin_live_from

__all__ = [
    "SCORE_BUCKET_NS",
    "BacktestReport",
    "ParamSetNotFoundError",
    "ProgressCallback",
    "StrategyOverride",
    "backtest_param_set",
    "quoting_of",
    "resolve_param_set",
    "risk_adjusted_score",
]

SCORE_BUCKET_NS = 60 * 1_000_000_000
"""Bucket of the risk-adjusted score: P&L is measured over consecutive 60 s intervals."""

ProgressCallback = Callable[[int, int], None]
"""``progress(events_done, events_total)``, called from the caller's thread while the
replay runs (a few times per second) and once at the end."""

StrategyOverride = float | bool | tuple[float, ...] | VpinLive | Callable[[Any], Any]
"""A replacement value, or a function of the current value (``lambda k: k / 2``)."""


class ParamSetNotFoundError(ParamRegistryError):
    """``--params`` named nothing usable: no such version, file, or a file of another symbol."""


@dataclass(frozen=True)
class BacktestReport:
    """One param set's backtest.

    Attributes
    ----------
    result : trader.sim.BacktestResult
        The replay: equity curve, fills, attribution (parts sum to the total), hourly stats.
    strategy_params : trader.strategy.StrategyParams
        What the strategy quoted with, after the overrides.
    settings : TraderSettings
    fallbacks : tuple of str
        Fields the trader replaced by a conservative value when reading the quoting block
        (``StrategyParams.fallbacks``: ``"field: reason -> value"``).
    param_set_fallbacks : tuple of str
        Fallbacks the pipeline already recorded in the document (``field: reason (source)``).
    overrides : dict
        The strategy fields overridden and the values used (empty for the set as fitted).
    param_version : str or None
        The set's registry version (None for an unversioned file).
    venue, symbol : str
    window_start_ns, window_end_ns : int
        The replayed window ``[start, end)``, ns UTC.
    score : float or None
        Risk-adjusted score (:func:`risk_adjusted_score`); None when not estimable.
    score_stderr : float or None
        Its standard error; None when fewer than two buckets.
    n_score_buckets : int
        Number of ``SCORE_BUCKET_NS`` intervals the score was computed from.
    queue_source : str
        Where the simulator's queue model (``settings.queue_model``) came from
        (:func:`trader.queue_choice.choose_queue`).
    """

    result: BacktestResult
    strategy_params: StrategyParams
    settings: TraderSettings
    fallbacks: tuple[str, ...]
    param_set_fallbacks: tuple[str, ...]
    overrides: dict[str, Any]
    param_version: str | None
    venue: str
    symbol: str
    window_start_ns: int
    window_end_ns: int
    score: float | None
    score_stderr: float | None
    n_score_buckets: int
    queue_source: str = "trader settings"

    @property
    def total_pnl(self) -> float:
        """Total P&L, quote currency."""
        return self.result.attribution.total

    def summary(self) -> dict[str, Any]:
        """Plain JSON types: the figures (no per-fill arrays), for ``--json`` and the lake."""
        res = self.result
        att = res.attribution
        return {
            "param_version": self.param_version,
            "venue": self.venue,
            "symbol": self.symbol,
            "window_start_ns": self.window_start_ns,
            "window_end_ns": self.window_end_ns,
            "attribution": {
                "spread_capture": att.spread_capture,
                "adverse_selection": att.adverse_selection,
                "inventory_carry": att.inventory_carry,
                "funding": att.funding,
                "fees": att.fees,
                "total": att.total,
            },
            "fills": res.n_fills,
            "filled_qty": res.filled_qty,
            "quoted_qty": res.quoted_qty,
            "fill_ratio": res.fill_ratio,
            "time_at_limit_s": res.time_at_limit_s,
            "max_drawdown": res.max_drawdown,
            "final_position": res.final_position,
            "orders_sent": res.orders_sent,
            "modifies_sent": res.modifies_sent,
            "cancels_sent": res.cancels_sent,
            "rejects": res.rejects,
            "requotes": res.requotes,
            "events": res.events_processed,
            "score": self.score,
            "score_stderr": self.score_stderr,
            "score_bucket_s": SCORE_BUCKET_NS / 1e9,
            "n_score_buckets": self.n_score_buckets,
            "hours": [
                {"hour_start_ns": int(h), "pnl": float(p), "fills": int(f)}
                for h, p, f in zip(res.hour_start_ns, res.hour_pnl, res.hour_fills, strict=True)
            ],
            "fallbacks": list(self.fallbacks),
            "param_set_fallbacks": list(self.param_set_fallbacks),
            "overrides": {k: _jsonable(v) for k, v in self.overrides.items()},
            "settings": self.settings.to_dict(),
            "queue": {
                "model": self.settings.queue_model,
                "power_n": (
                    self.settings.queue_param
                    if self.settings.queue_model == "prob_power" else None
                ),
                "source": self.queue_source,
            },
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    return value


def risk_adjusted_score(
    equity_ts_ns: np.ndarray, equity: np.ndarray, *, bucket_ns: int = SCORE_BUCKET_NS
) -> tuple[float | None, float | None, int]:
    """Mean over standard deviation of the P&L per ``bucket_ns`` interval, and its stderr.

    The equity curve (starting from 0) is read at the last sample of each bucket
    ``ts // bucket_ns`` and differenced; the score is ``mean / std`` of those bucket
    P&Ls (a per-bucket information ratio: dimensionless, comparable across symbols and
    order sizes, and penalising a set whose P&L comes with large swings). Its standard
    error is the delta-method one of Lo (2002) with the mean's variance taken as
    Newey-West (HAC, rule-of-thumb lag) to allow for autocorrelated P&L:
    ``sqrt((se_hac(mean) / std) ** 2 + score ** 2 / (2 n))``.

    Returns
    -------
    score : float or None
        0 when the P&L never moved (nothing filled); None when fewer than two buckets or
        a constant non-zero P&L per bucket (no risk measure).
    stderr : float or None
        None when fewer than two buckets.
    n_buckets : int
    """
    if equity.size == 0:
        return None, None, 0
    buckets = (equity_ts_ns - 1) // bucket_ns  # a sample on the boundary closes the bucket
    last = np.flatnonzero(np.diff(buckets, append=buckets[-1] + 1) != 0)
    pnl = np.diff(np.concatenate(([0.0], equity[last])))
    n = int(pnl.size)
    if n < 2:
        return None, None, n
    std = float(np.std(pnl, ddof=1))
    mean, se_mean = hac_mean(pnl, newey_west_rule_lags(n))
    if std == 0.0 or not math.isfinite(std):
        return (0.0, 0.0, n) if mean == 0.0 else (None, None, n)
    score = mean / std
    return score, math.sqrt((se_mean / std) ** 2 + score**2 / (2.0 * n)), n


def _apply_overrides(
    params: StrategyParams, overrides: Mapping[str, StrategyOverride]
) -> tuple[StrategyParams, dict[str, Any]]:
    names = {f.name for f in dataclasses.fields(StrategyParams)} - {"fallbacks"}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise ValueError(
            f"unknown strategy field(s) {unknown}; StrategyParams fields: {sorted(names)}"
        )
    values: dict[str, Any] = {
        name: (value(getattr(params, name)) if callable(value) else value)
        for name, value in overrides.items()
    }
    return dataclasses.replace(params, **values), values


def quoting_of(param_set: ParamSet) -> dict[str, Any]:
    """The quoting block as :func:`trader.strategy.from_quoting` reads it.

    Schema 2 fields a schema 1 document cannot have stay absent (``from_quoting`` then
    derives them from the schema 1 fields), also when the registry wrote them out as
    null; in a schema 2 document a null field is a failed fit and takes its fallback.
    """
    quoting = param_set.quoting.model_dump(mode="json", exclude_unset=True)
    if param_set.schema_version == 1:
        quoting = {k: v for k, v in quoting.items() if v is not None}
    return quoting


def strategy_params_of(param_set: ParamSet, settings: TraderSettings) -> StrategyParams:
    """The strategy's params from a whole param set: its quoting block under the
    trader's settings, and the live VPIN clock from its models and window."""
    quoting = quoting_of(param_set)
    regime = settings.regime
    vpin = (
        vpin_live_from(
            quoting,
            param_set.models,
            param_set.window.end_ns,
            floor=regime.sigma_scale_floor,
            cap=regime.sigma_scale_cap,
        )
        if regime.live_vpin
        else None
    )
    return from_quoting(quoting, **settings.strategy_kwargs(), vpin=vpin)


def backtest_param_set(
    param_set: ParamSet,
    events: EventStream,
    settings: TraderSettings,
    *,
    strategy_overrides: Mapping[str, StrategyOverride] | None = None,
    progress: ProgressCallback | None = None,
    window_ns: tuple[int, int] | None = None,
    queue_source: str = "trader settings",
) -> BacktestReport:
    """Replay ``events`` with the GLFT strategy quoting ``param_set`` under ``settings``.

    Parameters
    ----------
    param_set : ParamSet
        The document; its quoting block is read by :func:`quoting_of`.
    events : EventStream
        The market to replay (:func:`trader.sim.load_events`).
    settings : TraderSettings
        Risk aversion, sizes, venue rules, latency, queue model.
    strategy_overrides : mapping, optional
        ``StrategyParams`` field -> value, or -> function of the fitted value, applied
        after the fallbacks: ``{"kappa_bid_per_bps": lambda k: k / 2}``,
        ``{"as_addon_bps": (0.0,), "as_addon_depth_bps": (0.0,)}`` (no add-on),
        ``{"hawkes_widening_per_excess_ratio": 0.0}``. The result is validated again.
    progress : callable, optional
        ``progress(events_done, events_total)``; see :data:`ProgressCallback`.
    window_ns : (int, int), optional
        The window the events were read for, ``[start, end)`` ns; default: first event
        to one past the last.
    queue_source : str
        Where ``settings.queue_model`` came from, for the report.

    Returns
    -------
    BacktestReport

    Raises
    ------
    ValueError
        The settings are for another symbol, an override names no strategy field or
        makes the params invalid, or there are no events.
    """
    if settings.symbol != param_set.symbol:
        raise ValueError(
            f"settings are for {settings.symbol}, the param set for {param_set.symbol}"
        )
    if len(events) == 0:
        raise ValueError(f"no events to replay for {settings.venue}/{settings.symbol}")
    params = strategy_params_of(param_set, settings)
    applied: dict[str, Any] = {}
    if strategy_overrides:
        params, applied = _apply_overrides(params, strategy_overrides)
    result = run_backtest(
        events, glft_quote, params.to_array(), settings.backtest_config(), progress=progress
    )
    score, stderr, n_buckets = risk_adjusted_score(result.equity_ts_ns, result.equity)
    start, end = window_ns or (int(events.ts_ns[0]), int(events.ts_ns[-1]) + 1)
    return BacktestReport(
        result=result,
        strategy_params=params,
        settings=settings,
        fallbacks=params.fallbacks,
        param_set_fallbacks=tuple(
            f"{f.field}: {f.reason} ({f.source})" for f in param_set.fallbacks
        ),
        overrides=applied,
        param_version=param_set.version,
        venue=settings.venue,
        symbol=param_set.symbol,
        window_start_ns=start,
        window_end_ns=end,
        score=score,
        score_stderr=stderr,
        n_score_buckets=n_buckets,
        queue_source=queue_source,
    )


def resolve_param_set(spec: str, symbol: str, registry: ParamRegistry) -> ParamSet:
    """The param set ``spec`` names for ``symbol``: ``latest``, a version id, or a JSON path.

    A path is recognised by ending in ``.json`` or by existing on disk; the file is
    validated like a registry document and must be for ``symbol``.

    Raises
    ------
    ParamRegistryError
        Unknown symbol or version (the message lists what exists), a corrupt document,
        or (:class:`ParamSetNotFoundError`) a missing file or a file of another symbol.
    """
    path = Path(spec).expanduser()
    if spec != LATEST and (spec.endswith(".json") or path.is_file()):
        if not path.is_file():
            raise ParamSetNotFoundError(f"no param set file at {path}")
        try:
            doc = ParamSet.model_validate(orjson.loads(path.read_bytes()))
        except (orjson.JSONDecodeError, ValidationError) as exc:
            raise ParamSetNotFoundError(f"{path} is not a valid param set: {exc}") from exc
        if doc.symbol != symbol:
            raise ParamSetNotFoundError(f"{path} is a param set for {doc.symbol}, not {symbol}")
        return doc
    return registry.load(symbol, spec)
