"""The publish gate reads every score of what the trader quotes with (DEFAULT_SCORE_RULES):
a candidate worse than the published set on any of them, beyond its margin, is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from data_lake.paths import LakePaths
from data_lake.registry import GateConfig, ParamRegistry
from data_lake.registry.document import ParamSet, ParamStatus
from data_lake.registry.gate import (
    DEFAULT_SCORE_RULES,
    SCORE_ADDON,
    SCORE_DEPTH,
    SCORE_HAWKES,
    SCORE_MICROPRICE,
    SCORE_SIGMA,
    ScoreRule,
    gate_problems,
)
from tests.data_lake.test_params import make_document

PRIMARY = "oos_loglik_per_event"
GOOD = {
    PRIMARY: -4.0,
    SCORE_HAWKES: -2.8,
    SCORE_DEPTH: -1.2,
    SCORE_SIGMA: -2.7,
    SCORE_ADDON: -0.4,
    SCORE_MICROPRICE: 0.06,
}
RULES = {r.metric: r for r in DEFAULT_SCORE_RULES}


@pytest.fixture
def registry(tmp_path: Path) -> ParamRegistry:
    return ParamRegistry(LakePaths.at(tmp_path), refresh_catalog=False)


def _scored(
    scores: dict[str, float], baseline: dict[str, float], baseline_version: str | None, seed: int
) -> dict[str, Any]:
    doc = make_document(seed=seed, score=scores[PRIMARY])
    doc["validation"]["scores"] = dict(scores)
    doc["validation"]["baseline"] = dict(baseline)
    doc["validation"]["baseline_version"] = baseline_version
    doc["models"]["hawkes"]["n_obs"] = 50_000 + seed  # content differs per seed
    return doc


def _published(registry: ParamRegistry) -> str:
    decision = registry.submit(_scored(GOOD, {}, None, seed=0))
    assert decision.accepted, decision.reason
    assert decision.version is not None
    return decision.version


def _floor(metric: str, ref: float) -> float:
    rule = RULES[metric]
    return ref - rule.margin_rel * abs(ref) - rule.margin_abs


@pytest.mark.parametrize("metric", sorted(RULES))
def test_a_candidate_worse_on_any_one_score_beyond_its_margin_is_refused(
    registry: ParamRegistry, metric: str
) -> None:
    v1 = _published(registry)
    ref = GOOD[metric]
    gap = ref - _floor(metric, ref)
    worse = {**GOOD, metric: ref - 1.5 * gap - 1e-9}
    decision = registry.submit(_scored(worse, GOOD, v1, seed=1))
    assert (decision.status, decision.code) == (ParamStatus.REJECTED, "worse_oos")
    assert metric in decision.reason and "same held-out data" in decision.reason
    within = {**GOOD, metric: ref - 0.5 * gap}
    assert registry.submit(_scored(within, GOOD, v1, seed=2)).accepted


def test_every_worse_score_is_named(registry: ParamRegistry) -> None:
    v1 = _published(registry)
    worse = {**GOOD, SCORE_SIGMA: -3.5, SCORE_MICROPRICE: -0.2}
    decision = registry.submit(_scored(worse, GOOD, v1, seed=1))
    assert decision.code == "worse_oos"
    assert SCORE_SIGMA in decision.reason and SCORE_MICROPRICE in decision.reason
    assert SCORE_HAWKES not in decision.reason


def test_a_candidate_missing_a_score_its_baseline_has_is_refused(
    registry: ParamRegistry,
) -> None:
    v1 = _published(registry)
    partial = {k: v for k, v in GOOD.items() if k != SCORE_ADDON}
    decision = registry.submit(_scored(partial, GOOD, v1, seed=1))
    assert decision.code == "worse_oos" and f"{SCORE_ADDON} missing" in decision.reason


def test_a_score_the_baseline_lacks_is_not_compared(registry: ParamRegistry) -> None:
    """A published set the held-out day cannot score on a model (e.g. too few fills) gives
    no reference there; the other scores still decide."""
    v1 = _published(registry)
    baseline = {k: v for k, v in GOOD.items() if k != SCORE_MICROPRICE}
    decision = registry.submit(_scored({**GOOD, SCORE_MICROPRICE: -1.0}, baseline, v1, seed=1))
    assert decision.accepted, decision.reason


def test_scores_of_another_held_out_day_gate_only_the_primary(registry: ParamRegistry) -> None:
    """The published set's own validation ran on another day: a calmer or busier market
    moves every score, so only the primary (with its relative margin) is compared."""
    _published(registry)
    other_day = {**GOOD, SCORE_SIGMA: -3.5, SCORE_HAWKES: -3.5}
    decision = registry.submit(_scored(other_day, {}, None, seed=1))
    assert decision.accepted, decision.reason


def test_score_rules_are_configurable_and_margins_checked(tmp_path: Path) -> None:
    loose = GateConfig(score_rules=(ScoreRule(SCORE_SIGMA, 0.0, 1.0, "test: loose"),))
    registry = ParamRegistry(LakePaths.at(tmp_path), gate=loose, refresh_catalog=False)
    v1 = _published(registry)
    doc = _scored({**GOOD, SCORE_SIGMA: -3.5, SCORE_MICROPRICE: -1.0}, GOOD, v1, seed=1)
    assert registry.submit(doc).accepted  # microprice no longer gated, sigma within 1 nat
    with pytest.raises(ValueError, match="margins must be >= 0"):
        ScoreRule(SCORE_SIGMA, -0.1, 0.0, "negative")


def test_gate_problems_lists_each_worse_score_as_a_pure_function() -> None:
    current = ParamSet.model_validate({**_scored(GOOD, {}, None, 0), "version": "000001-abcdef01"})
    worse = {**GOOD, SCORE_DEPTH: -2.0, SCORE_HAWKES: -3.0}
    candidate = ParamSet.model_validate(_scored(worse, GOOD, "000001-abcdef01", 1))
    problems = gate_problems(candidate, current, GateConfig())
    named = [reason.split(" = ")[0].removeprefix("out-of-sample ") for _, reason in problems]
    assert named == [SCORE_HAWKES, SCORE_DEPTH]


def test_old_validation_records_still_load_and_gate_on_the_primary(
    registry: ParamRegistry,
) -> None:
    """Documents written before the score rules (primary plus free-form scores) load, and
    a candidate against them is judged on what both have."""
    v1 = registry.submit(make_document(score=-1.0))  # scores: primary and markout_rmse_bps
    assert v1.accepted and v1.version is not None
    old = registry.load("BTC", v1.version)
    assert old.validation is not None and SCORE_SIGMA not in old.validation.scores
    candidate = _scored(GOOD, {PRIMARY: -4.1, "markout_rmse_bps": 1.0}, v1.version, seed=1)
    assert registry.submit(candidate).accepted
