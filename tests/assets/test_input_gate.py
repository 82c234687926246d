"""Every fit input passes the quality gate: correlation's other symbols, the held-out day."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import dagster as dg
import numpy as np
import pyarrow as pa
import pytest

from assets.calibration_assets import correlation_fit, load_features
from assets.checks import checked_day
from assets.held_out import held_out_day
from assets.inputs import correlation_input_keys, day_input_keys, require_inputs
from assets.model_fits import ModelFit
from assets.param_assets import param_validation
from assets.resources import LakeResource
from data_lake.lake import Lake
from data_lake.quality_store import QualityGateError
from data_lake.writer import PartitionKey, day_window_ns

DAY = dt.date(2026, 1, 5)
NEXT = DAY + dt.timedelta(days=1)
N = 2880  # a quote every 30 s over the whole day


def _bbo(day: dt.date, seed: int) -> pa.Table:
    start, _ = day_window_ns(day)
    rng = np.random.default_rng(seed)
    mid = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 1e-4, N)))
    return pa.table(
        {
            "ts": pa.array(start + np.arange(N) * 30_000_000_000, pa.int64()),
            "seq": pa.array(np.arange(N), pa.int64()),
            "bid_px": mid - 0.01,
            "bid_sz": np.ones(N),
            "ask_px": mid + 0.01,
            "ask_sz": np.ones(N),
            "recv_ts": pa.nulls(N, pa.int64()),
        }
    )


def _trades(day: dt.date) -> pa.Table:
    start, _ = day_window_ns(day)
    n = N // 10
    return pa.table(
        {
            "ts": pa.array(start + (np.arange(n) * 300 + 5) * 1_000_000_000, pa.int64()),
            "price": np.full(n, 100.0),
            "size": np.ones(n),
            "side": pa.array(np.where(np.arange(n) % 2, 1, -1), pa.int8()),
            "trade_id": [f"{day}-{i}" for i in range(n)],
            "recv_ts": pa.nulls(n, pa.int64()),
        }
    )


def _key(symbol: str, day: dt.date = DAY) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"date": day.isoformat(), "symbol": symbol})


def _check(resource: LakeResource, symbol: str, day: dt.date = DAY) -> None:
    """Run the real checked_day asset on one symbol-day (its record is the gate's input)."""
    with dg.build_asset_context(partition_key=_key(symbol, day)) as context:
        checked_day(context, lake=resource)


@pytest.fixture
def resource(tmp_path: Path) -> LakeResource:
    lake = Lake.at(tmp_path)
    for seed, symbol in enumerate(("SOL", "ETH")):
        lake.write_day("bbo", PartitionKey("synthetic", symbol, DAY), _bbo(DAY, seed),
                       refresh=False)
    lake.write_day("trades", PartitionKey("synthetic", "SOL", DAY), _trades(DAY), refresh=False)
    return LakeResource(home=str(tmp_path))


def _correlation(resource: LakeResource) -> Any:
    """The correlation asset's output (it also yields its fit_quality check result)."""
    features = load_features(resource, "SOL", DAY)
    with dg.build_asset_context(partition_key=_key("SOL")) as context:
        output, check = list(correlation_fit(context, lake=resource, day_features=features))
    assert isinstance(check, dg.AssetCheckResult) and check.passed == output.value.ok
    return output


def test_correlation_refuses_an_unchecked_other_symbol_day(resource: LakeResource) -> None:
    _check(resource, "SOL")
    with pytest.raises(dg.Failure) as info:
        _correlation(resource)
    assert "bbo synthetic/ETH/2026-01-05 was never checked" in str(info.value.description)
    # Its bbo checks pass (its missing trades fail theirs, which correlation does not read).
    _check(resource, "ETH")
    out = _correlation(resource)
    assert isinstance(out.value, ModelFit) and out.value.ok, out.value.error
    assert "ETH" in out.metadata["symbols"].text


def test_correlation_refuses_a_crossed_other_symbol_bbo(resource: LakeResource) -> None:
    lake = resource.lake
    crossed = _bbo(DAY, 1)
    crossed = crossed.set_column(2, "bid_px", crossed.column("ask_px"))  # bid = ask: locked
    lake.write_day("bbo", PartitionKey("synthetic", "ETH", DAY), crossed, mode="replace",
                   refresh=False)
    _check(resource, "SOL")
    _check(resource, "ETH")
    with pytest.raises(dg.Failure) as info:
        _correlation(resource)
    text = str(info.value.description)
    assert "bbo synthetic/ETH/2026-01-05 failed blocking checks: no_crossed_bbo" in text


def test_validation_refuses_an_unchecked_held_out_day(resource: LakeResource) -> None:
    lake = resource.lake
    lake.write_day("trades", PartitionKey("synthetic", "SOL", NEXT), _trades(NEXT), refresh=False)
    lake.write_day("bbo", PartitionKey("synthetic", "SOL", NEXT), _bbo(NEXT, 3), refresh=False)
    _check(resource, "SOL")  # the fitted day is checked, the held-out day is not
    with dg.build_asset_context(partition_key=_key("SOL")) as context:
        output, check = list(held_out_day(context, lake=resource))
    # The held-out day is gated: no features, and its blocking check fails with the reason.
    assert output.value is None
    assert isinstance(check, dg.AssetCheckResult) and not check.passed
    text = str(check.description)
    assert "held-out day synthetic/SOL/2026-01-06 not usable" in text
    assert "synthetic/SOL/2026-01-06 was never checked" in text
    assert "trades" in text and "bbo" in text
    with (
        dg.build_asset_context(partition_key=_key("SOL")) as context,
        pytest.raises(dg.Failure) as info,
    ):
        param_validation(context, lake=resource, param_candidate={"quality": []},
                         held_out_day=None)
    assert "no usable held-out day 2026-01-06" in str(info.value.description)
    _check(resource, "SOL", NEXT)  # once checked, the held-out day is read
    with dg.build_asset_context(partition_key=_key("SOL")) as context:
        output, check = list(held_out_day(context, lake=resource))
    assert check.passed and len(output.value.trades) == N // 10


def test_the_fit_inputs_list_every_partition_read(resource: LakeResource) -> None:
    for symbol in ("SOL", "ETH"):
        _check(resource, symbol)
    keys = [
        *day_input_keys("synthetic", "SOL", DAY),
        *correlation_input_keys("synthetic", "SOL", DAY, ["BTC", "ETH", "SOL"]),
    ]
    inputs = require_inputs(resource.paths, keys)
    # Files that exist are listed (no SOL book or funding here, no BTC at all).
    assert {(r.table, r.partition) for r in inputs.records} == {
        ("trades", "synthetic/SOL/2026-01-05"),
        ("bbo", "synthetic/SOL/2026-01-05"),
        ("bbo", "synthetic/ETH/2026-01-05"),
    }
    assert inputs.partitions() == ["synthetic/ETH/2026-01-05", "synthetic/SOL/2026-01-05"]
    quality = inputs.quality()
    assert {q["table"] for q in quality if q["partition"].startswith("synthetic/ETH")} == {"bbo"}
    assert all(len(q["sha256"]) == 64 for q in quality)
    # Rewriting a partition after its checks refuses it until they run again.
    lake = resource.lake
    lake.write_day("bbo", PartitionKey("synthetic", "ETH", DAY), _bbo(DAY, 9), mode="replace",
                   refresh=False)
    with pytest.raises(QualityGateError, match="ETH/2026-01-05 changed since it was checked"):
        require_inputs(resource.paths, keys)
    _check(resource, "ETH")
    assert len(require_inputs(resource.paths, keys).records) == 3
