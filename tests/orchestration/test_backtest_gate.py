"""The backtest in the publish gate and the calibration-pays machinery, on one synthetic
symbol: the nightly job records the held-out backtest, a deliberately bad candidate
(kappa x 10) is refused over a good published set with a readable reason, and the
study's perturbations change the quotes and keep the attribution exact."""

from __future__ import annotations

import copy
import math
from typing import Any

import dagster as dg
import numpy as np
import pytest

from assets.backtest_gate import NIGHTLY_GATE, SCORE_NAME, param_backtest
from assets.param_assets import published_params
from assets.partitions import DEFAULT_START
from assets.resources import LakeResource
from data_lake.lake import Lake
from data_lake.registry import ParamRegistry, ParamSet
from data_lake.registry.backtest_record import ATTRIBUTION_PARTS
from data_lake.registry.gate import backtest_problems
from orchestration.calibration_pays import (
    VARIANTS,
    StudyConfig,
    backtest_variants,
    markdown_table,
    prepare_history,
)
from trader.strategy.params import (
    AS_CURVE_POINTS,
    P_AS_ADDON_0,
    P_HAWKES_WIDENING,
    P_KAPPA_ASK,
    P_KAPPA_BID,
)

pytestmark = pytest.mark.slow  # one symbol-day calibrated end to end, then ~12 replays

SYMBOL = "SOL"  # the smallest default symbol-day
FIT_DAY = DEFAULT_START


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> tuple[StudyConfig, ParamSet]:
    """One fit day and its held-out day, ingested and calibrated by the nightly job."""
    home = tmp_path_factory.mktemp("pays")
    config = StudyConfig(home=home, symbols=(SYMBOL,), history_days=1, held_out_days=1,
                         hours=2.0)
    published = prepare_history(config, log=lambda _: None)
    return config, published[SYMBOL]


def _context() -> dg.AssetExecutionContext:
    key = dg.MultiPartitionKey({"date": FIT_DAY.isoformat(), "symbol": SYMBOL})
    return dg.build_asset_context(partition_key=key)


def _as_candidate(doc: ParamSet, **quoting: Any) -> dict[str, Any]:
    """The published document as a fresh candidate with some quoting fields replaced."""
    raw = doc.model_dump(mode="json", exclude={"version", "status", "reason"})
    raw = copy.deepcopy(raw)
    raw["quoting"].update(quoting)
    raw["validation"].pop("backtest", None)
    return raw


def test_nightly_job_records_the_held_out_backtest(study: tuple[StudyConfig, ParamSet]) -> None:
    config, doc = study
    assert doc.validation is not None
    record = doc.validation.backtest
    assert record is not None and record.score_name == SCORE_NAME
    assert record.held_out == [f"synthetic/{SYMBOL}/{config.held_out[0].isoformat()}"]
    assert record.baseline is None and record.baseline_version is None  # the first set
    cand = record.candidate
    assert cand.fills > 0 and cand.score is not None and cand.score_stderr is not None
    parts = math.fsum(cand.attribution[p] for p in ATTRIBUTION_PARTS)
    assert parts == pytest.approx(cand.attribution["total"], abs=1e-6)
    assert len(cand.equity) == len(cand.equity_ts_ns)
    assert 24 * 12 <= len(cand.equity) <= 24 * 12 + 1  # one sample per 5 minutes, and the last
    assert cand.equity[-1] == pytest.approx(cand.attribution["total"], abs=1e-6)
    log = ParamRegistry(Lake.at(config.home).paths, refresh_catalog=False).decisions(SYMBOL)
    assert [d.code for d in log] == ["published"]


