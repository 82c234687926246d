"""`make run`: build the default data, run the whole graph in-process, print what came out.

1. Import the real samples of ../shared/data/real when present (venues binance,
   hyperliquid, lobster), so `lake sql` has them too.
2. Generate the default synthetic history when absent: ``HISTORY_DAYS`` days up to the
   fit day and the held-out day after it, one chained run per symbol (each day starts
   where the previous one ended, as a real market does). A second run reuses them.
3. Ingest, check and derive every day (the ingest job), for every symbol.
4. Calibrate the last history day on its trailing window, validate on the next day,
   run the publish gate.
5. Print the lake summary, the published versions, the multi-day fits against the
   planted values, and the timings.
"""

import datetime as dt
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from rich.console import Console
from rich.table import Table

from assets.history import HISTORY_DAYS
from assets.partitions import DEFAULT_START, register_days, symbol_partitions
from data_lake.lake import Lake
from data_lake.partitions import PartitionKey, partition_file
from data_lake.paths import mmcal_home
from data_lake.quality_store import QUALITY_TABLES, QualityGateError, quality_file, require_passed
from data_lake.schemas import DERIVED_TABLES
from data_lake.sources import get_importer
from data_lake.sources.synthetic import DEFAULT_MARKET, generate_to_lake
from data_lake.sources.synthetic.config import SECONDS_PER_YEAR
from orchestration.instance_home import dagster_home, ensure_instance_home

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"
REAL_SAMPLES = (
    ("binance", REAL / "binance_usdm_20240808" / "btcusdt_20240808.gz"),
    ("binance", REAL / "binance_usdm_20240808" / "ethusdt_20240808.gz"),
    ("hyperliquid", REAL / "hyperliquid_btc_20250126" / "btcusd_20250126.gz"),
    ("lobster", REAL / "lobster_goog_20120621" / "LOBSTER_SampleFile_GOOG_2012-06-21_10.zip"),
)

console = Console(width=max(Console().width, 140))


def import_real_samples(lake: Lake) -> None:
    present = [(s, p) for s, p in REAL_SAMPLES if p.exists()]
    if not present:
        console.print(f"[yellow]no real samples under {REAL}; skipping their import[/]")
        return
    for source, path in present:
        t0 = time.perf_counter()
        report = get_importer(source)(lake, [path], book_interval_ms=100)
        console.print(
            f"imported {source} {path.name}: {report.n_accepted:,} rows accepted, "
            f"{report.n_quarantined:,} quarantined ({time.perf_counter() - t0:.1f} s)"
        )


def default_days() -> list[dt.date]:
    """The history of the fit day (``HISTORY_DAYS`` days) and the held-out day after it."""
    return [DEFAULT_START + dt.timedelta(days=i) for i in range(HISTORY_DAYS + 1)]


def _generate_symbol(home: str, symbol: str, start: dt.date, n_days: int, seed: int) -> float:
    """One symbol's chained run (in a worker process); returns its seconds."""
    t0 = time.perf_counter()
    generate_to_lake(Lake.at(home), symbols=[symbol], days=n_days, seed=seed, start=start)
    return time.perf_counter() - t0


def generate_history(lake: Lake, days: list[dt.date], seed: int) -> None:
    """Generate the synthetic days of every symbol missing any, one chained run each.

    Symbols are independent runs: two worker processes use both cores.
    """
    todo = [
        symbol
        for symbol in symbol_partitions.get_partition_keys()
        if symbol in DEFAULT_MARKET.names  # a symbol of another venue must be imported
        and any(
            not partition_file(
                lake.root, "trades", PartitionKey(DEFAULT_MARKET.venue, symbol, d)
            ).exists()
            for d in days
        )
    ]
    if not todo:
        return
    t0 = time.perf_counter()
    spawn = multiprocessing.get_context("spawn")  # no fork of a process holding DuckDB
    with ProcessPoolExecutor(max_workers=min(2, len(todo)), mp_context=spawn) as pool:
        jobs = {
            s: pool.submit(_generate_symbol, str(lake.paths.home), s, days[0], len(days), seed)
            for s in todo
        }
        for symbol, job in jobs.items():
            console.print(
                f"generated synthetic {symbol} {days[0]}..{days[-1]} ({len(days)} days, "
                f"{job.result():.1f} s)"
            )
    lake.refresh()
    console.print(f"generation: {time.perf_counter() - t0:.1f} s")


