"""What a backtest leaves behind: the ``backtests`` lake row and the equity-curve PNG.

The row is built here (the trader may not import the lake's writer) and stored by
:func:`data_lake.backtests.record_backtest`. Units as in :mod:`trader.backtesting`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from data_lake.backtests import BacktestRecord, backtest_run_id, record_backtest
from data_lake.paths import LakePaths
from data_lake.registry import ParamSet, current_code_version
from data_lake.registry.document import content_hash
from trader.backtesting import BacktestReport

__all__ = [
    "backtest_record", "default_png_path", "run_id_of", "store_backtest", "write_equity_png",
]


def _overrides_json(report: BacktestReport) -> str:
    return json.dumps(report.summary()["overrides"], sort_keys=True)


def run_id_of(report: BacktestReport, param_set: ParamSet, code_version: str) -> str:
    """The ``backtests.run_id`` of this run (:func:`data_lake.backtests.backtest_run_id`)."""
    return backtest_run_id(
        param_hash=content_hash(param_set),
        venue=report.venue,
        symbol=report.symbol,
        window_start_ns=report.window_start_ns,
        window_end_ns=report.window_end_ns,
        settings_json=report.settings.to_json(),
        overrides_json=_overrides_json(report),
        code_version=code_version,
    )


def default_png_path(paths: LakePaths, report: BacktestReport, run_id: str) -> Path:
    """``$MMCAL_HOME/backtests/<venue>-<symbol>-<run_id>.png``."""
    return paths.home / "backtests" / f"{report.venue}-{report.symbol}-{run_id}.png"


def backtest_record(
    report: BacktestReport,
    param_set: ParamSet,
    *,
    png_path: Path | None,
    code_version: str | None = None,
    created_at_ns: int | None = None,
) -> BacktestRecord:
    """The ``backtests`` row of ``report`` (``run_id`` from the run's inputs)."""
    code = code_version if code_version is not None else current_code_version()
    res = report.result
    att = res.attribution
    return BacktestRecord(
        run_id=run_id_of(report, param_set, code),
        created_at=created_at_ns if created_at_ns is not None else time.time_ns(),
        venue=report.venue,
        symbol=report.symbol,
        param_version=report.param_version,
        param_hash=content_hash(param_set),
        window_start_ns=report.window_start_ns,
        window_end_ns=report.window_end_ns,
        settings_json=report.settings.to_json(),
        overrides_json=_overrides_json(report),
        spread_capture=att.spread_capture,
        adverse_selection=att.adverse_selection,
        inventory_carry=att.inventory_carry,
        funding=att.funding,
        fees=att.fees,
        total=att.total,
        fills=res.n_fills,
        fill_ratio=res.fill_ratio,
        max_drawdown=res.max_drawdown,
        time_at_limit_s=res.time_at_limit_s,
        score=report.score,
        score_stderr=report.score_stderr,
        events=res.events_processed,
        fallbacks_json=json.dumps(
            {"strategy": list(report.fallbacks), "param_set": list(report.param_set_fallbacks)}
        ),
        code_version=code,
        png_path=str(png_path) if png_path is not None else None,
    )


def store_backtest(paths: LakePaths, record: BacktestRecord) -> None:
    """Write ``record`` into the lake's ``backtests`` table (atomic, idempotent)."""
    record_backtest(paths, record)


def write_equity_png(report: BacktestReport, path: Path) -> Path:
    """Equity (quote currency) and position (base units) against UTC time, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")  # no display; must precede pyplot
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    res = report.result
    when = res.equity_ts_ns.astype("datetime64[ns]")
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(10, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    try:
        top.plot(when, res.equity, lw=1.0, color="tab:blue")
        top.axhline(0.0, color="grey", lw=0.5)
        att = res.attribution
        top.set_title(
            f"{report.venue}/{report.symbol} {report.param_version or 'file'}: "
            f"P&L {att.total:,.2f} (spread {att.spread_capture:,.2f}, adverse "
            f"{att.adverse_selection:,.2f}, carry {att.inventory_carry:,.2f}, fees "
            f"{att.fees + 0.0:,.2f}), {res.n_fills} fills",
            fontsize=9,
        )
        top.set_ylabel("equity, quote currency")
        bottom.step(when, res.equity_position, where="post", lw=0.8, color="tab:orange")
        limit = report.settings.max_position
        for level in (-limit, limit):
            bottom.axhline(level, color="grey", lw=0.5, ls="--")
        bottom.set_ylabel("position, base")
        bottom.set_xlabel("UTC")
        bottom.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d %H:%M"))
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        fig.savefig(tmp, dpi=110, format="png")
        tmp.replace(path)  # a reader sees the old picture or the new one, never half
    finally:
        plt.close(fig)
    return path
