"""Fit a param set on a stretch of a real recording, with the pipeline's own fitters.

The nightly job fits calendar days of checked partitions; the real samples are minutes
long (Binance: 343 s, Hyperliquid: 25 s, LOBSTER: one hour), and nothing publishes
them. So this runs the same model fitters (``assets.model_fits.MODEL_FITTERS``) and the
same quoting block with its fallbacks (``assets.param_building.quoting_with_fallbacks``)
on the features of ``[start_ns, end_ns)``, and validates the document as the registry
would. One difference, on purpose: the features' window is the recorded span, not the
calendar day, because the fill intensity ``A`` is fills per second of the window
(``_fill_depth`` passes ``window_s``); over a 343 s recording, dividing by 86 400 s
would make ``A`` 250 times too small.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from assets.features import DayFeatures, build_features
from assets.model_fits import MODEL_FITTERS, day_fits, fit_model
from assets.param_building import quoting_with_fallbacks
from calibration.errors import CalibrationError
from data_lake.lake import Lake
from data_lake.partitions import day_of_ns
from data_lake.registry import ParamSet


@dataclasses.dataclass(frozen=True)
class SpanFeatures(DayFeatures):
    """Day features whose window is the recorded span (see the module docstring)."""

    span_ns: tuple[int, int] = (0, 1)

    @property
    def window_ns(self) -> tuple[int, int]:
        return self.span_ns


def span_features(lake: Lake, venue: str, symbol: str, start_ns: int, end_ns: int) -> SpanFeatures:
    """The features of ``[start_ns, end_ns)`` (one UTC day's worth at most)."""
    frames = {
        t: lake.frame(t, symbol=symbol, venue=venue, start_ns=start_ns, end_ns=end_ns)
        for t in ("trades", "bbo", "book", "funding")
    }
    # The markouts need a mid before each trade: trades before the first quote are dropped
    # (a recording's first seconds), as the adverse-selection fit asks.
    quotes_from = min(int(frames[t]["ts"].min()) for t in ("bbo", "book") if len(frames[t]))
    trades = frames["trades"][frames["trades"]["ts"] > quotes_from].reset_index(drop=True)
    base = build_features(venue, symbol, day_of_ns(start_ns), trades, frames["bbo"],
                          frames["book"], frames["funding"])
    fields = {f.name: getattr(base, f.name) for f in dataclasses.fields(DayFeatures)}
    return SpanFeatures(**fields, span_ns=(start_ns, end_ns))


def _no_correlation() -> Any:
    raise CalibrationError("one symbol fitted alone: no cross-symbol correlation")


def fit_param_set(
    lake: Lake, venue: str, symbol: str, start_ns: int, end_ns: int, code_version: str
) -> ParamSet:
    """A validated (unversioned) param set fitted on ``[start_ns, end_ns)``.

    Models that cannot be fitted on the stretch fail as they would in the nightly job
    and their fields take the pipeline's stated fallbacks, recorded in ``fallbacks``.
    """
    features = span_features(lake, venue, symbol, start_ns, end_ns)
    fits = {name: fit_model(name, lambda fn=fn: fn(features)) for name, fn in MODEL_FITTERS.items()}
    fits["correlation"] = fit_model("correlation", _no_correlation)
    quoting, fallbacks = quoting_with_fallbacks(day_fits(fits))  # type: ignore[arg-type]
    day = day_of_ns(start_ns).isoformat()
    return ParamSet.model_validate(
        {
            "symbol": symbol,
            "venue": venue,
            "quoting": quoting,
            "fallbacks": fallbacks,
            "models": {name: fit.to_dict() for name, fit in fits.items()},
            "window": {"start_ns": start_ns, "end_ns": end_ns},
            "partitions": [f"{venue}/{symbol}/{day}"],
            "code_version": code_version,
        }
    )
