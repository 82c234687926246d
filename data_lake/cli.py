"""The ``lake`` command: import recordings, query the catalog, list partitions.

::

    lake import binance data/raw/btcusdt_20240808.gz [--symbol BTCUSDT]
    lake sql "select symbol, count(*) from trades group by 1" [--format table|csv|json]
    lake ls
    lake stats trades
    lake verify [--dry-run]
    lake generate synthetic --symbols BTC,ETH,SOL --days 2 --seed 7

Every command that prints a table also takes ``--json``: one plain JSON document on
stdout instead (:mod:`data_lake.json_output`: numbers as numbers, timestamps as ns and ISO).

User errors (a missing file, a truncated recording, bad SQL) print what is wrong, where
(file and line), and what to do, without a traceback, and exit with status 2.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import typer
from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from data_lake.importing import ImportReport
from data_lake.json_output import echo_json, ts_fields
from data_lake.lake import Lake
from data_lake.schemas import DEFAULT_BOOK_DEPTH, TABLES

__all__ = ["app"]

app = typer.Typer(
    name="lake",
    help="The mmcal tick lake: import recordings, query them with SQL, list partitions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
EXIT_USER_ERROR = 2


class _State:
    home: Path | None = None


def _lake() -> Lake:
    return Lake.at(_State.home) if _State.home is not None else Lake.default()


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    return typer.Exit(EXIT_USER_ERROR)


@app.callback()
def main(
    home: Path | None = typer.Option(
        None,
        "--home",
        envvar="MMCAL_HOME",
        help="Platform home holding lake/ and lake.duckdb (default ./data).",
    ),
) -> None:
    """The mmcal tick lake."""
    _State.home = home
    # Piped or captured output is not limited to rich's default 80 columns.
    for console in (out, err):
        if not console.is_terminal:
            console.width = 160


# -- import ----------------------------------------------------------------------------


def _ns_iso(ts: int | None) -> str:
    if ts is None:
        return "-"
    return dt.datetime.fromtimestamp(ts / 1e9, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _print_report(report: ImportReport, catalog: Path) -> None:
    tables = sorted(
        set(report.accepted) | set(report.rows_written) | set(report.quarantined_by_table)
    )
    summary = Table(
        title=f"{report.importer}: {report.records_in:,} records in {report.seconds:.2f} s "
        f"({report.records_per_s:,.0f}/s)"
    )
    summary.add_column("table")
    summary.add_column("records accepted", justify="right")
    summary.add_column("records quarantined", justify="right")
    summary.add_column("rows written", justify="right")
    for name in tables:
        summary.add_row(
            name,
            f"{report.accepted.get(name, 0):,}",
            f"{report.quarantined_by_table.get(name, 0):,}",
            f"{report.rows_written.get(name, 0):,}",
        )
    summary.add_row(
        "[bold]total",
        f"[bold]{report.n_accepted:,}",
        f"[bold]{report.n_quarantined:,}",
        "",
    )
    out.print(summary)
    if report.quarantined:
        reasons = Table(title="quarantined records by reason (table: quarantine)")
        reasons.add_column("reason")
        reasons.add_column("records", justify="right")
        for reason, n in sorted(report.quarantined.items(), key=lambda kv: -kv[1]):
            reasons.add_row(reason, f"{n:,}")
        out.print(reasons)
        first = report.examples[0]
        out.print(f"first: {first.source} line {first.line}: {first.reason}", soft_wrap=True)
    for key, value in report.notes.items():
        if value not in ([], None, ""):
            out.print(f"{key}: {value}", soft_wrap=True)
    out.print(
        f"{len(report.partitions)} partition(s) written; catalog {catalog}. "
        "Next: lake ls, or lake sql \"select * from quarantine limit 5\"",
        soft_wrap=True,
    )


@app.command("import")
def import_cmd(
    source: str = typer.Argument(..., help="binance, hyperliquid or lobster."),
    paths: list[Path] = typer.Argument(..., help="Recording files (.gz/.zip accepted)."),
    symbol: str | None = typer.Option(None, "--symbol", help="Import only this symbol."),
    book_interval_ms: int = typer.Option(
        0, "--book-interval-ms", min=0, help="At most one book row per N ms (0 = every update)."
    ),
    depth: int = typer.Option(DEFAULT_BOOK_DEPTH, "--depth", min=1, help="Book levels per side."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Import raw recordings into the lake; every record is accepted or quarantined."""
    from data_lake.sources import get_importer
    from data_lake.sources.textio import InputError

    try:
        importer = get_importer(source)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise _fail(f"no such file: {', '.join(missing)}; check the path(s)")
    lake = _lake()
    total = sum(p.stat().st_size for p in paths)
    progress = Progress(
        TextColumn(f"importing {source}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=as_json,
    )
    try:
        with progress:
            task = progress.add_task("import", total=total)
            report = importer(
                lake,
                paths,
                symbol=symbol,
                book_interval_ms=book_interval_ms,
                depth=depth,
                progress=lambda n: progress.advance(task, n),
            )
    except InputError as exc:
        raise _fail(str(exc)) from None
    except ValueError as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:
        if exc.errno not in _STORAGE_ERRNOS:
            raise
        raise _fail(_storage_message(exc, lake)) from None
    if as_json:
        echo_json(report.to_dict())
    else:
        _print_report(report, lake.paths.catalog)
    if report.errors:
        for message in report.errors:
            err.print(f"[bold red]error:[/] {message}", soft_wrap=True)
        raise typer.Exit(EXIT_USER_ERROR)


_STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}


