"""The landing sensor: a recording dropped into landing/<source>/ is imported once."""

import shutil
from pathlib import Path

import dagster as dg
import pytest

from assets.resources import LakeResource
from data_lake.lake import Lake
from orchestration.definitions import resources
from orchestration.sensors import import_landing_job, landing_sensor


def _evaluate(home: Path) -> list[dg.RunRequest | dg.SkipReason]:
    context = dg.build_sensor_context(resources={"lake": LakeResource(home=str(home))})
    result = landing_sensor(context)
    return list(result) if result is not None else []


def test_empty_landing_skips_with_the_folder_to_use(tmp_path: Path) -> None:
    (skip,) = _evaluate(tmp_path)
    assert isinstance(skip, dg.SkipReason)
    assert "landing" in (skip.skip_message or "")


def test_dropped_recording_is_requested_once_and_imports(
    tmp_path: Path, real_data_dir: Path
) -> None:
    sample = real_data_dir / "hyperliquid_btc_20250126" / "btcusd_20250126.gz"
    if not sample.exists():
        pytest.skip(f"{sample} absent")
    landing = tmp_path / "landing" / "hyperliquid"
    landing.mkdir(parents=True)
    shutil.copy(sample, landing / sample.name)
    (landing / "notes.md").write_text("not a recording")  # ignored: not a data suffix

    first = [r for r in _evaluate(tmp_path) if isinstance(r, dg.RunRequest)]
    assert len(first) == 1
    again = [r for r in _evaluate(tmp_path) if isinstance(r, dg.RunRequest)]
    # Same path, size and mtime: same run key, so Dagster launches it only once.
    assert again[0].run_key == first[0].run_key

    with dg.instance_for_test() as instance:
        result = import_landing_job.execute_in_process(
            run_config=first[0].run_config,
            instance=instance,
            resources={"lake": resources(str(tmp_path))["lake"]},
        )
    assert result.success
    assert result.output_for_node("import_landing_file") == {"accepted": 110, "quarantined": 0}
    assert len(Lake.at(tmp_path).read("trades", symbol="BTC", venue="hyperliquid")) == 64
