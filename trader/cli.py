"""The ``trader`` command line (docs/architecture.md §2).

One Typer app; each area is a sub-app or a command on it, in its own section below:

- ``trader params list|show|rollback``: the param registry (:mod:`data_lake.registry`).

Every command finds its data under ``$MMCAL_HOME`` (or ``--home``). Errors a person can
fix (unknown symbol or version, corrupt file, refused rollback) print one line saying
what exists or what to do, and exit with status 2.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import orjson
import typer
from rich.console import Console
from rich.table import Table

from data_lake.paths import LakePaths
from data_lake.registry import LATEST, ParamRegistry, ParamRegistryError, VersionInfo
from data_lake.registry.document import QUOTING_UNITS, ParamSet, ParamStatus
from data_lake.registry.gate import NON_STATUS_CODES

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
) -> None:
    """Versions per symbol with status, ``latest`` marked, and each symbol's last decision."""
    registry = ParamRegistry(_paths(ctx), refresh_catalog=False)
    with _human_errors():
        symbols = [symbol] if symbol is not None else registry.symbols()
        if not symbols:
            _out().print(
                f"No param sets under {registry.root}. The nightly calibration publishes "
                "them (`make run`)."
            )
            return
        rows = [row for s in symbols for row in registry.versions(s)]
        logs = {s: registry.decisions(s) for s in symbols}
        refusals = [d for s in symbols for d in logs[s] if d.version is None] if show_all else []

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


@params_app.command("rollback")
def params_rollback(
    ctx: typer.Context,
    symbol: str = typer.Argument(..., help="The symbol to roll back."),
    version: str = typer.Argument(..., help="A previously published version id."),
    reason: str = typer.Option("manual rollback from the CLI", "--reason",
                               help="Why; stored in the decisions log."),
) -> None:
    """Republish an older version: moves ``latest`` atomically and logs the decision."""
    registry = ParamRegistry(_paths(ctx))
    with _human_errors():
        decision = registry.rollback(symbol, version, reason=reason)
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
