"""The Dagster UI as a user sees it, in headless Chromium (Debian's chromium and
chromedriver: `make chromium` / tools/ensure_chromium.sh installs them).

A small pipeline (one symbol, the fit day and its held-out day of a thinned synthetic
market) runs through the instance the way `make run` launches it; then the test starts
`dagster-webserver` on a free port against that instance and checks, through the pages
and the GraphQL API behind them: the job page lists its runs (they carry the code
location's origin), an asset check names its partition, a failed fit shows as failed
with its reason, no first-visit pop-up covers the page, and the calibration report
renders its plots. Screenshots of the key pages go to the folder the test prints
(``$MMCAL_UI_SCREENSHOTS`` when set, e.g. docs/screenshots).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dagster._core.instance.ref import InstanceRef

from assets.partitions import DEFAULT_START
from data_lake.lake import Lake
from data_lake.registry import ParamRegistry
from data_lake.registry.report import report_path
from data_lake.sources.synthetic import DEFAULT_MARKET, generate_to_lake
from orchestration.definitions import resources
from orchestration.instance_home import ensure_instance_home
from orchestration.launch import CODE_LOCATION, REPOSITORY_NAME, launch_partition
from tests.trader.live.trader_subprocess import free_port

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SYMBOL = "SOL"
FIT_DAY = DEFAULT_START
HELD_OUT = DEFAULT_START + dt.timedelta(days=1)
PARTITION = f"{FIT_DAY.isoformat()}|{SYMBOL}"
# A thinner SOL (20 % of the order flow, a book snapshot every 5 s) keeps the run short.
MARKET = DEFAULT_MARKET.with_activity(SYMBOL, 0.2).with_snapshot_interval(5.0)


class Ui:
    """The running webserver: GraphQL queries and the browser."""

    def __init__(self, base: str, driver: Any, shots: Path, home: Path) -> None:
        self.base, self.driver, self.shots, self.home = base, driver, shots, home

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            f"{self.base}/graphql", body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            out = json.loads(response.read())
        assert "errors" not in out, out
        return dict(out["data"])

    def open(self, url: str, expect: str, timeout_s: float = 90.0) -> str:
        """Load ``url`` and wait until the page's text holds ``expect``; returns the text."""
        self.driver.get(url if url.startswith("file:") else self.base + url)
        deadline = time.monotonic() + timeout_s
        text = ""
        while time.monotonic() < deadline:
            text = self.driver.find_element("tag name", "body").text
            if expect in text:
                time.sleep(1.0)  # let the remaining panels render before a screenshot
                return str(self.driver.find_element("tag name", "body").text)
            time.sleep(0.5)
        self.shot("timeout")
        raise AssertionError(f"{url}: {expect!r} not on the page; it shows:\n{text[:2000]}")

    def shot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path


def _run_pipeline(home: Path, instance: dg.DagsterInstance) -> None:
    t0 = time.perf_counter()
    generate_to_lake(Lake.at(home), symbols=[SYMBOL], days=2, seed=7, start=FIT_DAY, market=MARKET)
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    for job, day in (("ingest", FIT_DAY), ("ingest", HELD_OUT), ("nightly_calibration", FIT_DAY)):
        key = dg.MultiPartitionKey({"date": day.isoformat(), "symbol": SYMBOL})
        run = launch_partition(job, key, instance, resources=resources(str(home)), run_config=quiet)
        assert run.success, f"{job} {key} failed: run {run.run_id}"
        print(f"{job} {key}: {time.perf_counter() - t0:.0f} s since the start")


def _wait_for_server(base: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"dagster-webserver exited: {log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{base}/server_info", timeout=5):
                return
        except OSError:
            time.sleep(1.0)
    raise AssertionError(f"dagster-webserver not up after 240 s: {log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ui]:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail(
            f"{CHROMIUM} or {CHROMEDRIVER} missing: run `make chromium` "
            "(tools/ensure_chromium.sh installs Debian's chromium and chromium-driver)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    home = tmp_path_factory.mktemp("ui_home")
    dagster_home = ensure_instance_home(home / "dagster_home")
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(dagster_home))) as instance:
        _run_pipeline(home, instance)
    workspace = home / "workspace.yaml"
    workspace.write_text(
        "load_from:\n  - python_module:\n      module_name: orchestration.definitions\n"
        f"      location_name: {CODE_LOCATION}\n      working_directory: {REPO}\n"
    )
    port = free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(dagster_home),
        "MMCAL_HOME": str(home),
        "PYTHONPATH": str(REPO),  # this checkout's code, not another editable install
    }
    log = home / "webserver.log"
    exe = Path(sys.executable).parent / "dagster-webserver"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(exe), "-h", "127.0.0.1", "-p", str(port), "-w", str(workspace)],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1440,1000",
        "--disable-gpu",
    ):
        options.add_argument(arg)
    driver = None
    try:
        _wait_for_server(base, server, log)
        # Selenium never downloads a driver: Debian's chromedriver is given.
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        shots = Path(os.environ.get("MMCAL_UI_SCREENSHOTS") or home / "screenshots")
        shots.mkdir(parents=True, exist_ok=True)
        print(f"\nDagster UI screenshots: {shots.resolve()}")
        yield Ui(base, driver, shots.resolve(), home)
    finally:
        if driver is not None:
            driver.quit()
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def test_job_page_lists_the_runs_made_through_the_instance(ui: Ui) -> None:
    data = ui.graphql(
        """query($name: String!, $repo: String!, $loc: String!) {
          pipelineOrError(params: {pipelineName: $name, repositoryName: $repo,
                                   repositoryLocationName: $loc}) {
            ... on Pipeline { runs { runId status } } } }""",
        {"name": "nightly_calibration", "repo": REPOSITORY_NAME, "loc": CODE_LOCATION},
    )
    runs = data["pipelineOrError"]["runs"]
    assert [r["status"] for r in runs] == ["SUCCESS"], runs
    run_id = runs[0]["runId"]
    text = ui.open(f"/locations/{CODE_LOCATION}/jobs/nightly_calibration/runs", run_id[:8])
    assert "No runs" not in text
    # Instance settings: telemetry and the first-visit pop-up are off.
    assert "community" not in text.lower(), "the first-visit pop-up covers the page"
    ui.shot("job_runs")
    ui.open("/overview/activity/timeline", "nightly_calibration")
    ui.shot("overview_timeline")


