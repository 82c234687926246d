"""The ``trader`` command line (docs/architecture.md §2).

One Typer app; each area is a sub-app or a command on it, in its own section below:

- ``trader params list|show|report|rollback``: the param registry (:mod:`data_lake.registry`).
- ``trader backtest``: replay lake events with the GLFT strategy quoting a param set
  (:mod:`trader.backtesting`), print the P&L attribution, store the run in the lake's
  ``backtests`` table and draw the equity curve.

Every command finds its data under ``$MMCAL_HOME`` (or ``--home``). Errors a person can
fix (unknown symbol or version, corrupt file, refused rollback) print one line saying
what exists or what to do, and exit with status 2.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from data_lake.json_output import echo_json, ns_iso
from data_lake.lake import Lake
from data_lake.paths import LakePaths
from data_lake.registry import LATEST, ParamRegistry, ParamRegistryError, VersionInfo
from data_lake.registry.document import QUOTING_UNITS, ParamSet, ParamStatus
from data_lake.registry.gate import NON_STATUS_CODES
from trader.backtest_output import (
    backtest_record,
    default_png_path,
    run_id_of,
    store_backtest,
    write_equity_png,
)
from trader.backtest_window import BacktestWindow, NoLakeDataError, default_window, parse_time
from trader.backtesting import (
    BacktestReport,
    ProgressCallback,
    backtest_param_set,
    resolve_param_set,
)
from trader.queue_choice import choose_queue
from trader.settings import UnknownInstrumentError, default_settings
from trader.sim import load_events

__all__ = ["EXIT_USAGE", "app", "params_app"]

EXIT_USAGE = 2
"""Exit status for errors the user can fix (same as Click's usage errors)."""

_STATUS_STYLE = {
    ParamStatus.PUBLISHED: "green",
    ParamStatus.CANDIDATE: "yellow",
    ParamStatus.REJECTED: "red",
}
_MAX_ESTIMATES_PER_MODEL = 8

app = typer.Typer(
    name="trader",
    help="The lean GLFT market maker: param sets (and, as they land, run, backtest, kill).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@dataclass(frozen=True)
class _Context:
    paths: LakePaths


@app.callback()
def _main(
    ctx: typer.Context,
    home: Path | None = typer.Option(
        None, "--home", help="Platform home (default: $MMCAL_HOME, else ./data).",
        file_okay=False,
    ),
) -> None:
    ctx.obj = _Context(LakePaths.at(home) if home is not None else LakePaths.default())


def _paths(ctx: typer.Context) -> LakePaths:
    obj = ctx.find_object(_Context)
    return obj.paths if obj is not None else LakePaths.default()


def _out() -> Console:
    return Console(highlight=False)


def _fail(message: str) -> NoReturn:
    Console(stderr=True, highlight=False).print(f"[red]error:[/red] {message}", markup=True)
    raise typer.Exit(EXIT_USAGE)


@contextmanager
def _human_errors() -> Iterator[None]:
    try:
        yield
    except ParamRegistryError as exc:
        _fail(str(exc))


# -- trader params ---------------------------------------------------------------------------

params_app = typer.Typer(
    help="Inspect, show and roll back the versioned param sets the trader quotes with.",
    no_args_is_help=True,
)
app.add_typer(params_app, name="params")


@params_app.command("list")
def params_list(
    ctx: typer.Context,
    symbol: str | None = typer.Option(None, "--symbol", "-s", help="Only this symbol."),
    show_all: bool = typer.Option(
        False, "--all", help="Also rejected versions and documents refused before versioning."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print the versions and last decisions as one JSON document."
    ),
) -> None:
    """Versions per symbol with status, ``latest`` marked, and each symbol's last decision."""
    registry = ParamRegistry(_paths(ctx), refresh_catalog=False)
    with _human_errors():
        symbols = [symbol] if symbol is not None else registry.symbols()
        if not symbols and not as_json:
            _out().print(
                f"No param sets under {registry.root}. The nightly calibration publishes "
                "them (`make run`)."
            )
            return
        rows = [row for s in symbols for row in registry.versions(s)]
        logs = {s: registry.decisions(s) for s in symbols}
        refusals = [d for s in symbols for d in logs[s] if d.version is None] if show_all else []
    if as_json:
        shown = [r for r in rows if show_all or r.status is not ParamStatus.REJECTED]
        typer.echo(orjson.dumps({
            "root": str(registry.root),
            "versions": [_version_json(r) for r in shown],
            "refused": [d.to_dict() for d in refusals],
            "last_decision": {s: log[-1].to_dict() if log else None for s, log in logs.items()},
        }, option=orjson.OPT_INDENT_2, default=str))
        return

    hidden = sum(r.status is ParamStatus.REJECTED for r in rows) if not show_all else 0
    table = Table(title=f"Param sets in {registry.root}")
    for name in ("symbol", "version", "status", "latest", "created (UTC)", "code",
                 "primary OOS score", "reason"):
        table.add_column(name, overflow="fold")
    for row in rows:
        if row.status is ParamStatus.REJECTED and not show_all:
            continue
        table.add_row(*_version_cells(row))
    for d in refusals:
        table.add_row(d.symbol, "-", f"[red]{d.status.value}[/red]", "",
                      _fmt_time(d.decided_at), "", "", f"{d.code}: {d.reason} ({d.document})")
    out = _out()
    out.print(table)
    latest = ", ".join(f"{r.symbol} {r.version}" for r in rows if r.is_latest) or "none"
    note = f"; {hidden} rejected hidden (--all shows them)" if hidden else ""
    out.print(f"{len(rows)} versions of {len(symbols)} symbol(s); published: {latest}{note}")
    # The last verdict says what the latest run did, e.g. "unchanged" (nothing written);
    # a plain rejection stays hidden with its version unless --all.
    for s, log in logs.items():
        last = log[-1] if log else None
        if last is not None and (show_all or last.code in NON_STATUS_CODES
                                 or last.status is not ParamStatus.REJECTED):
            style = _STATUS_STYLE[last.status]
            out.print(f"{s} last decision {_fmt_time(last.decided_at)} UTC: "
                      f"[{style}]{last.code}[/{style}] {last.version or '-'}: {last.reason}")
    if rows:
        out.print(f"Details: trader params show latest --symbol {rows[0].symbol}")


@params_app.command("show")
def params_show(
    ctx: typer.Context,
    version: str = typer.Argument(LATEST, help="A version id, or 'latest'."),
    symbol: str | None = typer.Option(
        None, "--symbol", "-s", help="Needed when several symbols could match."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the whole document as JSON."),
) -> None:
    """One param set: the quoting block, the models' key estimates, data and validation."""
    registry = ParamRegistry(_paths(ctx), refresh_catalog=False)
    with _human_errors():
        sym = symbol if symbol is not None else _guess_symbol(registry, version)
        doc = registry.load(sym, version)
    if as_json:
        typer.echo(orjson.dumps(doc.model_dump(mode="json"), option=orjson.OPT_INDENT_2))
        return
    out = _out()
    _print_header(out, doc)
    quoting = Table(title="Quoting block")
    quoting.add_column("parameter")
    quoting.add_column("value", justify="right")
    quoting.add_column("unit")
    for name, value in doc.quoting.model_dump().items():
        quoting.add_row(name, _fmt_value(value), QUOTING_UNITS.get(name, ""))
    out.print(quoting)
    if doc.fallbacks:
        fallbacks = Table(title="Fallbacks: fields not taken from this window's fit")
        for col in ("field", "reason", "source", "value"):
            fallbacks.add_column(col, overflow="fold")
        for fb in doc.fallbacks:
            fallbacks.add_row(fb.field, fb.reason, fb.source, _fmt_value(fb.value))
        out.print(fallbacks)
    models = Table(title="Model estimates")
    models.add_column("model")
    models.add_column("estimate")
    models.add_column("value", overflow="fold")
    for model in sorted(doc.models):
        estimates = doc.estimates(model)  # today's key names, whenever the set was written
        shown = [(k, v) for k, v in estimates.items() if _is_key_estimate(v)]
        for i, (key, value) in enumerate(shown[:_MAX_ESTIMATES_PER_MODEL]):
            models.add_row(model if i == 0 else "", key, _fmt_value(value))
        if len(shown) > _MAX_ESTIMATES_PER_MODEL or len(shown) < len(estimates):
            models.add_row("", "...", f"{len(estimates)} fields in all (--json shows them)")
    out.print(models if doc.models else "No model estimates recorded.")


@params_app.command("report")
def params_report(
    ctx: typer.Context,
    version: str = typer.Argument(LATEST, help="A version id, or 'latest'."),
    symbol: str | None = typer.Option(
        None, "--symbol", "-s", help="Needed when several symbols could match."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print the summary and the report's path as one JSON document."
    ),
) -> None:
    """The path of a set's calibration report (HTML beside its document) and a summary."""
    from data_lake.registry.report import estimate_rows, report_path

    registry = ParamRegistry(_paths(ctx), refresh_catalog=False)
    with _human_errors():
        sym = symbol if symbol is not None else _guess_symbol(registry, version)
        resolved = registry.resolve(sym, version)
        doc = registry.load(sym, resolved)
        path = report_path(registry.path_of(sym, resolved))
    if not path.exists():
        _fail(f"no report for {sym} {resolved} at {path}: reports are written by the nightly "
              "job's published_params asset (sets published before it have none; rerun "
              "`make run` to write it)")
    if as_json:
        echo_json(_report_json(doc, sym, resolved, path))
        return
    out = _out()
    table = Table(title=f"{sym} {resolved}: {doc.status.value}"
                  + (f" ({doc.reason})" if doc.reason else ""))
    for col in ("model", "estimates", "fitted", "first estimate"):
        table.add_column(col, overflow="fold")
    for model in sorted(doc.models):
        estimates = doc.estimates(model)
        rows = estimate_rows(model, estimates)
        first = next((f"{n} = {v} {u}".strip() for n, v, _, u in rows if u), "")
        failed = estimates.get("error")
        table.add_row(model, str(len(rows)), f"[red]FAILED: {failed}[/red]" if failed else "yes",
                      first)
    out.print(table)
    if doc.validation is not None:
        primary = doc.validation.primary
        cand = doc.validation.scores.get(primary)
        base = doc.validation.baseline.get(primary)
        out.print(f"validation {primary}: candidate {_fmt_value(cand)}, published "
                  f"{doc.validation.baseline_version or '-'} {_fmt_value(base)}")
    if doc.dagster_run_id:
        out.print(f"made by Dagster run {doc.dagster_run_id}")
    typer.echo(str(path))


def _dotted(block: Any, name: str) -> Any:
    """The raw value at ``a.b`` in nested estimates (numbers stay numbers)."""
    for part in name.split("."):
        block = block.get(part) if isinstance(block, dict) else None
    return block


def _report_json(doc: ParamSet, symbol: str, version: str, path: Path) -> dict[str, Any]:
    """``trader params report --json``: the table's rows, the validation line, the path."""
    from data_lake.registry.report import estimate_rows

    models = []
    for model in sorted(doc.models):
        estimates = doc.estimates(model)
        rows = estimate_rows(model, estimates)
        first = next(((n, u) for n, _, _, u in rows if u), None)
        models.append({
            "model": model, "estimates": len(rows), "fitted": not estimates.get("error"),
            "error": estimates.get("error"),
            "first_estimate": None if first is None else
            {"name": first[0], "value": _dotted(estimates, first[0]), "unit": first[1]},
        })
    v = doc.validation
    return {
        "symbol": symbol, "version": version, "status": doc.status.value, "reason": doc.reason,
        "report_path": str(path), "models": models,
        "validation": None if v is None else {
            "primary": v.primary, "candidate": v.scores.get(v.primary),
            "baseline_version": v.baseline_version, "baseline": v.baseline.get(v.primary),
        },
        "dagster_run_id": doc.dagster_run_id,
    }


@params_app.command("rollback")
def params_rollback(
    ctx: typer.Context,
    symbol: str = typer.Argument(..., help="The symbol to roll back."),
    version: str = typer.Argument(..., help="A previously published version id."),
    reason: str = typer.Option("manual rollback from the CLI", "--reason",
                               help="Why; stored in the decisions log."),
    as_json: bool = typer.Option(False, "--json", help="Print the logged decision as JSON."),
) -> None:
    """Republish an older version: moves ``latest`` atomically and logs the decision."""
    registry = ParamRegistry(_paths(ctx))
    with _human_errors():
        decision = registry.rollback(symbol, version, reason=reason)
    if as_json:
        echo_json(decision.to_dict())
        return
    _out().print(
        f"{symbol}: latest is now [bold]{decision.version}[/bold] (was {decision.previous}). "
        f"Logged in {registry.root / symbol / 'decisions.jsonl'}; a running trader picks it "
        "up on its next reload."
    )


def _guess_symbol(registry: ParamRegistry, version: str) -> str:
    symbols = registry.symbols()
    if not symbols:
        _fail(f"no param sets under {registry.root}")
    if version == LATEST:
        if len(symbols) == 1:
            return symbols[0]
        _fail(f"several symbols have param sets ({', '.join(symbols)}); pass --symbol")
    owners = [s for s in symbols if version in registry.version_ids(s)]
    if len(owners) == 1:
        return owners[0]
    if owners:
        _fail(f"version {version} exists for {', '.join(owners)}; pass --symbol")
    _fail(f"no symbol has version {version!r}; symbols: {', '.join(symbols)} "
          "(trader params list shows their versions)")


def _version_json(row: VersionInfo) -> dict[str, Any]:
    return {
        "symbol": row.symbol, "version": row.version, "status": row.status.value,
        "latest": row.is_latest, "path": str(row.path),
        "created_at": row.created_at.isoformat() if row.created_at else None,
        "code_version": row.code_version,
        "primary_score": (
            {"name": row.primary_score[0], "value": row.primary_score[1]}
            if row.primary_score else None
        ),
        "reason": row.reason, "error": row.error,
    }


def _version_cells(row: VersionInfo) -> list[str]:
    style = _STATUS_STYLE[row.status]
    score = f"{row.primary_score[0]} = {row.primary_score[1]:.6g}" if row.primary_score else ""
    reason = f"[red]corrupt: {row.error}[/red]" if row.error else (
        row.reason if row.status is ParamStatus.REJECTED and row.reason else ""
    )
    return [
        row.symbol, row.version, f"[{style}]{row.status.value}[/{style}]",
        "*" if row.is_latest else "", _fmt_time(row.created_at), row.code_version or "",
        score, reason,
    ]


def _print_header(out: Console, doc: ParamSet) -> None:
    style = _STATUS_STYLE[doc.status]
    status = f"[{style}]{doc.status.value}[/{style}]" + (f" ({doc.reason})" if doc.reason else "")
    start = datetime.fromtimestamp(doc.window.start_ns / 1e9, UTC)
    end = datetime.fromtimestamp(doc.window.end_ns / 1e9, UTC)
    hours = (doc.window.end_ns - doc.window.start_ns) / 3.6e12
    failed = doc.failed_checks()
    checks = f"{sum(q.passed for q in doc.quality)}/{len(doc.quality)} passed" + (
        f"; failed: {', '.join(f'{q.check} on {q.partition}' for q in failed)}" if failed else ""
    )
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row("symbol", f"{doc.symbol} ({doc.venue})")
    head.add_row("version", str(doc.version))
    head.add_row("status", status)
    head.add_row("created", _fmt_time(doc.created_at))
    head.add_row("code", doc.code_version)
    head.add_row("window", f"{start:%Y-%m-%d %H:%M:%S} -> {end:%Y-%m-%d %H:%M:%S} UTC "
                           f"({hours:.1f} h)")
    head.add_row("partitions", ", ".join(doc.partitions))
    head.add_row("quality", checks)
    head.add_row("validation", _fmt_validation(doc))
    out.print(head)


def _fmt_validation(doc: ParamSet) -> str:
    v = doc.validation
    if v is None:
        return "none"
    text = f"{v.primary} = {v.scores[v.primary]:.6g}"
    if v.primary in v.baseline:
        against = v.baseline_version or "naive baseline"
        text += f" (baseline {against}: {v.baseline[v.primary]:.6g})"
    others = [f"{k} = {x:.6g}" for k, x in v.scores.items() if k != v.primary]
    if others:
        text += "; " + ", ".join(others)
    if v.held_out:
        text += f"; held out: {', '.join(v.held_out)}"
    return text


def _is_key_estimate(value: Any) -> bool:
    """Scalars, and vectors/matrices small enough to read on one line."""
    if value is None or isinstance(value, bool | int | float | str):
        return not isinstance(value, str) or len(value) <= 40
    if isinstance(value, list) and len(value) <= 4:
        return all(_is_key_estimate(x) and not isinstance(x, str) for x in value)
    return False


def _fmt_value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        return "[" + ", ".join(_fmt_value(x) for x in value) + "]"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_fmt_value(v)}" for k, v in value.items())
    return str(value)


def _fmt_time(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if value is not None else ""


# -- trader backtest -------------------------------------------------------------------------

_PROGRESS_MIN_EVENTS = 500_000
"""Replays at least this long show a progress bar (on stderr)."""


@app.command("backtest")
def backtest(
    ctx: typer.Context,
    params: str = typer.Option(
        ..., "--params", "-p", help="'latest', a version id, or the path of a param set JSON."
    ),
    symbol: str = typer.Option(..., "--symbol", "-s", help="Symbol, e.g. BTC or BTCUSDT."),
    venue: str | None = typer.Option(
        None, "--venue", help="Venue of the lake data (default: the param set's venue)."
    ),
    start: str | None = typer.Option(
        None, "--start", help="Window start, UTC: 2026-01-06, 2026-01-06T12:00 or ns."
    ),
    end: str | None = typer.Option(None, "--end", help="Window end (exclusive), same forms."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document instead."),
    png: Path | None = typer.Option(
        None, "--png", help="Equity-curve PNG (default: $MMCAL_HOME/backtests/...).",
        dir_okay=False,
    ),
    record: bool = typer.Option(
        True, "--record/--no-record", help="Store the run in the lake's backtests table."
    ),
    queue: str | None = typer.Option(
        None, "--queue", help="Queue model: risk_averse, prob_power or prob_log (default: "
        "the set's fitted model, else risk_averse).",
    ),
    queue_power: float | None = typer.Option(
        None, "--queue-power", help="Exponent n of prob_power (default: the set's fit).",
    ),
) -> None:
    """Backtest a param set on lake events: P&L attribution, fills, drawdown, per hour.

    The window defaults to the set's held-out day, else the day after its fit window,
    else the newest lake day for the symbol (docs/architecture.md §2, trader). The
    queue model is ``--queue``, else the one fitted in the set, else risk-averse.
    """
    paths = _paths(ctx)
    registry = ParamRegistry(paths, refresh_catalog=False)
    with _human_errors():
        doc = resolve_param_set(params, symbol, registry)
    venue = venue or doc.venue
    try:
        settings, queue_source = choose_queue(
            default_settings(venue, symbol), doc, queue, queue_power
        )
        window = _window(doc, paths, venue, start, end)
    except (UnknownInstrumentError, NoLakeDataError, ValueError) as exc:
        _fail(str(exc))
    t0 = time.perf_counter()
    events = load_events(Lake(paths), venue, symbol, window.start_ns, window.end_ns)
    if len(events) == 0:
        _fail(f"no {venue}/{symbol} events in {_fmt_ns(window.start_ns)} -> "
              f"{_fmt_ns(window.end_ns)} UTC ({window.source}); lake days: see `lake ls`")
    t_load = time.perf_counter() - t0
    t1 = time.perf_counter()
    with _progress_bar(len(events)) as progress:
        report = backtest_param_set(
            doc, events, settings, progress=progress,
            window_ns=(window.start_ns, window.end_ns), queue_source=queue_source,
        )
    t_replay = time.perf_counter() - t1
    run_id = run_id_of(report, doc, _code_version())
    png_path = png if png is not None else default_png_path(paths, report, run_id)
    write_equity_png(report, png_path)
    if record:
        store_backtest(paths, backtest_record(report, doc, png_path=png_path,
                                              code_version=_code_version()))
    timing = {"load_s": t_load, "replay_s": t_replay,
              "events_per_s": len(events) / t_replay if t_replay > 0 else None}
    if as_json:
        summary = report.summary()
        document = {**summary, "window_start": ns_iso(window.start_ns),
                    "window_end": ns_iso(window.end_ns),
                    "hours": [{**h, "hour_start": ns_iso(h["hour_start_ns"])}
                              for h in summary["hours"]],
                    "run_id": run_id, "png_path": str(png_path),
                    "recorded": record, "window_source": window.source, "timing": timing}
        typer.echo(orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))
        return
    _print_backtest(_out(), report, window, timing)
    out = _out()
    out.print(f"equity curve: {png_path}")
    if record:
        out.print(f"recorded as run {run_id}: lake sql \"select * from backtests "
                  f"where run_id = '{run_id}'\"")


_CODE_VERSION: list[str] = []


def _code_version() -> str:
    """The code version, asked of git once per process."""
    if not _CODE_VERSION:
        from data_lake.registry import current_code_version

        _CODE_VERSION.append(current_code_version())
    return _CODE_VERSION[0]


def _window(
    doc: ParamSet, paths: LakePaths, venue: str, start: str | None, end: str | None
) -> BacktestWindow:
    if start is None and end is None:
        return default_window(doc, paths, venue)
    if start is None or end is None:
        raise ValueError("give both --start and --end, or neither (the default window)")
    start_ns, end_ns = parse_time(start), parse_time(end)
    if end_ns <= start_ns:
        raise ValueError(f"--end ({end}) must be after --start ({start})")
    return BacktestWindow(start_ns, end_ns, "--start/--end")


@contextmanager
def _progress_bar(total: int) -> Iterator[ProgressCallback | None]:
    if total < _PROGRESS_MIN_EVENTS:
        with nullcontext():
            yield None
        return
    bar = Progress(
        TextColumn("replaying"), BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} events"), TimeRemainingColumn(),
        console=Console(stderr=True), transient=True,
    )
    with bar:
        task = bar.add_task("replay", total=total)

        def update(done: int, _total: int) -> None:
            bar.update(task, completed=done)

        yield update


def _fmt_ns(ts_ns: int) -> str:
    return datetime.fromtimestamp(ts_ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _money(value: float) -> str:
    return f"{value + 0.0:,.4f}" if math.isfinite(value) else str(value)  # no "-0.0000"


def _print_backtest(
    out: Console, report: BacktestReport, window: BacktestWindow, timing: dict[str, Any]
) -> None:
    res = report.result
    att = res.attribution
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row("instrument", f"{report.symbol} on {report.venue}")
    head.add_row("param set", report.param_version or "(file, unversioned)")
    head.add_row("window", f"{_fmt_ns(window.start_ns)} -> {_fmt_ns(window.end_ns)} UTC "
                           f"({window.source})")
    rate = timing["events_per_s"]
    head.add_row("events", f"{res.events_processed:,} replayed in {timing['replay_s']:.2f} s"
                           + (f" ({rate:,.0f}/s)" if rate else "")
                           + f"; loaded in {timing['load_s']:.2f} s")
    s = report.settings
    head.add_row("settings", f"gamma {s.gamma:g}/bps, order {s.order_size:g}, max position "
                             f"{s.max_position:g}, fees {s.maker_fee_bps:g}/{s.taker_fee_bps:g} "
                             f"bps, queue {s.queue_model}"
                             + (f" n {s.queue_param:.3g}" if s.queue_model == "prob_power"
                                else "")
                             + f" ({report.queue_source}), "
                             f"markout {s.markout_horizon_ns / 1e9:g} s")
    out.print(head)

    notional = float(sum(abs(p * q) for p, q in zip(res.fill_px, res.fill_qty, strict=True)))
    parts = Table(title="P&L attribution (quote currency; parts sum to the total)")
    parts.add_column("part")
    parts.add_column("P&L", justify="right")
    parts.add_column("bps of traded notional", justify="right")
    for name, value in (
        ("spread capture", att.spread_capture),
        ("adverse selection", att.adverse_selection),
        ("inventory carry", att.inventory_carry),
        ("funding", att.funding),
        ("fees", att.fees),
        ("total", att.total),
    ):
        bps = f"{value / notional * 1e4 + 0.0:.3f}" if notional > 0 else "-"
        style = "bold" if name == "total" else ""
        parts.add_row(name, _money(value), bps, style=style)
    out.print(parts)

    span_s = max((window.end_ns - window.start_ns) / 1e9, 1e-9)
    stats = Table(title="Trading")
    stats.add_column("figure")
    stats.add_column("value", justify="right")
    score_text = "-" if report.score is None else (
        f"{report.score:.4f}" + ("" if report.score_stderr is None
                                 else f" +- {report.score_stderr:.4f}")
    )
    for name, text in (
        ("fills", f"{res.n_fills:,}"),
        ("filled / quoted size", f"{res.filled_qty:g} / {res.quoted_qty:g}"),
        ("fill ratio", f"{res.fill_ratio:.4%}"),
        ("time at position limit", f"{res.time_at_limit_s:,.1f} s "
                                   f"({res.time_at_limit_s / span_s:.2%})"),
        ("max drawdown", _money(res.max_drawdown)),
        ("final position", f"{res.final_position:g}"),
        ("orders / modifies / cancels / rejects",
         f"{res.orders_sent:,} / {res.modifies_sent:,} / {res.cancels_sent:,} / {res.rejects:,}"),
        (f"score (mean/std of 60 s P&L, {report.n_score_buckets} buckets)", score_text),
    ):
        stats.add_row(name, text)
    out.print(stats)

    if len(res.hour_start_ns):
        hours = Table(title="Per hour")
        for col in ("hour (UTC)", "P&L", "fills"):
            hours.add_column(col, justify="right")
        for h, pnl, n in zip(res.hour_start_ns, res.hour_pnl, res.hour_fills, strict=True):
            hours.add_row(_fmt_ns(int(h))[:-3], _money(float(pnl)), f"{int(n):,}")
        pnl = res.hour_pnl
        if pnl.size > 1:
            hours.caption = (f"mean {np.mean(pnl):,.4f}, std {np.std(pnl, ddof=1):,.4f}, "
                             f"positive {int(np.sum(pnl > 0))}/{pnl.size} hours")
        out.print(hours)

    if report.fallbacks or report.param_set_fallbacks:
        fb = Table(title="Fallbacks (conservative values in place of unusable fits)")
        fb.add_column("where")
        fb.add_column("field: reason -> value", overflow="fold")
        for text in report.fallbacks:
            fb.add_row("trader", text)
        for text in report.param_set_fallbacks:
            fb.add_row("param set", text)
        out.print(fb)
    else:
        out.print("Fallbacks: none (every quoting field came from the fit).")
    if report.overrides:
        out.print(f"Strategy overrides: {report.overrides}")


# -- trader run / kill / reset / status (the live trader, trader.live) ------------------------
# Imports stay inside the commands: `trader params` and `trader backtest` do not pay for
# the live trader's modules, and `trader run` does not pay for matplotlib.


@app.command("run")
def run(
    ctx: typer.Context,
    params: str = typer.Option(
        "latest", "--params", "-p",
        help="'latest' (follows new publications), a version id, or a param set JSON path.",
    ),
    venue: str = typer.Option(
        "paper", "--venue", help="Execution venue: 'paper' (simulated) or 'hyperliquid' "
        "(signed orders; testnet unless --mainnet; key from $MMCAL_HL_PRIVATE_KEY or "
        "--key-file)."
    ),
    feed: str = typer.Option(
        "lake", "--feed", help="Market data of the paper venue: 'lake' (newest day "
        "replayed) or 'hyperliquid' (live, testnet unless --mainnet)."
    ),
    mainnet: bool = typer.Option(
        False, "--mainnet", help="Hyperliquid mainnet (default: testnet)."
    ),
    key_file: Path | None = typer.Option(
        None, "--key-file", help="File holding the Hyperliquid signing key (mode 0600). "
        "The key itself is never taken on the command line."
    ),
    hl_url: str | None = typer.Option(
        None, "--hl-url", help="Hyperliquid REST base URL (overrides --mainnet; the "
        "WebSocket is <url>/ws)."
    ),
    hl_ws_url: str | None = typer.Option(
        None, "--hl-ws-url", help="Hyperliquid WebSocket URL (default: from --hl-url)."
    ),
    kill_after: float = typer.Option(
        30.0, "--kill-after", help="Hyperliquid venue: kill after this many seconds "
        "without a synced connection."
    ),
    symbols: str | None = typer.Option(
        None, "--symbols", help="Comma-separated, e.g. BTC,ETH (default: every published)."
    ),
    duration: float | None = typer.Option(
        None, "--duration", help="Wall seconds to run (default: until the replay ends)."
    ),
    speed: float = typer.Option(
        1.0, "--speed", help="Replay speed, x real time; 0 = as fast as possible."
    ),
    metrics_port: int = typer.Option(
        9464, "--metrics-port", help="Prometheus endpoint on 127.0.0.1; 0 = off."
    ),
    max_drawdown: float | None = typer.Option(
        None, "--max-drawdown", help="Kill when equity falls this far below its peak "
        "(quote currency, per symbol)."
    ),
    max_notional: float | None = typer.Option(
        None, "--max-notional", help="Kill above this |position| x mid (quote currency)."
    ),
    position_factor: float = typer.Option(
        1.5, "--position-factor", help="Kill above this multiple of the max position."
    ),
    stale_after: float = typer.Option(
        10.0, "--stale-after", help="Kill after this many wall seconds without a book update."
    ),
    flatten_on_kill: bool = typer.Option(
        False, "--flatten-on-kill", help="On a kill, also send an IOC order to go flat."
    ),
    portfolio_risk_limit: float | None = typer.Option(
        None, "--portfolio-risk-limit", help="Largest 1-hour std of the P&L of every symbol "
        "together (published correlations), quote currency: a quote that would add risk "
        "above it is pulled; --portfolio-kill-factor x it kills (default: none)."
    ),
    portfolio_beta_limit: float | None = typer.Option(
        None, "--portfolio-beta-limit", help="Largest |net notional in units of the hedge "
        "symbol| (published hedge ratios), quote currency; pulled and killed likewise."
    ),
    portfolio_kill_factor: float = typer.Option(
        1.5, "--portfolio-kill-factor", help="A portfolio measure above this multiple of "
        "its limit trips the kill switch (portfolio_limit)."
    ),
    collateral: float | None = typer.Option(
        None, "--collateral", help="Margin per symbol, quote currency: the position limit "
        "then follows leverage and the liquidation buffer (default: no margin sizing)."
    ),
    leverage: float = typer.Option(10.0, "--leverage", help="Largest notional / collateral."),
    maintenance_rate: float = typer.Option(
        0.005, "--maintenance-rate", help="Maintenance margin, fraction of notional."
    ),
    liq_buffer: float = typer.Option(
        0.05, "--liq-buffer", help="Smallest mark-to-liquidation distance sized for (fraction)."
    ),
    save_every: float = typer.Option(5.0, "--save-every", help="State save period, seconds."),
    fresh: bool = typer.Option(
        False, "--fresh", help="Ignore the saved state (start flat; it is overwritten)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Quote live on the paper venue: the newest lake day replayed at --speed.

    Params are resolved at start; with 'latest' a newly published version is checked and
    swapped in between quote cycles (a bad one is refused and logged). State is saved
    under $MMCAL_HOME/trader/ and resumed on restart. SIGTERM cancels all orders, saves
    and exits 0. Logs are JSON lines on stderr (docs/architecture.md §8).
    """
    from trader.live.feed import NoLakeDataError
    from trader.live.files import TraderAlreadyRunningError
    from trader.live.logs import configure_json_logging
    from trader.live.params import ParamsRefusedError
    from trader.live.runner import RunConfig, run_trader
    from trader.risk import MarginConfig, RiskLimits

    configure_json_logging()
    if venue == "hyperliquid" and (portfolio_risk_limit, portfolio_beta_limit) != (None, None):
        _fail("--portfolio-risk-limit and --portfolio-beta-limit are enforced by the paper "
              "venue's engine only; the hyperliquid venue does not apply them yet: drop them "
              "or use --venue paper")
    if venue == "hyperliquid":
        _run_hyperliquid_venue(ctx, params, symbols, mainnet, key_file, hl_url, hl_ws_url,
                               duration, metrics_port, stale_after, kill_after, as_json)
        return
    if venue != "paper":
        _fail(f"unknown venue {venue!r}; use 'paper' or 'hyperliquid'")
    try:
        limits = RiskLimits(
            position_factor=position_factor,
            max_notional=math.inf if max_notional is None else max_notional,
            max_drawdown=math.inf if max_drawdown is None else max_drawdown,
            stale_after_s=stale_after, flatten_on_kill=flatten_on_kill,
            portfolio_risk=math.inf if portfolio_risk_limit is None else portfolio_risk_limit,
            portfolio_beta_notional=math.inf if portfolio_beta_limit is None
            else portfolio_beta_limit,
            portfolio_kill_factor=portfolio_kill_factor,
        )
        urls = _hl_urls(hl_url, hl_ws_url, mainnet)
        if speed < 0 or (duration is not None and duration <= 0):
            raise ValueError("--speed must be >= 0 and --duration > 0")
        config = RunConfig(
            paths=_paths(ctx), params=params, venue=venue,
            symbols=tuple(s.strip() for s in symbols.split(",") if s.strip()) if symbols else (),
            duration_s=duration, speed=speed, metrics_port=metrics_port, limits=limits,
            save_every_s=save_every, resume=not fresh, feed=feed,
            hl_rest_url=urls[0], hl_ws_url=urls[1],
            margin=None if collateral is None else MarginConfig(
                collateral=collateral, leverage=leverage, maintenance_rate=maintenance_rate,
                buffer=liq_buffer),
        )
        summary = run_trader(config)
    except (ParamRegistryError, ParamsRefusedError, NoLakeDataError, UnknownInstrumentError,
            TraderAlreadyRunningError, ValueError) as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"{exc} (is --metrics-port {metrics_port} in use? pick another or 0)")
    if as_json:
        typer.echo(orjson.dumps(summary, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))
        return
    _print_run_summary(_out(), summary)


def _hl_urls(hl_url: str | None, hl_ws_url: str | None, mainnet: bool) -> tuple[str, str]:
    """The live feed's Hyperliquid endpoints (RunConfig fields)."""
    from trader.hyperliquid.http import MAINNET_API_URL, TESTNET_API_URL, ws_url_of

    base = hl_url or (MAINNET_API_URL if mainnet else TESTNET_API_URL)
    return base, hl_ws_url or ws_url_of(base)


def _run_hyperliquid_venue(
    ctx: typer.Context, params: str, symbols: str | None, mainnet: bool,
    key_file: Path | None, hl_url: str | None, hl_ws_url: str | None,
    duration: float | None, metrics_port: int,
    stale_after: float, kill_after: float, as_json: bool,
) -> None:
    """``trader run --venue hyperliquid``: signed orders (docs/hyperliquid.md)."""
    from trader.hyperliquid.http import VenueError, VenueUnavailableError
    from trader.hyperliquid.keys import SigningKeyError
    from trader.hyperliquid.live import VenueRun, run_hyperliquid
    from trader.live.params import ParamsRefusedError

    run_spec = VenueRun(
        paths=_paths(ctx), params=params,
        symbols=tuple(s.strip() for s in symbols.split(",") if s.strip()) if symbols else (),
        mainnet=mainnet, key_file=key_file, rest_url=hl_url, ws_url=hl_ws_url,
        duration_s=duration,
        metrics_port=metrics_port, stale_book_s=stale_after, kill_after_s=kill_after,
    )
    try:
        summary = run_hyperliquid(run_spec)
    except (ParamRegistryError, ParamsRefusedError, UnknownInstrumentError, SigningKeyError,
            VenueError, VenueUnavailableError, ValueError) as exc:
        _fail(str(exc))
    if as_json:
        typer.echo(orjson.dumps(summary, option=orjson.OPT_INDENT_2))
        return
    out = _out()
    out.print(f"stopped: {summary['stopped_by']}; {summary['connects']} connection(s), "
              f"{summary['resyncs']} resync(s); clock offset {summary['clock_offset_ms']} ms, "
              f"RTT {summary['rtt_ms']} ms")
    for s in summary["symbols"]:
        out.print(f"{s['symbol']}: position {s['position']:g}, fills {s['fills']}, "
                  f"P&L {_money(s['pnl']['total'])}")


def _print_run_summary(out: Console, summary: dict[str, Any]) -> None:
    lat = summary["tick_to_quote_us"]
    lat_text = (f", tick-to-quote p50 {lat['p50']:.1f} us p99 {lat['p99']:.1f} us"
                if lat else "")
    out.print(f"stopped: {summary['stopped_by']} after {summary['wall_s']:.1f} s{lat_text}")
    symbols = summary["symbols"]
    table = Table(title="Live run (paper venue)")
    table.add_column("")
    for s in symbols:
        table.add_column(s["symbol"], justify="right")
    table.add_row("params", *(str(s["params_version"]) for s in symbols))
    table.add_row("position", *(f"{s['position']:g}" for s in symbols))
    table.add_row("fills (run/total)",
                  *(f"{s['fills_this_run']:,}/{s['fills_total']:,}" for s in symbols))
    for key, label in (("spread_capture", "spread capture"), ("adverse_selection",
                       "adverse selection"), ("inventory_carry", "inventory carry"),
                       ("funding", "funding"), ("fees", "fees"), ("total", "P&L total")):
        table.add_row(label, *(_money(s["pnl"][key]) for s in symbols))
    out.print(table)
    portfolio = summary.get("portfolio")
    if portfolio is not None:
        pulled = ", ".join(f"{s} {'+'.join(sides)}" for s, sides in portfolio["pulled"].items()
                           if sides) or "none"
        limits = {k: "none" if v is None else f"{v:,.2f}"
                  for k, v in portfolio["limits"].items()}
        out.print(f"portfolio: 1-hour P&L std {portfolio['risk_1h']:,.2f} (limit "
                  f"{limits['risk_1h']}), beta net notional "
                  f"{portfolio['beta_net_notional']:,.2f} on {portfolio['model']['hedge_symbol']} "
                  f"(limit {limits['beta_net_notional']}); sides pulled: {pulled}")
    kill = summary["kill_switch"]
    if kill["active"]:
        out.print("[red]kill switch DOWN[/red]: " + "; ".join(
            f"{r['trigger']}: {r['detail']}" for r in kill["reasons"]) + " (trader reset)")


@app.command("kill")
def kill(
    ctx: typer.Context,
    reason: str = typer.Option(..., "--reason", "-r", help="Why (logged and kept)."),
) -> None:
    """Trip the kill switch of the running trader (picked up within one loop iteration):
    cancel all orders and stop quoting until `trader reset`."""
    from trader.live.files import TraderFiles

    files = TraderFiles(_paths(ctx))
    files.send("kill", reason=reason)
    pid = files.running_pid()
    _out().print(f"kill sent to the trader (pid {pid})" if pid else
                 "kill queued: no trader is running; the next `trader run` starts killed")


@app.command("reset")
def reset(ctx: typer.Context) -> None:
    """Reset the kill switch of the running trader (or of the next one to start)."""
    from trader.live.files import TraderFiles

    files = TraderFiles(_paths(ctx))
    files.send("reset", by="trader reset")
    pid = files.running_pid()
    _out().print(f"reset sent to the trader (pid {pid})" if pid else
                 "reset queued: no trader is running; the next `trader run` applies it")


@app.command("status")
def status(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the saved state as JSON."),
) -> None:
    """The trader's saved state: running or not, kill switch, per symbol position, P&L,
    fills, params version."""
    from trader.live.files import TraderFiles

    files = TraderFiles(_paths(ctx))
    try:
        state = files.load_state()
    except ValueError as exc:
        _fail(str(exc))
    pid = files.running_pid()
    if state is None:
        if as_json:
            typer.echo(orjson.dumps({"running": pid is not None, "pid": pid, "state": None}))
            return
        _out().print(f"No trader state under {files.root}: start one with `trader run`.")
        return
    document = {"running": pid is not None, "pid": pid, "state_path": str(files.state_path),
                **{k: v for k, v in state.items() if k != "running"}}
    if as_json:
        for row in document["symbols"].values():  # replay position: ns and ISO
            at = row["feed"]["last_ts_ns"]
            row["feed"] = {**row["feed"], "last_ts": ns_iso(at) if at >= 0 else None}
        typer.echo(orjson.dumps(document, option=orjson.OPT_INDENT_2))
        return
    out = _out()
    out.print(f"trader {'running (pid ' + str(pid) + ')' if pid else 'stopped'}; state saved "
              f"{state['saved_at']} ({files.state_path})")
    kill_state = state["kill"]
    out.print("kill switch: " + ("[red]DOWN[/red]: " + "; ".join(
        f"{r['trigger']}: {r['detail']}" for r in kill_state["reasons"])
        if kill_state["active"] else "[green]up[/green]"))
    table = Table(title="Per symbol")
    for col in ("symbol", "venue", "params", "position", "mid", "fills", "open orders",
                "P&L total", "replay at"):
        table.add_column(col, justify="right")
    for symbol, row in sorted(state["symbols"].items()):
        at = row["feed"]["last_ts_ns"]
        table.add_row(symbol, row["venue"], str(row["params_version"]), f"{row['position']:g}",
                      "-" if row["mid"] is None else f"{row['mid']:,.4f}", f"{row['fills']:,}",
                      str(len(row["open_orders"])), _money(row["pnl"]["total"]),
                      _fmt_ns(at) if at >= 0 else "-")
    out.print(table)