def _storage_message(exc: OSError, lake: Lake) -> str:
    """A full disk or a read-only lake, said plainly: nothing was half-written."""
    where = exc.filename or lake.root
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        what = "the disk holding the lake is full"
        fix = "free space (or point --home / MMCAL_HOME elsewhere) and run the import again"
    else:
        what = "the lake is not writable"
        fix = "check the mount and permissions of --home / MMCAL_HOME, then run it again"
    return (
        f"{what} ({exc.strerror} at {where}); the import was not applied, every "
        f"partition keeps its previous content: {fix}"
    )


# -- record ----------------------------------------------------------------------------


@app.command("record")
def record_cmd(
    source: str = typer.Argument(..., help="hyperliquid (the only live recorder)."),
    coins: str = typer.Option(..., "--coins", help="Comma-separated coins, e.g. BTC,ETH."),
    out_dir: Path | None = typer.Option(
        None, "--out", help="Directory of the line files (default $MMCAL_HOME/raw/<source>)."
    ),
    mainnet: bool = typer.Option(False, "--mainnet", help="Record mainnet (default testnet)."),
    url: str | None = typer.Option(None, "--url", help="WebSocket URL (overrides --mainnet)."),
    duration: float | None = typer.Option(
        None, "--duration", min=0.1, help="Seconds to record (default: until Ctrl-C)."
    ),
) -> None:
    """Record raw venue messages as `<recv_ts_ns> <json>` lines, one file per UTC hour.

    Files are fsynced and renamed from .part when closed; a .part left by a crash is
    recovered on the next start. The output imports with `lake import hyperliquid`.
    """
    from data_lake.recording.hyperliquid import (
        MAINNET_WS_URL,
        TESTNET_WS_URL,
        record_hyperliquid,
    )

    if source != "hyperliquid":
        raise _fail(f"no recorder for {source!r}; only 'hyperliquid' records live")
    names = [c.strip() for c in coins.split(",") if c.strip()]
    if not names:
        raise _fail("--coins is empty; pass e.g. --coins BTC,ETH")
    target = out_dir or (_lake().paths.home / "raw" / source)
    ws_url = url or (MAINNET_WS_URL if mainnet else TESTNET_WS_URL)
    err.print(f"recording {','.join(names)} from {ws_url} into {target} (Ctrl-C stops)")
    try:
        files = record_hyperliquid(ws_url, names, target, duration)
    except KeyboardInterrupt:
        files = sorted(target.glob("hyperliquid_*.txt"))
    except (OSError, ValueError) as exc:
        raise _fail(str(exc)) from None
    for path in files:
        out.print(str(path))
    out.print(f"{len(files)} file(s); import with: lake import hyperliquid {target}/*.txt",
              soft_wrap=True)


# -- sql -------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.10g}"
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, list):
        shown = ", ".join(_cell(v) for v in value[:5])
        return f"[{shown}{', ...' if len(value) > 5 else ''}]"
    return str(value)


