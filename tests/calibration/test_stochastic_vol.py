"""Heston from high-frequency prices: recovery, identifiability, GARCH and naive OLS."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

from calibration.errors import CalibrationError, IdentifiabilityWarning
from calibration.volatility.garch import fit_garch
from calibration.volatility.stochastic_vol import (
    fit_cir_ols_naive,
    fit_heston,
    realized_variance_series,
)
from tests.calibration.heston_sim import HestonParams, simulate_heston

SECONDS_PER_YEAR = 365 * 86400
TRUTH = HestonParams()  # kappa 365/yr, theta 0.36, xi 16, rho -0.3, 1 bp noise


def test_simulator_parameters_satisfy_feller() -> None:
    assert TRUTH.feller_ratio == pytest.approx(2 * 365 * 0.36 / 16**2)
    assert TRUTH.feller_ratio > 1.0


def test_two_days_are_too_short_for_kappa_and_the_fit_says_so() -> None:
    ts, px, _ = simulate_heston(TRUTH, days=2.0, seed=3)
    with pytest.warns(IdentifiabilityWarning, match="not identified"):
        fit = fit_heston(ts, px)
    assert not fit.identifiable
    assert fit.reason is not None
    assert fit.kappa is None and fit.xi is None and fit.rho is None
    assert fit.theta > 0 and fit.theta_stderr is not None
    assert fit.n_obs == 576


def test_six_minutes_report_theta_only_with_a_reason() -> None:
    ts, px, var = simulate_heston(TRUTH, days=360 / 86400, seed=1)
    with pytest.warns(IdentifiabilityWarning):
        fit = fit_heston(ts, px, rv_interval_s=60.0)
    assert not fit.identifiable
    assert fit.reason is not None and "only 6 RV intervals" in fit.reason
    assert fit.kappa is None and fit.garch is None
    # 6 one-minute RVs still estimate the level: within 50 % of the spot variance
    assert fit.theta == pytest.approx(float(var.mean()), rel=0.5)
    json.dumps(fit.to_dict(), allow_nan=False)


def test_constant_volatility_has_no_variance_dynamics_to_identify() -> None:
    rng = np.random.default_rng(9)
    n = 5 * 86400
    logp = np.cumsum(rng.normal(0, 0.6 / math.sqrt(SECONDS_PER_YEAR), n))
    ts = np.arange(n, dtype=np.int64) * 10**9
    with pytest.warns(IdentifiabilityWarning):
        fit = fit_heston(ts, 100 * np.exp(logp), rv_interval_s=60.0, garch=False)
    assert not fit.identifiable and fit.kappa is None
    assert fit.reason is not None
    assert fit.theta == pytest.approx(0.36, rel=0.05)


def test_noise_correction_removes_the_rv_bias_from_one_second_sampling() -> None:
    rng = np.random.default_rng(0)
    n = 86400
    sigma_ann = 0.6
    step = sigma_ann / math.sqrt(SECONDS_PER_YEAR)
    logp = np.cumsum(rng.normal(0, step, n)) + rng.normal(0, 1e-4, n)
    ts = np.arange(n, dtype=np.int64) * 10**9
    px = 100 * np.exp(logp)
    raw = realized_variance_series(ts, px, noise_correction="none").variance_annualised
    fixed = realized_variance_series(ts, px)
    y = fixed.variance_annualised
    se = float(np.std(y)) / math.sqrt(y.size)
    assert raw.mean() > sigma_ann**2 * 1.3  # 2 m omega^2 bias of 1-second RV
    assert abs(y.mean() - sigma_ann**2) < 4 * se
    assert fixed.noise_var_bps2 == pytest.approx(1.0, rel=0.05)


@pytest.mark.parametrize("seed", range(3))
def test_garch_recovers_simulated_garch_parameters(seed: int) -> None:
    rng = np.random.default_rng(seed)
    omega, alpha, beta, n = 2.0, 0.08, 0.9, 8000
    r = np.empty(n)
    s2 = omega / (1 - alpha - beta)
    for t in range(n):
        r[t] = math.sqrt(s2) * rng.standard_normal()
        s2 = omega + alpha * r[t] ** 2 + beta * s2
    fit = fit_garch(r, interval_s=60.0)
    assert fit.alpha_stderr is not None and fit.beta_stderr is not None
    assert abs(fit.alpha - alpha) < 4 * fit.alpha_stderr
    assert abs(fit.beta - beta) < 4 * fit.beta_stderr
    assert fit.half_life_s is not None
    assert fit.half_life_s == pytest.approx(math.log(0.5) / math.log(fit.persistence) * 60)


def test_malformed_input_raises_calibration_error() -> None:
    ts, px, _ = simulate_heston(TRUTH, days=0.5, seed=0)
    with pytest.raises(CalibrationError, match="sorted"):
        fit_heston(ts[::-1], px)
    with pytest.raises(CalibrationError, match="positive"):
        fit_heston(ts, -px)
    with pytest.raises(CalibrationError, match="less than one"):
        fit_heston(ts[:100], px[:100])
    with pytest.raises(CalibrationError, match="multiple"):
        fit_heston(ts, px, rv_interval_s=300.0, sample_interval_s=7.0)
    with pytest.raises(CalibrationError, match="at least 3"):
        fit_heston(ts[:2], px[:2])
    with pytest.raises(CalibrationError, match="GARCH needs"):
        fit_garch(np.ones(10), interval_s=1.0)


@pytest.fixture(scope="module")
def recovery_study() -> dict[str, np.ndarray]:
    """24 seeds of 30 days at 1 s: fitted parameters, naive OLS kappa, path mean variance.

    ``min_kappa_z=0`` keeps the estimate on every path so the medians are not selected on
    significance; ``kappa_z`` records what the default test would have said.
    """
    rows = []
    for seed in range(24):
        ts, px, var = simulate_heston(TRUTH, days=30.0, seed=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("error", IdentifiabilityWarning)
            fit = fit_heston(ts, px, garch=False, min_kappa_z=0.0)
        naive = fit_cir_ols_naive(ts, px)
        assert fit.identifiable
        assert fit.kappa is not None and fit.xi is not None and fit.rho is not None
        assert fit.ar_coef is not None and fit.ar_coef_stderr is not None
        assert fit.kappa_ci and fit.xi_ci and fit.rho_ci
        z = (1.0 - fit.ar_coef) / fit.ar_coef_stderr
        covered = [
            ci[0] <= truth <= ci[1]
            for ci, truth in (
                (fit.kappa_ci, TRUTH.kappa),
                (fit.xi_ci, TRUTH.xi),
                (fit.rho_ci, TRUTH.rho),
            )
        ]
        rows.append(
            (fit.kappa, fit.theta, fit.xi, fit.rho, naive.kappa, float(var.mean()), z, *covered)
        )
    arr = np.array(rows, dtype=np.float64)
    names = ["kappa", "theta", "xi", "rho", "naive_kappa", "path_var", "kappa_z"]
    names += ["kappa_covered", "xi_covered", "rho_covered"]
    return dict(zip(names, arr.T, strict=True))


@pytest.mark.slow
def test_heston_recovery_on_thirty_simulated_days(recovery_study: dict[str, np.ndarray]) -> None:
    s = recovery_study
    assert np.median(s["kappa"]) == pytest.approx(TRUTH.kappa, rel=0.30)
    assert np.median(s["xi"]) == pytest.approx(TRUTH.xi, rel=0.15)
    assert abs(np.median(s["rho"]) - TRUTH.rho) < 0.1
    # theta is the mean variance: exact against each path's own mean (measurement-error and
    # noise handling), and against the truth within the path-to-path spread of that mean
    # (sd 26 % per 30-day path at xi = 16, so the median of 24 paths has sd ~7 %).
    assert np.median(s["theta"] / s["path_var"]) == pytest.approx(1.0, abs=0.05)
    assert np.median(s["theta"]) == pytest.approx(TRUTH.theta, rel=0.25)
    # the default one-sided 5 % unit-root check detects mean reversion on most 30-day paths
    assert np.mean(s["kappa_z"] >= 1.645) >= 0.6


@pytest.mark.slow
def test_heston_95_percent_intervals_cover_the_truth_on_most_paths(
    recovery_study: dict[str, np.ndarray],
) -> None:
    # 24 paths: a nominal 95 % interval covers >= 19 of them with probability ~0.99;
    # >= 18 leaves room for kappa's skewed small-sample law (robust s.e.)
    for name in ("kappa", "xi", "rho"):
        assert np.sum(recovery_study[f"{name}_covered"]) >= 18, name


@pytest.mark.slow
def test_naive_cir_ols_on_realized_variance_overstates_kappa_many_fold(
    recovery_study: dict[str, np.ndarray],
) -> None:
    assert np.median(recovery_study["naive_kappa"]) > 10 * TRUTH.kappa