def test_asset_checks_name_their_partition(ui: Ui) -> None:
    data = ui.graphql(
        """query { assetCheckExecutions(assetKey: {path: ["checked_day"]},
                     checkName: "no_crossed_bbo", limit: 10) {
             partition status evaluation { partition success } } }"""
    )
    executions = data["assetCheckExecutions"]
    assert {e["partition"] for e in executions} == {
        PARTITION,
        f"{HELD_OUT.isoformat()}|{SYMBOL}",
    }, executions
    assert all(e["status"] == "SUCCEEDED" for e in executions)
    ui.open(f"/assets/checked_day?view=checks&partition={PARTITION}", "no_crossed_bbo")
    ui.shot("checks")


def test_a_failed_fit_shows_as_failed_with_its_reason(ui: Ui) -> None:
    # One fit day holds 24 funding prints: the OU needs 30, so the funding fit fails.
    data = ui.graphql(
        """query { assetCheckExecutions(assetKey: {path: ["funding_fit"]},
                     checkName: "fit_quality", limit: 5) {
             partition status evaluation { severity description success } } }"""
    )
    (execution,) = data["assetCheckExecutions"]
    assert execution["partition"] == PARTITION
    assert execution["status"] == "FAILED"
    assert execution["evaluation"]["severity"] == "WARN"
    assert (
        "fit failed: funding OU needs at least 30 rates" in execution["evaluation"]["description"]
    )
    text = ui.open(f"/assets/funding_fit?view=checks&partition={PARTITION}", "fit_quality")
    assert "Failed" in text or "FAILED" in text, text[:2000]
    ui.shot("failed_fit_check")
    # A fitted model: its page shows the metadata with units and the plot entry.
    text = ui.open(f"/assets/heston_fit?partition={PARTITION}", "[1/yr]")
    assert "plot:" in text
    ui.shot("model_asset_heston")
    # The plot entry opens the figure (title with symbol and day, axes with units).
    (button,) = ui.driver.find_elements("xpath", "//*[text()='[Show Markdown]']")
    ui.driver.execute_script("arguments[0].scrollIntoView(); arguments[0].click();", button)
    deadline = time.monotonic() + 30
    while not ui.driver.execute_script(
        "const i = document.querySelector(\"[role='dialog'] img\"); return i && i.naturalWidth"
    ):
        assert time.monotonic() < deadline, "the Heston plot did not open"
        time.sleep(0.5)
    time.sleep(1.5)  # the dialog fades in
    ui.shot("model_asset_heston_plot")


def test_lineage_shows_the_held_out_day_as_an_input(ui: Ui) -> None:
    ui.open("/asset-groups", "Global asset lineage")
    ui.shot("lineage_global")
    text = ui.open(f"/locations/{CODE_LOCATION}/asset-groups/params", "held_out_day")
    assert "param_validation" in text and "published_params" in text
    ui.shot("lineage_params")


def test_report_renders_every_plot(ui: Ui) -> None:
    registry = ParamRegistry(Lake.at(ui.home).paths, refresh_catalog=False)
    version = registry.latest_version(SYMBOL)
    assert version is not None
    doc = registry.load(SYMBOL, version)
    assert doc.dagster_run_id is not None
    report = report_path(registry.path_of(SYMBOL, version))
    text = ui.open(report.as_uri(), "calibration report")
    assert "FAILED: funding OU needs at least 30 rates" in text
    assert doc.dagster_run_id in text
    images = ui.driver.find_elements("tag name", "img")
    sizes = [ui.driver.execute_script("return arguments[0].naturalWidth", i) for i in images]
    assert len(images) >= 9 and all(w > 0 for w in sizes), sizes
    ui.driver.set_window_size(1440, 3000)
    ui.shot("report")
    ui.driver.set_window_size(1440, 1000)
    # The published_params asset links the report and the run that made the set.
    ui.open(f"/assets/published_params?partition={PARTITION}", "report")
    ui.shot("published_params")
    shutil.copy(report, ui.shots / "report.html")
