"""The calibration report beside a param document, and the document's Dagster run id."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest

from data_lake.paths import LakePaths
from data_lake.registry import ParamRegistry
from data_lake.registry import files as param_files
from data_lake.registry.document import ParamSet, content_hash
from data_lake.registry.report import estimate_rows, render_report, report_path, write_report
from tests.data_lake.test_params import make_document

RUN_ID = "1ea9382b-f4fe-419f-a77e-2b99117f5531"


def _png(tmp_path: Path, name: str) -> Path:
    fig, ax = plt.subplots(figsize=(2, 1))
    ax.plot([0, 1], [0, 1])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    path = tmp_path / f"{name}.png"
    path.write_bytes(buf.getvalue())
    return path


def _published(tmp_path: Path, **overrides: object) -> tuple[ParamRegistry, ParamSet, Path]:
    registry = ParamRegistry(LakePaths.at(tmp_path / "home"), refresh_catalog=False)
    doc = make_document(**overrides)
    doc["models"]["funding"] = {"error": "funding OU needs at least 30 rates, got 24"}
    doc["models"]["volatility"] = {"sigma_bps": 1.2, "sigma_stderr_bps": 0.1, "n_obs": 500}
    decision = registry.submit(doc)
    assert decision.version is not None, decision.reason
    return (
        registry,
        registry.load("BTC", decision.version),
        registry.path_of("BTC", decision.version),
    )


def test_dagster_run_id_is_kept_outside_the_content_hash_and_old_documents_load(
    tmp_path: Path,
) -> None:
    old = make_document()
    assert "dagster_run_id" not in old
    assert ParamSet.model_validate(old).dagster_run_id is None  # written before the field
    assert content_hash({**old, "dagster_run_id": RUN_ID}) == content_hash(old)
    registry, doc, _ = _published(tmp_path, dagster_run_id=RUN_ID)
    assert doc.dagster_run_id == RUN_ID
    # The same fit from another run is "unchanged", not a new version.
    again = registry.submit(
        {
            **make_document(),
            "dagster_run_id": "0" * 8 + RUN_ID[8:],
            "models": doc.model_dump(mode="json")["models"],
        }
    )
    assert again.code == "unchanged" and again.version == doc.version
    with pytest.raises(ValueError, match="dagster_run_id"):
        ParamSet.model_validate({**old, "dagster_run_id": "not a run id!"})


def test_estimates_carry_their_95_percent_interval_and_unit() -> None:
    rows = {
        r[0]: r
        for r in estimate_rows(
            "volatility", {"sigma_bps": 1.2, "sigma_stderr_bps": 0.1, "n_obs": 500, "ok": True}
        )
    }
    _, value, interval, unit = rows["sigma_bps"]
    assert (value, unit) == ("1.2", "bps")
    low, high = (float(x) for x in interval.strip("[]").split(","))
    assert low == pytest.approx(1.2 - 1.96 * 0.1, abs=1e-3)
    assert high == pytest.approx(1.2 + 1.96 * 0.1, abs=1e-3)
    assert rows["n_obs"][3] == "count"
    assert "sigma_stderr_bps" not in rows  # an error is an interval, not a row
    heston = {r[0]: r for r in estimate_rows("heston", {"kappa": 4000.0, "kappa_ci": [3000, 5000]})}
    assert heston["kappa"][2:] == ("[3,000, 5,000]", "1/yr")


def test_report_shows_the_decision_failures_plots_and_run(tmp_path: Path) -> None:
    _, doc, document_path = _published(tmp_path, dagster_run_id=RUN_ID)
    plots = {"volatility": _png(tmp_path, "volatility"), "backtest_equity": _png(tmp_path, "bt")}
    decision = {"status": "published", "code": "published", "reason": ""}
    page = render_report(doc, decision, plots)
    assert "published (published): passed every rule" in page
    assert "FAILED: funding OU needs at least 30 rates" in page
    assert page.count("data:image/png;base64,") == 2
    assert RUN_ID in page
    assert "sigma_bps_per_sqrt_s" in page and "bps/sqrt(s)" in page
    assert "oos_loglik_per_event (primary)" in page
    path = write_report(document_path, doc, decision, plots)
    assert (
        path == report_path(document_path) == document_path.with_name(f"{doc.version}.report.html")
    )
    assert path.read_text() == page


def test_report_write_is_atomic_and_idempotent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, doc, document_path = _published(tmp_path)
    plots = {"volatility": _png(tmp_path, "volatility")}
    first = write_report(document_path, doc, None, plots).read_bytes()
    assert write_report(document_path, doc, None, plots).read_bytes() == first  # same bytes

    def crash(path: Path, data: bytes) -> None:
        path.with_name(".tmp-partial").write_bytes(data[: len(data) // 2])
        raise OSError("disk full")

    # A crash while writing a new report leaves the previous one whole.
    from data_lake.registry import report as report_module

    monkeypatch.setattr(report_module, "replace_atomically", crash)
    with pytest.raises(OSError, match="disk full"):
        write_report(document_path, doc, {"status": "rejected", "code": "x", "reason": "y"}, plots)
    assert report_path(document_path).read_bytes() == first
    assert param_files.TMP_PREFIX == ".tmp-"  # partial files are never named *.report.html
