"""Funding-rate OU: recovery of planted parameters, carry formula, input checks."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

from calibration.errors import CalibrationError, IdentifiabilityWarning
from calibration.funding import (
    SECONDS_PER_YEAR,
    FundingOUFit,
    expected_carry,
    fit_funding_ou,
)

START_NS = 1_704_067_200 * 1_000_000_000
HALF_LIFE_S = 24 * 3600.0
KAPPA = math.log(2) / HALF_LIFE_S * SECONDS_PER_YEAR  # per year
THETA = 1.25e-5  # per hour: Hyperliquid's base rate
STATIONARY_SD = 1e-5
SIGMA = STATIONARY_SD * math.sqrt(2 * KAPPA)  # per sqrt(year)


def simulate_ou(
    seed: int, days: float, *, dt_s: float = 3600.0, drop: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Exact OU samples on a grid of dt_s, with a fraction `drop` of prints missing."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(days * 86400 / dt_s)) * dt_s
    if drop:
        t = t[rng.random(t.size) >= drop]
    a = np.exp(-KAPPA / SECONDS_PER_YEAR * np.diff(t))
    shocks = STATIONARY_SD * np.sqrt(1 - a**2) * rng.standard_normal(a.size)
    x = np.empty(t.size)
    x[0] = THETA + STATIONARY_SD * rng.standard_normal()
    for i in range(a.size):
        x[i + 1] = THETA + (x[i] - THETA) * a[i] + shocks[i]
    return (START_NS + t * 1e9).astype(np.int64), x


def assert_recovers(fit: FundingOUFit, n_se: float = 3.5) -> None:
    assert fit.kappa_stderr and fit.theta_stderr and fit.sigma_stderr
    assert abs(fit.kappa - KAPPA) < n_se * fit.kappa_stderr
    assert abs(fit.theta - THETA) < n_se * fit.theta_stderr
    assert abs(fit.sigma - SIGMA) < n_se * fit.sigma_stderr
    assert fit.identifiable


def test_recovers_planted_ou_from_120_days_of_hourly_rates() -> None:
    ts, rates = simulate_ou(seed=1, days=120)
    fit = fit_funding_ou(ts, rates, interval_s=3600)
    assert_recovers(fit)
    assert fit.n_obs == rates.size
    assert fit.half_life_s == pytest.approx(math.log(2) / fit.kappa * SECONDS_PER_YEAR)
    assert fit.stationary_std == pytest.approx(STATIONARY_SD, rel=0.15)
    assert fit.theta_annualised == pytest.approx(fit.theta * 24 * 365)
    assert fit.residual_ks_pvalue > 0.001
    assert abs(fit.residual_lag1_autocorr) < 0.1


@pytest.mark.slow
@pytest.mark.parametrize("seed", [2, 3, 4, 5, 6, 7])
def test_recovers_planted_ou_over_seeds_regular_and_irregular(seed: int) -> None:
    ts, rates = simulate_ou(seed=seed, days=90 + 15 * seed, drop=0.25 if seed % 2 else 0.0)
    assert_recovers(fit_funding_ou(ts, rates, interval_s=3600))


@pytest.mark.slow
def test_95_percent_intervals_cover_the_planted_values_about_95_percent_of_the_time() -> None:
    fits = [fit_funding_ou(*simulate_ou(seed=1000 + s, days=60)) for s in range(200)]
    for name, planted in (("kappa", KAPPA), ("theta", THETA), ("sigma", SIGMA)):
        covered = [
            abs(getattr(f, name) - planted) < 1.96 * getattr(f, f"{name}_stderr") for f in fits
        ]
        assert 0.89 <= np.mean(covered) <= 0.99, (name, np.mean(covered))


def test_irregular_spacing_from_missed_prints_is_handled_exactly() -> None:
    ts, rates = simulate_ou(seed=8, days=150, drop=0.3)
    assert np.unique(np.diff(ts)).size > 1
    assert_recovers(fit_funding_ou(ts, rates))


def test_standard_errors_match_the_spread_of_estimates_across_seeds() -> None:
    fits = [fit_funding_ou(*simulate_ou(seed=100 + s, days=60)) for s in range(40)]
    for name in ("kappa", "theta", "sigma"):
        estimates = np.array([getattr(f, name) for f in fits])
        mean_se = np.mean([getattr(f, f"{name}_stderr") for f in fits])
        assert np.std(estimates) == pytest.approx(mean_se, rel=0.35), name


def test_short_series_warns_that_mean_reversion_is_not_identified() -> None:
    ts, rates = simulate_ou(seed=9, days=3)
    with pytest.warns(IdentifiabilityWarning, match="weakly identified"):
        fit = fit_funding_ou(ts, rates)
    assert not fit.identifiable
    assert "half-lives" in fit.note
    json.dumps(fit.to_dict(), allow_nan=False)


def test_too_few_points_raise_a_clear_error() -> None:
    ts, rates = simulate_ou(seed=10, days=1)
    with pytest.raises(CalibrationError, match="at least 30 rates, got 24"):
        fit_funding_ou(ts, rates)
    with pytest.raises(CalibrationError, match="got 0"):
        fit_funding_ou(np.array([], dtype=np.int64), np.array([]))


@pytest.mark.parametrize(
    ("ts", "rates", "match"),
    [
        (np.arange(40, dtype=np.int64)[::-1], np.linspace(0, 1e-4, 40), "strictly increasing"),
        (np.zeros(40, dtype=np.int64), np.linspace(0, 1e-4, 40), "strictly increasing"),
        (np.arange(40, dtype=np.int64), np.r_[np.nan, np.ones(39)], "finite; first violation"),
        (np.arange(40, dtype=np.int64), np.full(40, 1e-4), "constant"),
        (np.arange(40, dtype=np.int64), np.ones(39), "equal length"),
        (np.arange(40, dtype=np.float64), np.linspace(0, 1e-4, 40), "integer nanoseconds"),
    ],
)
def test_malformed_input_is_rejected(ts: np.ndarray, rates: np.ndarray, match: str) -> None:
    with pytest.raises(CalibrationError, match=match):
        fit_funding_ou(ts * 3_600_000_000_000, rates)


def test_interval_must_be_positive() -> None:
    ts, rates = simulate_ou(seed=11, days=5)
    with pytest.raises(CalibrationError, match="interval_s"):
        fit_funding_ou(ts, rates, interval_s=0)


def _planted_fit(interval_s: float = 3600.0) -> FundingOUFit:
    return FundingOUFit(
        kappa=KAPPA,
        theta=THETA,
        sigma=SIGMA,
        kappa_stderr=None,
        theta_stderr=None,
        sigma_stderr=None,
        half_life_s=HALF_LIFE_S,
        stationary_std=STATIONARY_SD,
        theta_annualised=THETA * SECONDS_PER_YEAR / interval_s,
        interval_s=interval_s,
        n_obs=0,
        window_s=0.0,
        loglik=0.0,
        residual_ks_pvalue=1.0,
        residual_lag1_autocorr=0.0,
        identifiable=True,
        note="planted",
    )


def test_expected_carry_matches_monte_carlo_of_the_ou() -> None:
    fit = _planted_fit()
    r0, horizon_s, dt = 5e-5, 12 * 3600.0, 30.0
    rng = np.random.default_rng(12)
    n_paths, n_steps = 20_000, int(horizon_s / dt)
    a = math.exp(-KAPPA / SECONDS_PER_YEAR * dt)
    r = np.full(n_paths, r0)
    integral = np.zeros(n_paths)
    for _ in range(n_steps):
        nxt = (
            THETA
            + (r - THETA) * a
            + STATIONARY_SD * math.sqrt(1 - a * a) * rng.standard_normal(n_paths)
        )
        integral += 0.5 * (r + nxt) * dt  # trapezoid: O(dt^2) against the exact integral
        r = nxt
    long_pays_bps = integral / fit.interval_s * 1e4
    carry = expected_carry(1_000_000.0, horizon_s, r0, fit=fit)
    mc_se = long_pays_bps.std() / math.sqrt(n_paths)
    assert -carry.carry_bps == pytest.approx(long_pays_bps.mean(), abs=4 * mc_se)
    assert carry.carry_std_bps == pytest.approx(long_pays_bps.std(), rel=0.03)
    assert carry.carry_quote == pytest.approx(carry.carry_bps * 100.0)
    assert carry.expected_rate_sum == pytest.approx(-carry.carry_bps / 1e4)


def test_carry_sign_convention_long_pays_positive_rate_short_receives() -> None:
    fit = _planted_fit(interval_s=28_800.0)
    long = fit.expected_carry(10_000.0, 8 * 3600.0, 1e-4)
    short = fit.expected_carry(-10_000.0, 8 * 3600.0, 1e-4)
    assert long.carry_bps < 0 < short.carry_bps
    assert long.carry_quote == pytest.approx(-short.carry_quote)
    # Far horizon: theta per interval plus the decayed excess (r0 - theta) / k once.
    far = expected_carry(1.0, 1000 * 28_800.0, 1e-3, fit=fit)
    excess = (1e-3 - THETA) * (HALF_LIFE_S / math.log(2)) / 28_800.0
    assert far.expected_rate_sum == pytest.approx(1000 * THETA + excess, rel=1e-9)
    # Zero horizon, zero carry; flat position, zero carry.
    assert expected_carry(1.0, 0.0, 1e-3, fit=fit).carry_bps == 0.0
    assert expected_carry(0.0, 3600.0, 1e-3, fit=fit).carry_quote == 0.0
    assert fit.expected_rate(1e-3, 0.0) == pytest.approx(1e-3)
    with pytest.raises(CalibrationError, match="horizon_s"):
        expected_carry(1.0, -1.0, 1e-4, fit=fit)
    json.dumps(long.to_dict(), allow_nan=False)


def test_fit_does_not_print_or_warn_on_good_data(capsys: pytest.CaptureFixture[str]) -> None:
    ts, rates = simulate_ou(seed=13, days=60)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit_funding_ou(ts, rates)
    assert capsys.readouterr().out == ""
