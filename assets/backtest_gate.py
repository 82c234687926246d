"""The backtest in the publish gate: the candidate and the published set trade the held-out day.

``param_backtest`` sits between ``param_validation`` and ``published_params``: it replays
the day after the fit day (the validation's held-out day) twice on the same events, once
quoting the candidate and once quoting the set published now, under the symbol's trader
settings (``trader.settings.default_settings``), and writes both results into the
candidate's ``validation.backtest`` (score, standard error, attribution, a coarse equity
curve; :class:`data_lake.registry.backtest_record.BacktestComparison`). The gate
(:func:`data_lake.registry.gate.backtest_problems`, :data:`NIGHTLY_GATE`) refuses a
candidate whose risk-adjusted score is below the published set's by more than
``GateConfig.backtest_margin_se`` standard errors of the paired difference. The asset
page shows both equity curves and the attribution table (docs/architecture.md §5).

Units: P&L in quote currency, times in ns UTC, scores dimensionless.
"""


import datetime as dt
from typing import Any

import dagster as dg
import numpy as np
from matplotlib.figure import Figure
from pydantic import ValidationError

from assets.inputs import day_input_keys, require_inputs
from assets.memory import release_freed_memory
from assets.partitions import partition_date, partition_symbol, symbol_day_partitions
from assets.plots import figure, plot_dir, png_bytes, png_markdown, save_plot
from assets.resources import LakeResource
from data_lake.quality_store import QualityGateError
from data_lake.registry import (
    GateConfig,
    ParamRegistry,
    ParamSet,
)
from data_lake.registry.backtest_record import (
    ATTRIBUTION_PARTS,
    BacktestComparison,
    BacktestSummary,
)
from data_lake.writer import day_window_ns
from trader.backtest_compare import paired_score_difference
from trader.backtesting import SCORE_BUCKET_NS, BacktestReport, backtest_param_set
from trader.settings import TraderSettings, UnknownInstrumentError, default_settings
from trader.sim import EventStream, load_events

__all__ = [
    "CURVE_STEP_NS",
    "NIGHTLY_GATE",
    "SCORE_NAME",
    "attribution_markdown",
    "compare_on_events",
    "equity_figure",
    "param_backtest",
    "summarize",
]

NIGHTLY_GATE = GateConfig(require_backtest=True)
"""The gate of the nightly job: every other rule at its default, and a candidate must
come with its backtest against the set published now (the asset always makes one)."""

SCORE_NAME = f"pnl_information_ratio_{SCORE_BUCKET_NS // 1_000_000_000}s"
"""The risk-adjusted score compared: mean over std of the P&L per 60 s interval."""

CURVE_STEP_NS = 300 * 1_000_000_000
"""The equity curve kept in the document: one sample per 5 minutes (and the last)."""


def _curve(ts_ns: np.ndarray, equity: np.ndarray) -> tuple[list[int], list[float]]:
    """The last sample of each ``CURVE_STEP_NS`` bucket (288 points for a day)."""
    if ts_ns.size == 0:
        return [], []
    buckets = (ts_ns - 1) // CURVE_STEP_NS
    last = np.flatnonzero(np.diff(buckets, append=buckets[-1] + 1) != 0)
    return [int(t) for t in ts_ns[last]], [float(e) for e in equity[last]]


def summarize(report: BacktestReport) -> dict[str, Any]:
    """A :class:`~data_lake.registry.backtest_record.BacktestSummary` as plain JSON."""
    res = report.result
    att = res.attribution
    ts, eq = _curve(res.equity_ts_ns, res.equity)
    return {
        "version": report.param_version,
        "score": report.score,
        "score_stderr": report.score_stderr,
        "n_score_buckets": report.n_score_buckets,
        "attribution": {p: float(getattr(att, p)) for p in (*ATTRIBUTION_PARTS, "total")},
        "fills": res.n_fills,
        "fill_ratio": res.fill_ratio,
        "max_drawdown": res.max_drawdown,
        "time_at_limit_s": res.time_at_limit_s,
        "final_position": res.final_position,
        "equity_ts_ns": ts,
        "equity": eq,
        "fallbacks": list(report.fallbacks),
    }


