"""Realised volatility: recovery on simulated diffusions, jump test size/power, TSRV, blend."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from calibration.errors import CalibrationError
from calibration.volatility import (
    bipower_variation,
    estimate_volatility,
    fit_student_t,
    jump_test,
    realized_variance,
    sigma_effective,
    two_scale_realized_variance,
)
from calibration.volatility.realized import clock_time_returns, volume_time_returns

START_NS = 1_700_000_000 * 10**9


def brownian_prices(
    rng: np.random.Generator, n: int, sigma_bps: float, dt_s: float = 1.0, noise_bps: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Prices with log-price Brownian motion of sigma_bps per sqrt(second), every dt_s."""
    steps = rng.normal(0.0, sigma_bps * math.sqrt(dt_s), n - 1)
    logp = np.concatenate(([0.0], np.cumsum(steps))) + rng.normal(0.0, noise_bps, n)
    ts = START_NS + np.round(np.arange(n) * dt_s * 1e9).astype(np.int64)
    return ts, 100.0 * np.exp(logp / 1e4)


@pytest.mark.parametrize("seed", range(4))
def test_rv_and_bv_recover_sigma_of_brownian_motion_at_every_scale(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ts, px = brownian_prices(rng, 6 * 3600, sigma_bps=2.0)
    est = estimate_volatility(ts, px, fit_t=False)
    assert [s.label for s in est.scales] == ["1s", "10s", "60s"]
    for s in est.scales:
        assert abs(s.sigma_total_bps - 2.0) < 4 * s.sigma_total_stderr_bps, s.label
        assert abs(s.sigma_clean_bps - 2.0) < 4 * s.sigma_clean_stderr_bps, s.label
        assert s.sigma_total_annualised == pytest.approx(
            s.sigma_total_bps * math.sqrt(365 * 86400) / 1e4
        )


def test_volume_time_sampling_recovers_sigma_with_random_trade_sizes() -> None:
    rng = np.random.default_rng(11)
    ts, px = brownian_prices(rng, 6 * 3600, sigma_bps=3.0)
    sizes = rng.exponential(2.0, ts.size)
    est = estimate_volatility(
        ts, px, sizes=sizes, scales_s=(10.0,), volume_bars=(40.0,), fit_t=False
    )
    vol = est.scale("vol40")
    assert vol.clock == "volume"
    assert abs(vol.n_returns - sizes.sum() / 40.0) <= 1
    assert abs(vol.sigma_total_bps - 3.0) < 4 * vol.sigma_total_stderr_bps


def test_bipower_is_robust_to_a_jump_that_inflates_realized_variance() -> None:
    rng = np.random.default_rng(3)
    r = rng.normal(0.0, 1.0, 5000)
    r[2500] += 40.0
    assert realized_variance(r) > 5000 + 1000
    assert abs(bipower_variation(r) - 5000) < 4 * math.sqrt(2.61 * 5000)


def test_bns_jump_test_has_its_size_without_jumps_and_power_with_them() -> None:
    rng = np.random.default_rng(5)
    n_seeds, n = 300, 1000
    # stochastic but continuous volatility: the test must not mistake it for jumps
    sig = np.exp(rng.normal(0, 0.3, (n_seeds, 1)) + np.linspace(0, 0.7, n)[None, :])
    returns = rng.normal(size=(n_seeds, n)) * sig
    size = np.mean([jump_test(r, alpha=0.05).rejects for r in returns])
    assert 0.01 <= size <= 0.10
    jumps = returns.copy()
    cols = rng.integers(0, n, (n_seeds, 3))
    np.put_along_axis(jumps, cols, np.take_along_axis(jumps, cols, 1) + 12.0 * sig.mean(), 1)
    tests = [jump_test(r, alpha=0.05) for r in jumps]
    assert np.mean([t.rejects for t in tests]) >= 0.95
    # planted jumps are all upward: the direction summary must say so
    assert np.median([t.signed_jump_share for t in tests]) > 0.1
    assert np.median([t.up_jump_variation_bps2 for t in tests]) > 10 * np.median(
        [t.down_jump_variation_bps2 for t in tests]
    )


def test_two_scale_rv_removes_the_microstructure_noise_bias() -> None:
    for seed in range(4):
        rng = np.random.default_rng(100 + seed)
        ts, px = brownian_prices(rng, 72_000, sigma_bps=1.0, dt_s=0.1, noise_bps=2.0)
        tsrv = two_scale_realized_variance(ts, px)
        truth = 1.0**2 * tsrv.duration_s
        assert tsrv.rv_all_bps2 > 5 * truth  # tick RV is swamped by 2 n omega^2
        assert abs(tsrv.tsrv_bps2 - truth) < 4 * tsrv.tsrv_stderr_bps2
        assert abs(tsrv.sigma_bps - 1.0) < 0.1
        assert tsrv.noise_var_bps2 == pytest.approx(4.0, rel=0.05)


def test_sigma_effective_weight_rises_with_jump_share_and_toxicity() -> None:
    shares = np.linspace(0.0, 0.9, 10)
    toxicities = np.linspace(0.0, 1.0, 6)
    weights = np.array(
        [
            [sigma_effective(1.0, 1.0 / math.sqrt(1 - s), toxicity=t).weight for s in shares]
            for t in toxicities
        ]
    )
    assert np.all(np.diff(weights, axis=0) >= 0)
    assert np.all(np.diff(weights, axis=1) >= 0)
    assert weights[0, 0] == 0.0
    assert weights[-1, 0] == 1.0
    calm = sigma_effective(1.0, 1.2, toxicity=0.0)
    toxic = sigma_effective(1.0, 1.2, toxicity=0.9)
    assert 1.0 < calm.sigma_bps < toxic.sigma_bps <= 1.2


def test_sigma_effective_quotes_bids_on_downside_and_asks_on_upside_risk() -> None:
    eff = sigma_effective(1.0, 1.5, sigma_up_bps=1.1, sigma_down_bps=1.8, toxicity=0.5)
    assert eff.sigma_bid_bps > eff.sigma_bps > eff.sigma_ask_bps >= 1.0


def test_crash_day_makes_bid_sigma_exceed_ask_sigma() -> None:
    rng = np.random.default_rng(8)
    ts, px = brownian_prices(rng, 4 * 3600, sigma_bps=1.0)
    logp = np.log(px)
    for at in (3000, 7000, 11000):
        logp[at:] -= 40e-4  # three 40 bp down jumps
    est = estimate_volatility(ts, np.exp(logp), scales_s=(10.0,), fit_t=False, toxicity=0.3)
    s = est.scale("10s")
    assert s.jump.rejects
    assert s.jump.signed_jump_share < -0.2
    assert est.sigma_effective.sigma_bid_bps > est.sigma_effective.sigma_ask_bps


@pytest.mark.parametrize("df", [3.0, 5.0])
def test_student_t_fit_recovers_degrees_of_freedom(df: float) -> None:
    rng = np.random.default_rng(int(df))
    x = 2.5 * rng.standard_t(df, 20_000)
    fit = fit_student_t(x)
    assert fit.df_stderr is not None and fit.scale_stderr_bps is not None
    assert abs(fit.df - df) < 4 * fit.df_stderr
    assert abs(fit.scale_bps - 2.5) < 4 * fit.scale_stderr_bps
    assert fit.loglik > fit.loglik_gaussian


def test_student_t_on_gaussian_returns_runs_to_large_df() -> None:
    fit = fit_student_t(np.random.default_rng(1).normal(0, 1, 20_000))
    assert fit.df > 30
    assert fit.sigma_bps == pytest.approx(1.0, rel=0.03)


@pytest.mark.parametrize("df", [4.0, 10.0])
def test_student_t_lower_limit_covers_the_true_df_at_its_level(df: float) -> None:
    # One day of one-minute returns: the lower limit sits under the true df about 95 %
    # of the time (binomial sd of the rate over 200 draws: 1.5 %).
    rng = np.random.default_rng(100 + int(df))
    below = [fit_student_t(rng.standard_t(df, 1_440)).df_lower <= df for _ in range(200)]
    assert 0.90 <= np.mean(below) <= 0.99


def test_student_t_lower_limit_exists_when_the_mle_is_gaussian() -> None:
    fit = fit_student_t(np.random.default_rng(2).normal(0, 1, 1_440))  # MLE on its bound
    assert fit.at_bound and fit.df_stderr is None
    assert 5.0 < fit.df_lower < fit.df


def test_estimate_volatility_skips_scales_with_too_few_returns() -> None:
    rng = np.random.default_rng(2)
    ts, px = brownian_prices(rng, 600, sigma_bps=1.0)
    est = estimate_volatility(ts, px)
    assert [s.label for s in est.scales] == ["1s", "10s"]
    assert "60s" in est.skipped
    assert est.primary_label == "10s"


def test_to_dict_is_plain_json_without_nan() -> None:
    rng = np.random.default_rng(4)
    ts, px = brownian_prices(rng, 3600, sigma_bps=1.0)
    est = estimate_volatility(ts, px, sizes=np.ones(ts.size), volume_bars=(10.0,))
    text = json.dumps(est.to_dict(), allow_nan=False)
    assert '"student_t"' in text and '"two_scale"' in text


def test_malformed_prices_raise_calibration_error() -> None:
    ts = START_NS + np.arange(100, dtype=np.int64) * 10**9
    px = np.full(100, 100.0)
    unsorted = ts.copy()
    unsorted[[40, 41]] = unsorted[[41, 40]]
    with pytest.raises(CalibrationError, match=r"sorted.*index 41"):
        estimate_volatility(unsorted, px)
    bad = px.copy()
    bad[7] = 0.0
    with pytest.raises(CalibrationError, match=r"positive.*index 7"):
        clock_time_returns(ts, bad, 1.0)
    bad[7] = np.nan
    with pytest.raises(CalibrationError, match="finite"):
        estimate_volatility(ts, bad)
    with pytest.raises(CalibrationError, match="at least"):
        estimate_volatility(ts[:2], px[:2])
    with pytest.raises(CalibrationError, match="equal length"):
        estimate_volatility(ts, px[:-1])
    with pytest.raises(CalibrationError, match="never moved"):
        jump_test(np.zeros(50))
    with pytest.raises(CalibrationError, match="shorter than one"):
        clock_time_returns(ts, px, 500.0)
    with pytest.raises(CalibrationError, match="fewer than two bars"):
        volume_time_returns(ts, px, np.ones(100), 60.0)
    with pytest.raises(CalibrationError, match="at least 50"):
        fit_student_t(np.ones(10))


def _ramped_prices(
    rng: np.random.Generator, n: int, ramp_s: int = 30
) -> tuple[np.ndarray, np.ndarray]:
    """1 s prices: Brownian (1 bps/sqrt(s)) plus moves of +-4 bps spread evenly over
    ``ramp_s`` seconds, one starting every ``ramp_s`` s: autocorrelated at 1-10 s."""
    n_moves = n // ramp_s + 1
    moves = rng.choice([-4.0, 4.0], n_moves)
    drift = np.repeat(moves / ramp_s, ramp_s)[: n - 1]
    steps = rng.normal(0.0, 1.0, n - 1) + drift
    logp = np.concatenate(([0.0], np.cumsum(steps)))
    ts = START_NS + np.arange(n, dtype=np.int64) * 10**9
    return ts, 100.0 * np.exp(logp / 1e4)


@pytest.mark.parametrize("seed", range(3))
def test_signature_check_moves_the_primary_scale_past_ramped_moves(seed: int) -> None:
    """Ramped moves add 16/30 bps^2/s at scales >= the ramp but only a part of it at 10 s;
    the check takes 60 s there, and keeps 10 s on a plain Brownian motion."""
    rng = np.random.default_rng(seed)
    ts, px = _ramped_prices(rng, 12 * 3600)
    est = estimate_volatility(ts, px, fit_t=False, signature_z=2.0)
    assert est.primary_label == "60s"
    # 60 s returns hold two whole ramps (the grid starts with a ramp): the full rate.
    primary = est.scale("60s")
    expected = math.sqrt(1.0 + 16.0 / 30.0)
    assert abs(primary.sigma_total_bps - expected) < 3.5 * primary.sigma_total_stderr_bps
    assert est.scale("10s").sigma_total_bps < expected - 3.5 * primary.sigma_total_stderr_bps
    ts, px = brownian_prices(rng, 12 * 3600, sigma_bps=1.0)
    assert estimate_volatility(ts, px, fit_t=False, signature_z=2.0).primary_label == "10s"
