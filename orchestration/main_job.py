"""`make run`: build the default data, run the whole graph in-process, print what came out.

1. Import the real samples of ../shared/data/real when present (venues binance,
   hyperliquid, lobster), so `lake sql` has them too.
2. Ingest and check the default synthetic days for every symbol (generated when absent).
3. Calibrate the first day, validate on the second, run the publish gate.
4. Print the lake summary, the published versions and a one-screen summary of the fits.
"""

import datetime as dt
import os
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from assets.partitions import DEFAULT_START, symbol_partitions
from data_lake.lake import Lake
from data_lake.paths import mmcal_home
from data_lake.sources import get_importer

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


def run_pipeline(home: Path, days: tuple[dt.date, dt.date]) -> None:
    from dagster import DagsterInstance, MultiPartitionKey

    from orchestration.definitions import defs

    os.environ.setdefault("DAGSTER_HOME", str(home / "dagster_home"))
    Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    instance = DagsterInstance.get()
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    ingest = defs.resolve_job_def("ingest")
    nightly = defs.resolve_job_def("nightly_calibration")
    symbols = symbol_partitions.get_partition_keys()
    for day in days:
        for symbol in symbols:
            key = MultiPartitionKey({"date": day.isoformat(), "symbol": symbol})
            t0 = time.perf_counter()
            result = ingest.execute_in_process(
                partition_key=key, instance=instance, run_config=quiet, raise_on_error=False
            )
            console.print(
                f"ingest {key}: {'ok' if result.success else 'FAILED'} "
                f"({time.perf_counter() - t0:.1f} s)"
            )
    for symbol in symbols:
        key = MultiPartitionKey({"date": days[0].isoformat(), "symbol": symbol})
        t0 = time.perf_counter()
        result = nightly.execute_in_process(
            partition_key=key, instance=instance, run_config=quiet, raise_on_error=False
        )
        console.print(
            f"nightly_calibration {key}: {'ok' if result.success else 'FAILED'} "
            f"({time.perf_counter() - t0:.1f} s)"
        )


def print_summary(lake: Lake) -> None:
    parts = [
        f"SELECT '{t}' AS tbl, venue, symbol, count(*) AS n_rows, "
        f"min(date)::VARCHAR AS first_day, max(date)::VARCHAR AS last_day FROM {t} GROUP BY ALL"
        for t in ("trades", "book", "bbo", "funding", "quarantine")
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


def main() -> int:
    home = mmcal_home()
    lake = Lake.at(home)
    t0 = time.perf_counter()
    console.rule(f"mmcal: MMCAL_HOME={home}")
    import_real_samples(lake)
    days = (DEFAULT_START, DEFAULT_START + dt.timedelta(days=1))
    run_pipeline(home, days)
    lake.refresh()
    print_summary(lake)
    published = print_params(home)
    console.print(
        f"done in {time.perf_counter() - t0:.0f} s: {published} published param set(s). Next: "
        '`.venv/bin/trader params show latest --symbol BTC`, `.venv/bin/lake sql "..."`, '
        "`make dagster` for the UI."
    )
    return 0 if published else 1


if __name__ == "__main__":
    sys.exit(main())