def compare_on_events(
    candidate: ParamSet,
    current: ParamSet | None,
    events: EventStream,
    settings: TraderSettings,
    *,
    window_ns: tuple[int, int],
    held_out: list[str],
) -> tuple[BacktestComparison, BacktestReport, BacktestReport | None]:
    """Replay ``events`` quoting the candidate and (when given) the published set.

    Returns the record for ``validation.backtest`` and both reports (for the plots).
    The difference's standard error is the paired one
    (:func:`trader.backtest_compare.paired_score_difference`): both runs face the same
    market, so their per-minute P&L move together.
    """
    cand = backtest_param_set(candidate, events, settings, window_ns=window_ns)
    base = None
    if current is not None:
        base = backtest_param_set(current, events, settings, window_ns=window_ns)
    diff = se = None
    if base is not None:
        paired = paired_score_difference(
            cand.result.equity_ts_ns, cand.result.equity,
            base.result.equity_ts_ns, base.result.equity, bucket_ns=SCORE_BUCKET_NS,
        )
        se = paired.stderr
        if cand.score is not None and base.score is not None:
            diff = cand.score - base.score
    record = BacktestComparison(
        score_name=SCORE_NAME,
        score_bucket_s=SCORE_BUCKET_NS / 1e9,
        window_start_ns=window_ns[0],
        window_end_ns=window_ns[1],
        held_out=held_out,
        settings=settings.to_dict(),
        candidate=BacktestSummary.model_validate(summarize(cand)),
        baseline=BacktestSummary.model_validate(summarize(base)) if base is not None else None,
        baseline_version=current.version if current is not None else None,
        score_diff=diff,
        score_diff_stderr=se,
    )
    return record, cand, base


def equity_figure(record: BacktestComparison, title: str) -> Figure:
    """Both equity curves over the held-out day, hours from its start."""
    fig, ax = figure(8, 4)
    runs = [("candidate", record.candidate)]
    if record.baseline is not None:
        runs.append((f"published {record.baseline_version}", record.baseline))
    for label, run in runs:
        hours = (np.asarray(run.equity_ts_ns, np.int64) - record.window_start_ns) / 3.6e12
        score = "n/a" if run.score is None else f"{run.score:.3f} ± {run.score_stderr or 0:.3f}"
        ax.plot(hours, run.equity, label=f"{label}: P&L {run.attribution['total']:,.2f}, "
                f"score {score}")
    ax.axhline(0.0, color="grey", lw=0.5)
    ax.set_xlabel("hours into the held-out day (UTC)")
    ax.set_ylabel("equity (quote currency)")
    ax.set_title(title)
    ax.legend(fontsize=7)
    return fig


def attribution_markdown(record: BacktestComparison) -> str:
    """The attribution table, one column per run (quote currency), and the scores."""
    runs = [("candidate", record.candidate)]
    if record.baseline is not None:
        runs.append((f"published {record.baseline_version}", record.baseline))
    lines = ["| | " + " | ".join(name for name, _ in runs) + " |",
             "|---|" + "---|" * len(runs)]
    for part in (*ATTRIBUTION_PARTS, "total"):
        lines.append(f"| {part.replace('_', ' ')} | "
                     + " | ".join(f"{r.attribution[part]:,.2f}" for _, r in runs) + " |")
    rows: list[tuple[str, list[str]]] = [
        ("fills", [f"{r.fills:,}" for _, r in runs]),
        ("fill ratio", [f"{r.fill_ratio:.4f}" for _, r in runs]),
        ("max drawdown", [f"{r.max_drawdown:,.2f}" for _, r in runs]),
        ("time at limit s", [f"{r.time_at_limit_s:,.0f}" for _, r in runs]),
        (record.score_name, [
            "n/a" if r.score is None else f"{r.score:.4f} ± {r.score_stderr or 0:.4f}"
            for _, r in runs
        ]),
    ]
    lines += [f"| {name} | " + " | ".join(cells) + " |" for name, cells in rows]
    if record.score_diff is not None:
        se = "n/a" if record.score_diff_stderr is None else f"{record.score_diff_stderr:.4f}"
        lines.append(f"\ncandidate - published: {record.score_diff:+.4f} (paired SE {se})")
    return "\n".join(lines)


