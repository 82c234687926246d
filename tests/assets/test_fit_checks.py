"""The fit_quality verdict on simulated fits: failures, collapses, unidentified models."""

from __future__ import annotations

import numpy as np

from assets.fit_checks import MIXTURE_MIN_LR, fit_verdict
from assets.model_fits import ModelFit, fit_model
from assets.validation_table import validation_markdown, verdicts
from calibration.funding import fit_funding_ou
from calibration.order_flow.adverse_selection import fit_adverse_selection
from data_lake.registry.gate import GateConfig

_NS = 1_000_000_000


def _ou_rates(
    n: int, kappa_per_h: float, seed: int, *, start: float = 1e-5, sd: float = 2e-6
) -> tuple[np.ndarray, np.ndarray]:
    """Hourly prints of an OU funding rate (fraction per hour) reverting to 1e-5."""
    rng = np.random.default_rng(seed)
    phi = np.exp(-kappa_per_h)
    rates = np.empty(n)
    rates[0] = start
    for i in range(1, n):
        rates[i] = 1e-5 + phi * (rates[i - 1] - 1e-5) + sd * rng.standard_normal()
    return np.arange(n, dtype=np.int64) * 3600 * _NS, rates


def test_a_failed_required_fit_is_an_error_and_another_a_warning() -> None:
    for model, severity in (("fill_depth", "error"), ("volatility", "error"), ("vpin", "warn")):
        verdict = fit_verdict(ModelFit(model, None, "too few trades (12 < 50)"))
        assert not verdict.passed and verdict.severity == severity
        assert verdict.reason.startswith("fit failed: too few trades (12 < 50)")


def test_a_numerical_failure_in_an_estimator_is_a_failed_fit_not_a_crash() -> None:
    def divides_by_zero() -> float:
        return 1.0 / 0.0

    fit = fit_model("adverse_selection", divides_by_zero)
    assert fit.result is None and fit.error is not None
    assert fit.error.startswith("numerical failure in the adverse_selection estimator: "
                                "ZeroDivisionError: float division by zero")
    verdict = fit_verdict(fit)
    assert not verdict.passed and verdict.reason.startswith("fit failed: numerical failure")


def test_funding_with_too_few_prints_fails_and_a_long_series_passes() -> None:
    ts, rates = _ou_rates(24, 0.15, seed=1)  # one day of hourly prints: under min_obs
    short = fit_model("funding", lambda: fit_funding_ou(ts, rates))
    verdict = fit_verdict(short)
    assert (verdict.passed, verdict.severity) == (False, "warn")
    assert "at least 30" in verdict.reason
    ts, rates = _ou_rates(24 * 30, 0.15, seed=2)  # 30 days, half-life ~4.6 h: identified
    fit = fit_model("funding", lambda: fit_funding_ou(ts, rates))
    assert fit.result is not None and fit.result.identifiable
    assert fit_verdict(fit).passed


def test_funding_without_enough_half_lives_is_not_identified() -> None:
    # Half-life ~140 h seen over 60 h: a slow drift from far above the mean.
    ts, rates = _ou_rates(60, 0.005, seed=3, start=5e-5, sd=2e-8)
    fit = fit_model("funding", lambda: fit_funding_ou(ts, rates))
    assert fit.result is not None and not fit.result.identifiable
    verdict = fit_verdict(fit)
    assert (verdict.passed, verdict.severity) == (False, "warn")
    assert verdict.reason.startswith("funding OU not identified")


def _markout_market(informed: float, seed: int) -> ModelFit:  # type: ignore[type-arg]
    """Trades whose mid moves 6 bps their way 5 s later with probability ``informed``."""
    rng = np.random.default_rng(seed)
    n = 4000
    t = np.cumsum(rng.exponential(20.0, n)) * _NS
    side = rng.choice([-1, 1], n)
    jump = np.where(rng.random(n) < informed, 6.0 * side, 0.0) + rng.normal(0, 1.0, n)
    mid_ts = np.sort(np.concatenate([t - _NS // 10, t + 5 * _NS]))
    move = np.zeros(mid_ts.size)
    after = np.searchsorted(mid_ts, t + 5 * _NS)
    move[after] = jump
    mid = 100.0 * np.exp(np.cumsum(move) * 1e-4)
    return fit_model(
        "adverse_selection",
        lambda: fit_adverse_selection(
            t.astype(np.int64), side, mid_ts.astype(np.int64), mid, horizon_s=5.0, n_boot=10
        ),
    )


def test_a_collapsed_informed_flow_mixture_is_flagged_and_a_real_one_passes() -> None:
    real = _markout_market(0.3, seed=4)
    assert real.result is not None and real.result.lr_statistic > MIXTURE_MIN_LR
    assert abs(real.result.informed_share - 0.3) < 0.1  # recovered
    assert fit_verdict(real).passed, fit_verdict(real).reason
    noise = _markout_market(0.0, seed=5)  # no informed trades: one component
    verdict = fit_verdict(noise)
    assert (verdict.passed, verdict.severity) == (False, "warn")
    assert "informed-flow mixture collapsed" in verdict.reason


def test_validation_table_sets_scores_side_by_side_with_the_gate_verdict() -> None:
    config = GateConfig()
    scores = {"oos_loglik_per_event": -6.0, "depth_oos_loglik_per_order": -3.0}
    baseline = {"oos_loglik_per_event": -5.0, "depth_oos_loglik_per_order": -3.1}
    v = verdicts(scores, baseline, "oos_loglik_per_event", config)
    assert v["oos_loglik_per_event"].startswith("WORSE beyond margin")  # floor -5.25
    assert v["depth_oos_loglik_per_order"] == "better"
    table = validation_markdown(scores, baseline, "000003-abcdef12", "oos_loglik_per_event", config)
    assert "| **oos_loglik_per_event** (primary) | -6 | -5 | -1 |" in table
    assert "published 000003-abcdef12" in table
    assert "refuses the candidate: worse on oos_loglik_per_event" in table
    first = validation_markdown(scores, {}, None, "oos_loglik_per_event", config)
    assert "nothing published yet" in first
