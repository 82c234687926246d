"""The backtest section of a candidate's validation (docs/architecture.md §5).

The nightly ``param_backtest`` asset replays the held-out day twice on the same events,
once quoting the candidate and once quoting the published set, and records both here;
the publish gate (:func:`data_lake.registry.gate.backtest_problems`) reads it. Plain
pydantic, no I/O: the trader and the gate import it.

Units: P&L, drawdown and equity in quote currency; times in int64 ns UTC; the score is
dimensionless (mean over standard deviation of the P&L per ``score_bucket_s`` interval,
``trader.backtesting.risk_adjusted_score``), higher is better.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["ATTRIBUTION_PARTS", "BacktestComparison", "BacktestSummary"]

ATTRIBUTION_PARTS = (
    "spread_capture",
    "adverse_selection",
    "inventory_carry",
    "funding",
    "fees",
)
"""The P&L parts, quote currency; they sum to ``total`` (trader.sim.PnlAttribution)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class BacktestSummary(_Frozen):
    """One param set's replay of the held-out day.

    Attributes
    ----------
    version : str or None
        The set's registry version; None for the candidate (it has none yet).
    score, score_stderr : float or None
        Risk-adjusted score and its standard error; None when not estimable.
    n_score_buckets : int
        Intervals the score was computed from.
    attribution : dict
        ``ATTRIBUTION_PARTS`` and ``total``, quote currency.
    fills : int
    fill_ratio : float
        Filled over quoted size.
    max_drawdown : float
        Quote currency.
    time_at_limit_s : float
        Seconds with |position| at the limit.
    final_position : float
        Base units.
    equity_ts_ns, equity : lists
        The equity curve on a coarse grid (the asset keeps one sample per 5 minutes and
        the last), for the plot and the record; quote currency.
    fallbacks : list of str
        Fields the trader replaced by a conservative value when reading the quoting block.
    """

    version: str | None = None
    score: float | None
    score_stderr: float | None = Field(default=None, ge=0)
    n_score_buckets: int = Field(ge=0)
    attribution: dict[str, float]
    fills: int = Field(ge=0)
    fill_ratio: float = Field(ge=0)
    max_drawdown: float = Field(ge=0)
    time_at_limit_s: float = Field(ge=0)
    final_position: float
    equity_ts_ns: list[int] = Field(default_factory=list)
    equity: list[float] = Field(default_factory=list)
    fallbacks: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _shapes(self) -> BacktestSummary:
        missing = [p for p in (*ATTRIBUTION_PARTS, "total") if p not in self.attribution]
        if missing:
            raise ValueError(f"attribution lacks {missing}")
        if len(self.equity_ts_ns) != len(self.equity):
            raise ValueError("equity_ts_ns and equity must have the same length")
        return self


class BacktestComparison(_Frozen):
    """The candidate and the published set replayed on the same held-out events.

    Attributes
    ----------
    score_name : str
        What ``score`` means, e.g. ``pnl_information_ratio_60s``.
    score_bucket_s : float
        The score's P&L interval, seconds.
    window_start_ns, window_end_ns : int
        The replayed window ``[start, end)``, ns UTC.
    held_out : list of str
        Partitions replayed (``venue/symbol/YYYY-MM-DD``).
    settings : dict
        The trader settings both ran under (plain JSON).
    candidate : BacktestSummary
    baseline : BacktestSummary or None
        The published set's replay (None when nothing is published yet).
    baseline_version : str or None
        The published version replayed; the gate compares only when it is still the one
        published.
    score_diff : float or None
        ``candidate.score - baseline.score``.
    score_diff_stderr : float or None
        Standard error of that difference from the paired per-bucket P&L (same events,
        so the two scores are correlated; see assets/backtest_gate.py).
    """

    score_name: str = Field(min_length=1)
    score_bucket_s: float = Field(gt=0)
    window_start_ns: int
    window_end_ns: int
    held_out: list[str] = Field(default_factory=list)
    settings: dict[str, Any] = Field(default_factory=dict)
    candidate: BacktestSummary
    baseline: BacktestSummary | None = None
    baseline_version: str | None = None
    score_diff: float | None = None
    score_diff_stderr: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> BacktestComparison:
        if self.window_end_ns <= self.window_start_ns:
            raise ValueError("the backtest window must end after it starts")
        if (self.baseline is None) != (self.baseline_version is None):
            raise ValueError("baseline and baseline_version come together")
        return self
