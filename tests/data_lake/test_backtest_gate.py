"""The publish gate's backtest rule, on hand-made backtest records (no replay here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from data_lake.paths import LakePaths
from data_lake.registry import GateConfig, ParamRegistry
from data_lake.registry.document import ParamSet
from data_lake.registry.gate import backtest_problems, gate_problems
from tests.data_lake.test_params import START_NS, make_document

DAY_NS = 86_400 * 10**9


def summary(score: float | None, *, se: float | None = 0.05, pnl: float = 10.0,
            fills: int = 100, version: str | None = None) -> dict[str, Any]:
    """A backtest summary with parts that sum to ``pnl``."""
    return {
        "version": version,
        "score": score,
        "score_stderr": se,
        "n_score_buckets": 1440,
        "attribution": {"spread_capture": pnl + 5.0, "adverse_selection": -4.0,
                        "inventory_carry": -1.0, "funding": 0.0, "fees": 0.0, "total": pnl},
        "fills": fills,
        "fill_ratio": 0.1,
        "max_drawdown": 3.0,
        "time_at_limit_s": 0.0,
        "final_position": 0.0,
        "equity_ts_ns": [START_NS + DAY_NS, START_NS + 2 * DAY_NS],
        "equity": [0.0, pnl],
    }


def comparison(cand: float | None, base: float | None, *, diff_se: float | None,
               baseline_version: str | None) -> dict[str, Any]:
    return {
        "score_name": "pnl_information_ratio_60s",
        "score_bucket_s": 60.0,
        "window_start_ns": START_NS + DAY_NS,
        "window_end_ns": START_NS + 2 * DAY_NS,
        "held_out": ["hyperliquid/BTC/2024-01-02"],
        "candidate": summary(cand, pnl=5.0),
        "baseline": None if baseline_version is None else summary(base, version=baseline_version),
        "baseline_version": baseline_version,
        "score_diff": None if cand is None or base is None else cand - base,
        "score_diff_stderr": diff_se,
    }


def candidate(cand: float | None, base: float | None, *, diff_se: float | None = 0.02,
              baseline_version: str | None = "000001-aaaaaaaa", seed: int = 1) -> ParamSet:
    doc = make_document(seed=seed, score=-1.0, baseline_version=baseline_version,
                        baseline_score=-1.0)
    doc["validation"]["backtest"] = comparison(
        cand, base, diff_se=diff_se, baseline_version=baseline_version
    )
    return ParamSet.model_validate(doc)


def published(version: str = "000001-aaaaaaaa") -> ParamSet:
    return ParamSet.model_validate({**make_document(seed=0), "version": version})


@pytest.mark.parametrize(
    ("cand", "base", "diff_se", "refused"),
    [
        (0.20, 0.20, 0.02, False),  # equal
        (0.17, 0.20, 0.02, False),  # 1.5 SE worse: within the 2 SE margin
        (0.15, 0.20, 0.02, True),  # 2.5 SE worse
        (0.30, 0.20, 0.02, False),  # better
        (-0.5, 0.20, 0.50, False),  # much worse, but too noisy to tell
        (0.19, 0.20, 0.0, True),  # no noise at all: any loss is beyond the margin
    ],
)
def test_rule_refuses_only_beyond_the_stated_margin(
    cand: float, base: float, diff_se: float, refused: bool
) -> None:
    problems = backtest_problems(candidate(cand, base, diff_se=diff_se), published(),
                                 GateConfig())
    assert bool(problems) is refused
    if refused:
        ((code, reason),) = problems
        assert code == "worse_backtest"
        assert "000001-aaaaaaaa" in reason and "same events" in reason
        assert f"{cand:.4g}" in reason and f"{base:.4g}" in reason


def test_margin_is_configurable_in_standard_errors_and_absolute() -> None:
    doc = candidate(0.15, 0.20, diff_se=0.02)  # 2.5 SE worse
    assert backtest_problems(doc, published(), GateConfig(backtest_margin_se=3.0)) == []
    assert backtest_problems(doc, published(), GateConfig(backtest_margin_se=1.0))
    assert backtest_problems(doc, published(),
                             GateConfig(backtest_margin_se=0.0, backtest_margin_abs=0.06)) == []
    with pytest.raises(ValueError, match="margins"):
        GateConfig(backtest_margin_se=-1.0)


def test_missing_paired_stderr_falls_back_to_the_independent_one() -> None:
    # se_c = se_b = 0.05: sqrt(2) x 0.05 = 0.0707; the margin is 0.141
    assert backtest_problems(candidate(0.07, 0.20, diff_se=None), published(),
                             GateConfig()) == []
    assert backtest_problems(candidate(0.05, 0.20, diff_se=None), published(), GateConfig())


def test_a_scoreless_candidate_is_refused_against_a_scored_set() -> None:
    ((code, reason),) = backtest_problems(candidate(None, 0.2), published(), GateConfig())
    assert code == "worse_backtest" and "no pnl_information_ratio_60s" in reason
    assert backtest_problems(candidate(None, None), published(), GateConfig()) == []


def test_backtest_against_another_version_is_no_backtest_when_required() -> None:
    stale = candidate(0.1, 0.5, baseline_version="000000-bbbbbbbb")
    assert backtest_problems(stale, published(), GateConfig()) == []
    ((code, reason),) = backtest_problems(stale, published(), GateConfig(require_backtest=True))
    assert code == "no_backtest" and "000000-bbbbbbbb" in reason and "000001-aaaaaaaa" in reason
    bare = ParamSet.model_validate(make_document(seed=3))
    ((code, reason),) = backtest_problems(bare, published(), GateConfig(require_backtest=True))
    assert code == "no_backtest" and "no backtest of the held-out day" in reason
    # a symbol's first set has nothing to be compared with
    assert gate_problems(bare, None, GateConfig(require_backtest=True)) == []


def test_record_is_validated() -> None:
    doc = make_document(seed=1, score=-1.0)
    bad = comparison(0.1, 0.2, diff_se=0.01, baseline_version="000001-aaaaaaaa")
    del bad["candidate"]["attribution"]["fees"]
    doc["validation"]["backtest"] = bad
    with pytest.raises(ValidationError, match="attribution lacks"):
        ParamSet.model_validate(doc)
    bad = comparison(0.1, 0.2, diff_se=0.01, baseline_version=None)
    bad["baseline"] = summary(0.2)
    doc["validation"]["backtest"] = bad
    with pytest.raises(ValidationError, match="come together"):
        ParamSet.model_validate(doc)


def test_registry_refuses_a_worse_trading_candidate_and_logs_why(tmp_path: Path) -> None:
    registry = ParamRegistry(LakePaths.at(tmp_path), refresh_catalog=False)
    first = registry.submit(make_document(seed=0))
    assert first.accepted and first.version is not None
    worse = candidate(0.05, 0.25, diff_se=0.03, baseline_version=first.version, seed=2)
    decision = registry.submit(worse.model_dump(mode="json"))
    assert not decision.accepted and decision.code == "worse_backtest"
    assert registry.latest_version("BTC") == first.version
    assert registry.decisions("BTC")[-1].reason == decision.reason
    better = candidate(0.30, 0.25, diff_se=0.03, baseline_version=first.version, seed=3)
    assert registry.submit(better.model_dump(mode="json")).accepted
    loaded = registry.load("BTC", "latest")
    assert loaded.validation is not None and loaded.validation.backtest is not None
    assert loaded.validation.backtest.candidate.score == pytest.approx(0.30)
