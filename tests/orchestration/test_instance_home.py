"""The instance `make run` writes and `make dagster` opens; date partitions that exist."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import pytest
import yaml

from assets.partitions import register_days, registered_days
from orchestration.instance_home import INSTANCE_SETTINGS, dagster_home, ensure_instance_home
from orchestration.launch import CODE_LOCATION, REPOSITORY_NAME, remote_job_origin
from orchestration.sensors import lake_days


def test_instance_home_turns_telemetry_and_the_pop_up_off_and_keeps_other_keys(
    tmp_path: Path,
) -> None:
    home = ensure_instance_home(tmp_path / "dagster_home")
    config = yaml.safe_load((home / "dagster.yaml").read_text())
    assert config == INSTANCE_SETTINGS
    assert config["telemetry"] == {"enabled": False} and config["nux"] == {"enabled": False}
    before = (home / "dagster.yaml").read_bytes()
    ensure_instance_home(home)
    assert (home / "dagster.yaml").read_bytes() == before  # idempotent
    (home / "dagster.yaml").write_text("run_retries: {enabled: true}\nnux: {enabled: true}\n")
    ensure_instance_home(home)
    config = yaml.safe_load((home / "dagster.yaml").read_text())
    # A person's own settings win; missing ones are added.
    assert config["run_retries"] == {"enabled": True} and config["nux"] == {"enabled": True}
    assert config["telemetry"] == {"enabled": False}
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.run_retries_enabled


def test_a_malformed_dagster_yaml_is_named(tmp_path: Path) -> None:
    (tmp_path / "dagster.yaml").write_text("- just a list\n")
    with pytest.raises(ValueError, match=r"dagster\.yaml does not hold a YAML mapping"):
        ensure_instance_home(tmp_path)


def test_dagster_home_defaults_under_mmcal_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert dagster_home(tmp_path) == tmp_path / "dagster_home"
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "elsewhere"))
    assert dagster_home(tmp_path) == tmp_path / "elsewhere"


def test_runs_carry_the_repository_label_the_ui_filters_on() -> None:
    origin = remote_job_origin("nightly_calibration")
    assert origin.repository_origin.get_label() == f"{REPOSITORY_NAME}@{CODE_LOCATION}"
    assert origin.location_name == "mmcal"  # pyproject [tool.dagster] code_location_name


def test_days_register_once_and_come_from_the_lake(tmp_path: Path) -> None:
    d1, d2 = dt.date(2026, 1, 5), dt.date(2026, 1, 6)
    with dg.instance_for_test() as instance:
        assert register_days(instance, [d2, d1, d1]) == [d1, d2]
        assert register_days(instance, [d1]) == []
        assert registered_days(instance) == [d1, d2]
    for symbol, day in (("SOL", d1), ("BTC", d2)):
        (tmp_path / "trades" / "venue=synthetic" / f"symbol={symbol}" / f"date={day}").mkdir(
            parents=True
        )
    (tmp_path / "trades" / "venue=binance" / "symbol=X" / "date=2024-08-08").mkdir(parents=True)
    (tmp_path / "trades" / "venue=synthetic" / "symbol=SOL" / "not-a-date").mkdir()
    assert lake_days(tmp_path, "synthetic") == {d1, d2}