def ingest_is_current(lake: Lake, venue: str, symbol: str, day: dt.date) -> bool:
    """Whether the partition passes the quality gate as it is and was derived since.

    A second `make run` then skips its ingest job; a re-imported or regenerated day (its
    files no longer match the hashes its checks recorded), a day checked by older code
    or one without derived tables is checked and derived again.
    """
    key = PartitionKey(venue, symbol, day)
    record = quality_file(lake.paths, venue, symbol, day)
    derived = [partition_file(lake.root, t.name, key) for t in DERIVED_TABLES]
    if not record.exists() or not all(p.exists() for p in derived):
        return False
    try:
        for table in QUALITY_TABLES:
            require_passed(lake.paths, table, [key])
    except QualityGateError:
        return False
    return record.stat().st_mtime_ns <= min(p.stat().st_mtime_ns for p in derived)


def _run_partition(job: str, day: str, symbol: str) -> tuple[bool, float]:
    """One job run on one partition, in a worker process; (success, seconds).

    Launched through the instance of ``$DAGSTER_HOME`` with the code location's origin
    (orchestration.launch), so `make dagster` lists the run under its job.
    """
    from dagster import DagsterInstance, MultiPartitionKey

    from orchestration.launch import launch_partition

    t0 = time.perf_counter()
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    with DagsterInstance.get() as instance:  # $DAGSTER_HOME, shared with the other worker
        run = launch_partition(
            job,
            MultiPartitionKey({"date": day, "symbol": symbol}),
            instance,
            run_config=quiet,
        )
    return run.success, time.perf_counter() - t0


def _run_all(pool: ProcessPoolExecutor, job: str, keys: list[tuple[str, str]]) -> None:
    jobs = [(day, symbol, pool.submit(_run_partition, job, day, symbol)) for day, symbol in keys]
    for day, symbol, future in jobs:
        ok, seconds = future.result()
        console.print(f"{job} {day}|{symbol}: {'ok' if ok else 'FAILED'} ({seconds:.1f} s)")


def run_pipeline(home: Path, days: list[dt.date], fit_day: dt.date) -> None:
    """Ingest every partition not yet checked and derived, then calibrate the fit day.

    Partitions are independent runs: two worker processes share the Dagster instance
    (``$DAGSTER_HOME``) and use both cores.
    """
    from orchestration.definitions import resources

    # The instance `make dagster` opens (telemetry and the first-visit pop-up off).
    os.environ["DAGSTER_HOME"] = str(ensure_instance_home(dagster_home(home)))
    from dagster import DagsterInstance

    with DagsterInstance.get() as instance:
        register_days(instance, days)  # dynamic date partitions: the days that exist
    symbols = symbol_partitions.get_partition_keys()
    lake = Lake.at(home)
    venue = resources(str(home))["lake"].venue  # type: ignore[attr-defined]
    todo = [
        (day.isoformat(), symbol)
        for day in days
        for symbol in symbols
        if not ingest_is_current(lake, venue, symbol, day)
    ]
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=spawn) as pool:
        t0 = time.perf_counter()
        _run_all(pool, "ingest", todo)
        console.print(
            f"ingest: {len(todo)} partition(s) run, {len(days) * len(symbols) - len(todo)} "
            f"already checked and derived ({time.perf_counter() - t0:.1f} s)"
        )
        t0 = time.perf_counter()
        _run_all(pool, "nightly_calibration", [(fit_day.isoformat(), s) for s in symbols])
        console.print(f"calibration: {time.perf_counter() - t0:.1f} s")


def print_summary(lake: Lake) -> None:
    parts = [
        f"SELECT '{t}' AS tbl, venue, symbol, count(*) AS n_rows, "
        f"min(date)::VARCHAR AS first_day, max(date)::VARCHAR AS last_day FROM {t} GROUP BY ALL"
        for t in ("trades", "book", "bbo", "funding", "rv_5m", "volume_1h", "quarantine")
    ]
    summary = lake.sql(" UNION ALL ".join(parts) + " ORDER BY 1, 2, 3")
    table = Table(title=f"lake {lake.paths.lake}")
    for col in summary.columns:
        table.add_column(col, justify="right" if col == "n_rows" else "left")
    for row in summary.itertuples(index=False):
        table.add_row(*[f"{v:,}" if isinstance(v, int) else str(v) for v in row])
    console.print(table)