def _score(value: float | None) -> dg.MetadataValue:
    """A dimensionless score to 4 significant digits, or n/a."""
    return dg.MetadataValue.text("n/a") if value is None else dg.MetadataValue.float(
        float(f"{value:.4g}")
    )


@dg.asset(
    partitions_def=symbol_day_partitions,
    group_name="params",
    deps=["held_out_day"],  # the gated held-out day (assets/held_out.py) it replays
    description="The candidate and the published set replayed on the held-out day (same "
    "events, the symbol's trader settings): scores, attribution and equity curves, written "
    "into the candidate's validation for the publish gate's backtest rule. Cost: "
    "O((n + m) log(n + m) + (n + m) L) on the held-out day: its n trades and m quotes "
    "and snapshots merged into one time-ordered event stream (a sort), then two O(n + m) "
    "replays (each event touches at most L levels and a bounded number of our orders).",
)
def param_backtest(
    context: dg.AssetExecutionContext, lake: LakeResource, param_validation: dict[str, Any]
) -> dg.Output[dict[str, Any]]:
    symbol, day = partition_symbol(context), partition_date(context)
    next_day = day + dt.timedelta(days=1)
    try:
        candidate = ParamSet.model_validate(param_validation)
    except ValidationError as exc:
        # Nothing to trade: the gate refuses it on schema or bounds, with the reason.
        context.log.warning(f"{symbol} {day}: candidate invalid, not backtested: {exc}")
        return dg.Output(param_validation, metadata={"skipped": "candidate fails the schema"})
    try:
        settings = default_settings(lake.venue, symbol)
        require_inputs(lake.paths, day_input_keys(lake.venue, symbol, next_day))
    except (UnknownInstrumentError, QualityGateError) as exc:
        raise dg.Failure(
            description=f"cannot backtest {symbol} {day} on the held-out day {next_day}: {exc}"
        ) from exc
    window = day_window_ns(next_day)
    release_freed_memory()  # the event arrays are the run's largest allocation
    events = load_events(lake.lake, lake.venue, symbol, *window)
    if len(events) == 0:
        raise dg.Failure(
            description=f"cannot backtest {symbol} {day}: no events on the held-out day "
            f"{next_day}; ingest it first (job `ingest`, partition {next_day}|{symbol})"
        )
    current = ParamRegistry(lake.paths).published(symbol)
    held_out = [f"{lake.venue}/{symbol}/{next_day.isoformat()}"]
    record, cand, base = compare_on_events(
        candidate, current, events, settings, window_ns=window, held_out=held_out
    )
    document = {
        **param_validation,
        "validation": {
            **param_validation["validation"],
            "backtest": record.model_dump(mode="json"),
        },
    }
    title = f"{symbol} held-out {next_day}: candidate vs " + (
        f"published {record.baseline_version}" if base is not None else "nothing published"
    )
    png = png_bytes(equity_figure(record, title))
    save_plot(png, plot_dir(lake.paths, lake.venue, symbol, day), "backtest_equity")
    metadata: dict[str, Any] = {
        f"plot: {title}": png_markdown(png, title),
        "attribution": dg.MetadataValue.md(attribution_markdown(record)),  # quote currency
        f"candidate score ({SCORE_NAME})": _score(cand.score),
        "candidate P&L [quote currency]": dg.MetadataValue.float(round(cand.total_pnl, 2)),
        "published version compared": record.baseline_version or "none",
        "held-out events [count]": dg.MetadataValue.int(len(events)),
    }
    if base is not None:
        metadata[f"published score ({SCORE_NAME})"] = _score(base.score)
        metadata["published P&L [quote currency]"] = dg.MetadataValue.float(
            round(base.total_pnl, 2)
        )
        metadata["score difference s.e. (paired)"] = _score(record.score_diff_stderr)
    return dg.Output(document, metadata=metadata)