def test_a_kappa_x10_candidate_is_refused_over_the_good_published_set(
    study: tuple[StudyConfig, ParamSet],
) -> None:
    config, good = study
    q = good.quoting
    bad = _as_candidate(good, kappa_bid_per_bps=min(50.0, 10 * q.kappa_bid_per_bps),
                        kappa_ask_per_bps=min(50.0, 10 * q.kappa_ask_per_bps))
    out = param_backtest(_context(), lake=LakeResource(home=str(config.home)),
                         param_validation=bad)
    record = out.value["validation"]["backtest"]
    assert record["baseline_version"] == good.version
    cand, base = record["candidate"], record["baseline"]
    assert cand["fills"] > base["fills"]  # quoting ten times closer fills far more often
    assert record["score_diff"] == pytest.approx(cand["score"] - base["score"])
    assert record["score_diff_stderr"] > 0
    # the asset page: both equity curves and the attribution table, both columns
    (plot,) = [v for k, v in out.metadata.items() if k.startswith("plot: ")]
    assert "data:image/png;base64," in plot.value
    table = out.metadata["attribution"].value
    assert "adverse selection" in table and f"published {good.version}" in table
    result = published_params(_context(), lake=LakeResource(home=str(config.home)),
                              param_backtest=out.value)
    assert result.metadata is not None
    status = result.metadata["status"]
    assert getattr(status, "value", status) == "rejected"
    registry = ParamRegistry(Lake.at(config.home).paths, refresh_catalog=False)
    decision = registry.decisions(SYMBOL)[-1]
    assert decision.code == "worse_backtest"
    assert f"worse than {good.version}'s" in decision.reason
    assert "SE(difference)" in decision.reason and "same events" in decision.reason
    assert registry.latest_version(SYMBOL) == good.version


def test_an_equally_good_candidate_passes_the_backtest_rule(
    study: tuple[StudyConfig, ParamSet],
) -> None:
    config, good = study
    # Another fit (a model note changed) that quotes exactly as the published set does.
    same_quotes = _as_candidate(good)
    same_quotes["models"] = {**same_quotes["models"], "note": {"refit": 1}}
    out = param_backtest(_context(), lake=LakeResource(home=str(config.home)),
                         param_validation=same_quotes)
    record = out.value["validation"]["backtest"]
    assert record["score_diff"] == 0.0
    doc = ParamSet.model_validate(out.value)
    registry = ParamRegistry(Lake.at(config.home).paths, refresh_catalog=False)
    current = registry.load(SYMBOL, "latest")
    assert backtest_problems(doc, current, NIGHTLY_GATE) == []


def test_pays_machinery_perturbations_change_quotes_and_attribution_adds_up(
    study: tuple[StudyConfig, ParamSet],
) -> None:
    config, doc = study
    rows = {r.variant: r for r in backtest_variants(doc, config, log=lambda _: None)}
    assert list(rows) == list(VARIANTS)
    base = rows["calibrated"]
    assert base.diff_per_day is None
    for row in rows.values():
        assert math.isclose(row.parts_sum, row.attribution["total"], rel_tol=1e-9, abs_tol=1e-6)
        assert row.pnl_stderr is not None and row.pnl_stderr > 0
        assert row.hour_pnl.size == 2  # two held-out hours
    half, double = rows["kappa / 2"], rows["kappa x 2"]
    for slot in (P_KAPPA_BID, P_KAPPA_ASK):
        assert half.params[slot] == pytest.approx(base.params[slot] / 2)
        assert double.params[slot] == pytest.approx(base.params[slot] * 2)
    # slower fill decay quotes wider; faster quotes tighter
    assert half.half_spread_bps > base.half_spread_bps > double.half_spread_bps
    assert half.fills_per_day < base.fills_per_day < double.fills_per_day
    no_addon = rows["no AS add-on"]
    curve = slice(P_AS_ADDON_0, P_AS_ADDON_0 + AS_CURVE_POINTS)
    assert np.all(np.nan_to_num(no_addon.params[curve]) == 0.0)
    assert np.nanmax(base.params[curve]) > 0  # SOL's informed flow plants an add-on
    assert no_addon.half_spread_bps < base.half_spread_bps
    no_hawkes = rows["no Hawkes widening"]
    assert no_hawkes.params[P_HAWKES_WIDENING] == 0.0 < base.params[P_HAWKES_WIDENING]
    assert no_hawkes.burst_bid_depth_bps < base.burst_bid_depth_bps  # it quotes differently
    assert no_hawkes.half_spread_bps == base.half_spread_bps  # ... only in a burst
    for name in ("kappa / 2", "kappa x 2", "no AS add-on"):
        assert rows[name].diff_per_day is not None and rows[name].diff_stderr is not None
        assert rows[name].diff_per_day != 0.0
    table = markdown_table(list(rows.values()))
    assert table.count(f"| {SYMBOL} |") == len(VARIANTS)