def print_params(home: Path) -> int:
    from data_lake.registry import ParamRegistry

    registry = ParamRegistry(Lake.at(home).paths)
    table = Table(title="published param sets (latest)")
    for col in (
        "symbol",
        "version",
        "sigma bps/√s",
        "kappa bid/ask per bps",
        "A bid/ask per s",
        "AS add-on bps",
        "Hawkes n",
        "OOS score",
        "fit notes",
        "last decision",
    ):
        table.add_column(col)
    published = 0
    for symbol in registry.symbols():
        version = registry.latest_version(symbol)
        log = registry.decisions(symbol)
        # "unchanged" on a rerun over the same data: nothing new was written.
        last = log[-1].code if log else ""
        if version is None:
            table.add_row(
                symbol, "none", *[""] * 6, "not published (see `trader params list --all`)", last
            )
            continue
        doc = registry.load(symbol, version)
        q = doc.quoting
        failed = [m for m, d in doc.models.items() if d.get("error")]
        score = doc.validation.scores.get(doc.validation.primary) if doc.validation else None
        table.add_row(
            symbol,
            version,
            f"{q.sigma_bps_per_sqrt_s:.3g}",
            f"{q.kappa_bid_per_bps:.3g} / {q.kappa_ask_per_bps:.3g}",
            f"{q.A_bid_per_s:.3g} / {q.A_ask_per_s:.3g}",
            f"{q.as_addon_bps:.3g}",
            f"{q.hawkes_branching_ratio:.3f}",
            f"{score:.4g}" if score is not None else "",
            f"unfitted: {', '.join(failed)}" if failed else "all models fitted",
            last,
        )
        published += 1
    console.print(table)
    return published


def _fmt(value: object, spec: str = ".3g") -> str:
    return format(value, spec) if isinstance(value, (int, float)) else "-"


def print_history_fits(home: Path) -> None:
    """The multi-day fits of each published set next to the planted values."""
    from data_lake.registry import ParamRegistry

    registry = ParamRegistry(Lake.at(home).paths)
    table = Table(title="multi-day fits of the published sets (fitted / planted)")
    for col in (
        "symbol",
        "window",
        "Heston kappa /yr",
        "theta",
        "xi",
        "rho",
        "funding kappa /yr",
        "funding theta /h",
        "profile bins (own week)",
    ):
        table.add_column(col)
    for symbol in registry.symbols():
        version = registry.latest_version(symbol)
        if version is None:
            continue
        doc = registry.load(symbol, version)
        h = doc.quoting.heston
        funding = doc.models.get("funding", {})
        profile = doc.models.get("volume_profile", {})
        planted = DEFAULT_MARKET.symbol(symbol) if symbol in DEFAULT_MARKET.names else None
        ph = planted.heston if planted else None
        pf = planted.funding if planted else None

        def pair(fit: object, truth: object, spec: str = ".3g") -> str:
            return f"{_fmt(fit, spec)} / {_fmt(truth, spec)}"

        interval = float(funding.get("interval_s") or 3600.0)
        fit_theta_h = funding.get("theta")
        table.add_row(
            symbol,
            f"{len(doc.partitions)} days",
            pair(h.kappa_per_year if h else None, ph.kappa if ph else None),
            pair(h.theta_var_per_year if h else None, ph.theta if ph else None),
            pair(h.xi_per_year if h else None, ph.xi if ph else None),
            pair(h.rho if h else None, ph.rho if ph else None, ".2f"),
            pair(
                funding.get("kappa") if funding.get("identifiable") else None,
                pf.kappa_per_s * SECONDS_PER_YEAR if pf else None,
            ),
            pair(
                fit_theta_h * 3600.0 / interval if isinstance(fit_theta_h, float) else None,
                pf.theta * 3600.0 / pf.interval_s if pf else None,
            ),
            f"{sum(s == 'week' for s in profile.get('source', []))} / 168",
        )
    console.print(table)


def main() -> int:
    home = mmcal_home()
    lake = Lake.at(home)
    t0 = time.perf_counter()
    console.rule(f"mmcal: MMCAL_HOME={home}")
    import_real_samples(lake)
    days = default_days()
    from orchestration.definitions import resources

    seed = resources(str(home))["lake"].seed  # type: ignore[attr-defined]
    generate_history(lake, days, seed)
    run_pipeline(home, days, fit_day=days[-2])
    lake.refresh()
    print_summary(lake)
    published = print_params(home)
    print_history_fits(home)
    console.print(
        f"done in {time.perf_counter() - t0:.0f} s: {published} published param set(s). Next: "
        '`.venv/bin/trader params show latest --symbol BTC`, `.venv/bin/lake sql "..."`, '
        "`make dagster` for the UI."
    )
    return 0 if published else 1


if __name__ == "__main__":
    sys.exit(main())