@app.command("sql")
def sql_cmd(
    query: str = typer.Argument(..., help="SQL over trades, book, bbo, funding, quarantine..."),
    fmt: str = typer.Option("table", "--format", help="table, csv or json."),
    max_rows: int = typer.Option(100, "--max-rows", help="Rows shown by --format table."),
    as_json: bool = typer.Option(False, "--json", help="Same as --format json."),
) -> None:
    """Run a query on a read-only connection to the catalog.

    ``--format json`` (or ``--json``) prints one JSON array of row objects, every row.
    """
    import duckdb

    if as_json:
        fmt = "json"
    if fmt not in ("table", "csv", "json"):
        raise _fail(f"--format must be table, csv or json, not {fmt!r}")
    from data_lake.read_only import ReadOnlyQueryError

    try:
        frame = _lake().sql(query)
    except ReadOnlyQueryError as exc:
        raise _fail(str(exc)) from None
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0]
        raise _fail(
            f"the query failed: {first}. Tables: {', '.join(TABLES)} (quote the quarantine "
            'column "table"); try lake ls'
        ) from None
    if fmt == "csv":
        out.file.write(frame.to_csv(index=False))
        return
    if fmt == "json":
        out.file.write(frame.to_json(orient="records", date_format="iso", date_unit="ns")
                       + "\n")
        return
    table = Table()
    for col in frame.columns:
        table.add_column(str(col))
    for row in frame.head(max_rows).itertuples(index=False):
        table.add_row(*(_cell(v) for v in row))
    out.print(table)
    if len(frame) > max_rows:
        out.print(f"{len(frame):,} rows, first {max_rows} shown (--max-rows, or --format csv)")


# -- ls / stats ------------------------------------------------------------------------


@app.command("ls")
def ls_cmd(
    as_json: bool = typer.Option(
        False, "--json", help="Print the partitions as one JSON document (sizes in bytes)."
    ),
) -> None:
    """List partitions: rows, time range and size, from the Parquet footers."""
    lake = _lake()
    partitions = _partitions(lake)
    if as_json:
        echo_json({"root": str(lake.root), "partitions": partitions})
        return
    if not partitions:
        out.print(f"the lake at {lake.root} is empty; try lake import binance FILE.gz "
                  "or lake generate synthetic")
        return
    table = Table(title=f"lake {lake.root}", box=box.SIMPLE_HEAD)
    for col in ("table", "venue", "symbol", "date", "rows", "first (UTC)", "last (UTC)", "MB"):
        table.add_column(col, justify="right" if col in ("rows", "MB") else "left",
                         overflow="fold")
    for p in partitions:
        table.add_row(p["table"], p["venue"], p["symbol"], p["date"], f"{p['rows']:,}",
                      _ns_iso(p["first_ts_ns"])[11:], _ns_iso(p["last_ts_ns"])[11:],
                      f"{p['bytes'] / 1e6:.2f}")
    out.print(table)


def _partitions(lake: Lake) -> list[dict[str, Any]]:
    """Every partition file of every table: keys, rows, ts range (ns and ISO), bytes."""
    import pyarrow.parquet as pq

    found: list[dict[str, Any]] = []
    for name in TABLES:
        files = lake.paths.table_root(name).glob("venue=*/symbol=*/date=*/data.parquet")
        for path in sorted(files):
            meta = pq.ParquetFile(path).metadata
            lo, hi = _ts_range(meta)
            parts = {k: v for k, _, v in (p.partition("=") for p in path.parts[-4:-1])}
            found.append({
                "table": name, "venue": parts["venue"], "symbol": parts["symbol"],
                "date": parts["date"], "rows": meta.num_rows,
                **ts_fields("first_ts", lo), **ts_fields("last_ts", hi),
                "bytes": path.stat().st_size, "path": str(path),
            })
    return found


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _ts_range(meta: Any) -> tuple[int | None, int | None]:
    names = [meta.schema.column(i).name for i in range(meta.num_columns)]
    if "ts" not in names:
        return None, None
    col = names.index("ts")
    lo: int | None = None
    hi: int | None = None
    for g in range(meta.num_row_groups):
        stats = meta.row_group(g).column(col).statistics
        if stats is None or not stats.has_min_max:
            continue
        lo = stats.min if lo is None else min(lo, stats.min)
        hi = stats.max if hi is None else max(hi, stats.max)
    return lo, hi


