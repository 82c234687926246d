"""SIGKILL at every crash point of an import, a catalog refresh, a publish, a rollback.

After each kill every reader (the catalog views, the Parquet reader, the registry)
sees the old state or the new one, never a mix or an error, and a rerun completes.
The full run with more random-time kills is ``bench/bench_faults.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from data_lake.cli import app
from data_lake.commit import COMMITS_DIR
from data_lake.faults import CRASH_AT_ENV
from data_lake.lake import Lake
from tests.data_lake.helpers import FIXTURES
from tests.faults.crashkit import _run_child, run_kills
from tests.faults.scenarios import SCENARIOS

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_kill_point_leaves_old_or_new_state_and_a_rerun_completes(
    name: str, tmp_path: Path
) -> None:
    scenario = SCENARIOS[name]
    # The fast subset: every fourth point of the imports, no random-time kill (the bench
    # kills at every point, and at random times).
    summary = run_kills(scenario, tmp_path, every=4 if "import" in name else 1)
    assert summary.injected == len(summary.outcomes)
    assert summary.failures() == []
    assert summary.rows_lost == 0
    seen = {o.seen for o in summary.outcomes if o.died}
    if name != "catalog_refresh":  # a refresh changes no state: old == new
        assert seen == {"old", "new"}, f"kills should land before and after the commit: {seen}"


def _lake_cli(
    home: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "data_lake.cli", "--home", str(home), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
    )


def test_lake_import_killed_inside_the_catalog_refresh_leaves_lake_sql_working(
    tmp_path: Path,
) -> None:
    """The issue's case: a kill inside the first import's catalog refresh."""
    home = tmp_path / "home"
    killed = _lake_cli(
        home,
        "import",
        "binance",
        str(FIXTURES / "binance_small.txt"),
        env={CRASH_AT_ENV: "catalog.views_created:1"},
    )
    assert killed.returncode == -9, killed.stderr
    # Every partition is in place (the commit finished before the refresh) ...
    assert len(list((home / "lake").glob("*/venue=*/symbol=*/date=*/data.parquet"))) == 4
    # ... and lake sql reads them: the half-built catalog never replaced a good one.
    query = CliRunner().invoke(
        app, ["--home", str(home), "sql", "select count(*) as n from trades", "--format", "csv"]
    )
    assert query.exit_code == 0, query.stderr
    assert query.stdout.split() == ["n", "2"]


def test_an_import_killed_mid_publish_is_rolled_forward_by_the_next_reader(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"

    def lake_import(h: Path) -> None:  # `lake import`, in a forked child
        CliRunner().invoke(
            app, ["--home", str(h), "import", "binance", str(FIXTURES / "binance_small.txt")]
        )

    killed = _run_child(lake_import, home, {CRASH_AT_ENV: "commit.renamed:2"})
    assert killed == -9
    assert len(list((home / "lake" / COMMITS_DIR).iterdir())) == 1  # the manifest waits
    files = list((home / "lake").glob("*/venue=*/symbol=*/date=*/data.parquet"))
    assert len(files) == 2  # two of four partitions renamed when it died
    lake = Lake.at(home)
    counts = [
        int(lake.sql(f"select count(*) n from {t}")["n"].iloc[0])
        for t in ("trades", "book", "bbo", "quarantine")
    ]
    assert counts == [2, 3, 2, 1]  # all four, as the finished import would have left
    assert not any((home / "lake" / COMMITS_DIR).iterdir())


def test_a_publish_killed_between_pointer_and_log_is_logged_by_the_next_writer(
    tmp_path: Path,
) -> None:
    from data_lake.paths import LakePaths
    from data_lake.registry import ParamRegistry
    from tests.data_lake.test_params import make_document

    home = tmp_path / "home"
    SCENARIOS["publish"].setup(home)
    code = _run_child(SCENARIOS["publish"].action, home, {CRASH_AT_ENV: "registry.append.torn:1"})
    assert code == -9
    registry = ParamRegistry(LakePaths.at(home), refresh_catalog=False)
    latest = registry.latest_version("BTC")
    assert [d.version for d in registry.decisions("BTC")][-1] != latest  # torn: not logged
    again = registry.submit(make_document(seed=1, score=-0.9))  # the rerun
    assert again.code == "unchanged" and again.version == latest
    codes = [(d.code, d.version) for d in registry.decisions("BTC")]
    assert codes[-2:] == [("recovered", latest), ("unchanged", latest)]