@app.command("stats")
def stats_cmd(
    table_name: str = typer.Argument(..., metavar="TABLE"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document instead."),
) -> None:
    """Per-symbol counts and time ranges, and per-column summaries of one table.

    Counts and time ranges come from the Parquet footers (O(partitions), no data read);
    the column summary is one aggregate pass (min, max, mean, nulls) over the table.
    """
    if table_name not in TABLES:
        raise _fail(f"unknown table {table_name!r}; tables: {', '.join(TABLES)}")
    lake = _lake()
    per_symbol = _footer_counts(lake, table_name)
    if as_json:
        echo_json(_stats_document(lake, table_name, per_symbol))
        return
    if not per_symbol:
        out.print(f"table {table_name} is empty; try lake import or lake generate synthetic")
        return
    t = Table(title=f"{table_name}: rows by venue and symbol")
    for col in ("venue", "symbol", "rows", "first ts (UTC)", "last ts (UTC)"):
        t.add_column(col)
    for (venue, symbol), (rows, first, last) in sorted(per_symbol.items()):
        t.add_row(venue, symbol, f"{rows:,}", _ns_iso(first), _ns_iso(last))
    out.print(t)
    if table_name == "quarantine":
        reasons = _quarantine_reasons(lake)
        r = Table(title="quarantined records by table and reason")
        for col in ("table", "reason", "records"):
            r.add_column(col)
        for row in reasons.itertuples(index=False):
            r.add_row(str(row.table), str(row.reason), f"{row.n:,}")
        out.print(r)
        return
    s = Table(title=f"{table_name}: columns")
    for col in ("column_name", "column_type", "min", "max", "avg", "null_percentage"):
        s.add_column(col)
    for summary in _column_summary(lake, table_name):
        s.add_row(*(_cell(v)[:40] for v in summary))
    out.print(s)


@app.command("verify")
def verify_cmd(
    dry_run: bool = typer.Option(False, "--dry-run", help="Report only; move nothing."),
    as_json: bool = typer.Option(
        False, "--json", help="Print the corrupt files as one JSON document (exit 2 if any)."
    ),
) -> None:
    """Check every partition file (footer and page checksums); move corrupt ones aside."""
    lake = _lake()
    found = lake.verify(quarantine=not dry_run)
    if as_json:
        echo_json({
            "root": str(lake.root), "dry_run": dry_run, "ok": not found,
            "corrupt": [{"path": str(bad.path), "problem": bad.problem,
                         "moved_to": None if bad.moved_to is None else str(bad.moved_to)}
                        for bad in found],
            "reports": str(lake.root / ".corrupt" / "reports.jsonl") if found else None,
        })
        if found:
            raise typer.Exit(EXIT_USER_ERROR)
        return
    if not found:
        out.print(f"every partition file under {lake.root} reads back whole")
        return
    for bad in found:
        where = f"moved to {bad.moved_to}" if bad.moved_to else "left in place (--dry-run)"
        err.print(f"[bold red]corrupt:[/] {bad.path}: {bad.problem}; {where}", soft_wrap=True)
    err.print(f"{len(found)} corrupt partition file(s): re-import those days; reports in "
              f"{lake.root / '.corrupt' / 'reports.jsonl'}", soft_wrap=True)
    raise typer.Exit(EXIT_USER_ERROR)


_QUARANTINE_REASONS = (
    "SELECT \"table\", split_part(reason, ':', 1) AS reason, count(*) AS n "
    "FROM quarantine GROUP BY ALL ORDER BY n DESC"
)


def _quarantine_reasons(lake: Lake) -> Any:
    """Quarantined records by target table and reason (a data frame: table, reason, n)."""
    return lake.sql(_QUARANTINE_REASONS)


def _stats_document(
    lake: Lake, table_name: str, per_symbol: dict[tuple[str, str], tuple[int, Any, Any]]
) -> dict[str, Any]:
    """``lake stats --json``: the same figures as the tables, ts as ns and ISO."""
    document: dict[str, Any] = {
        "table": table_name,
        "rows": sum(rows for rows, _, _ in per_symbol.values()),
        "symbols": [
            {"venue": venue, "symbol": symbol, "rows": rows,
             **ts_fields("first_ts", first), **ts_fields("last_ts", last)}
            for (venue, symbol), (rows, first, last) in sorted(per_symbol.items())
        ],
    }
    if not per_symbol:
        return {**document, "columns": []}
    if table_name == "quarantine":
        reasons = _quarantine_reasons(lake)
        document["reasons"] = [
            {"table": str(r.table), "reason": str(r.reason), "records": int(r.n)}
            for r in reasons.itertuples(index=False)
        ]
        return document
    document["columns"] = [
        dict(zip(("column_name", "column_type", "min", "max", "avg", "null_percentage"),
                 summary, strict=True))
        for summary in _column_summary(lake, table_name)
    ]
    return document


def _footer_counts(lake: Lake, table_name: str) -> dict[tuple[str, str], tuple[int, Any, Any]]:
    """(venue, symbol) -> (rows, first ts, last ts) from every partition's footer."""
    import pyarrow.parquet as pq

    found: dict[tuple[str, str], tuple[int, Any, Any]] = {}
    for path in lake.paths.table_root(table_name).glob("venue=*/symbol=*/date=*/data.parquet"):
        meta = pq.ParquetFile(path).metadata
        lo, hi = _ts_range(meta)
        venue, symbol = (p.partition("=")[2] for p in path.parts[-4:-2])
        rows, first, last = found.get((venue, symbol), (0, None, None))
        first = lo if first is None else (first if lo is None else min(first, lo))
        last = hi if last is None else (last if hi is None else max(last, hi))
        found[(venue, symbol)] = (rows + meta.num_rows, first, last)
    return found


def _column_summary(lake: Lake, table_name: str) -> list[tuple[Any, ...]]:
    """(name, type, min, max, mean, null %) of every column, in one aggregate pass."""
    spec = TABLES[table_name]
    exprs: list[str] = []
    for field in spec.schema:
        col = f'"{field.name}"'
        scalar = not pa.types.is_list(field.type)
        numeric = pa.types.is_integer(field.type) or pa.types.is_floating(field.type)
        exprs += [
            f"min({col})" if scalar else "NULL",
            f"max({col})" if scalar else "NULL",
            f"avg({col})" if numeric else "NULL",
            f"100.0 * (count(*) - count({col})) / greatest(count(*), 1)",
        ]
    values = lake.sql(f"SELECT {', '.join(exprs)} FROM {table_name}").iloc[0].tolist()
    return [
        (field.name, str(field.type), *values[4 * i : 4 * i + 4])
        for i, field in enumerate(spec.schema)
    ]


# -- generate --------------------------------------------------------------------------


@app.command("generate")
def generate_cmd(
    source: str = typer.Argument("synthetic", help="Only 'synthetic'."),
    symbols: str | None = typer.Option(None, "--symbols", help="Comma-separated, e.g. BTC,ETH."),
    days: int = typer.Option(1, "--days", min=1, help="Trading days to simulate."),
    seed: int = typer.Option(7, "--seed", help="Random seed (same seed, same lake)."),
    start: str | None = typer.Option(None, "--start", help="First day, YYYY-MM-DD."),
    as_json: bool = typer.Option(False, "--json", help="Print what was written as JSON."),
) -> None:
    """Simulate a market with known ground truth into the lake (deterministic)."""
    if source != "synthetic":
        raise _fail(f"lake generate knows only 'synthetic', not {source!r}")
    try:
        start_day = dt.date.fromisoformat(start) if start else None
    except ValueError:
        raise _fail(f"--start {start!r} is not a date; use YYYY-MM-DD") from None
    try:
        from data_lake.sources import synthetic
    except ImportError as exc:
        raise _fail(f"the synthetic generator is not available ({exc})") from None
    symbol_list = [s.strip() for s in symbols.split(",") if s.strip()] if symbols else None
    lake = _lake()
    try:
        result = synthetic.generate_to_lake(
            lake, symbols=symbol_list, days=days, seed=seed, start=start_day
        )
    except ValueError as exc:
        raise _fail(str(exc)) from None
    rows = getattr(result, "rows", {}) or {}
    if as_json:
        to_dict = getattr(result, "to_dict", None)
        echo_json({**(to_dict() if to_dict is not None else {}),
                   "seed": seed, "days": days, "rows": {str(k): int(n) for k, n in rows.items()},
                   "catalog": str(lake.paths.catalog)})
        return
    t = Table(title=f"synthetic: seed {seed}, {days} day(s)")
    t.add_column("table")
    t.add_column("rows", justify="right")
    for name, n in rows.items():
        t.add_row(str(name), f"{int(n):,}")
    out.print(t)
    out.print(str(result), soft_wrap=True)
    out.print(f"catalog {lake.paths.catalog}; next: lake ls", soft_wrap=True)


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("COLUMNS", "120")
    app()
