"""Burst toxicity: the planted extra adverse selection per unit excess intensity is found."""

from __future__ import annotations

import numpy as np
import pytest

from calibration.errors import CalibrationError
from calibration.hawkes.burst_toxicity import causal_intensity_ratio, fit_burst_toxicity
from tests.calibration.hawkes_sim import simulate_hawkes_exp

MU, N_BRANCH, BETA = 2.0, 0.6, 1.5
H = 5.0


def planted(seed: int, slope_bps: float, calm_bps: float = 0.3, noise_bps: float = 1.0):
    """Hawkes arrivals with independent random sides, so the only link between a fill's
    markout and the burst is the planted one: trade i moves the mid by
    ``side (calm + slope * excess_i) + noise`` bps half a horizon later."""
    times, _ = simulate_hawkes_exp([MU], [[N_BRANCH]], [[BETA]], 3000.0, seed)
    rng = np.random.default_rng(seed)
    side = rng.choice([-1, 1], times.size)
    mu = [MU / 2, MU / 2]
    k = [[N_BRANCH / 2] * 2] * 2
    ratio = causal_intensity_ratio(times, (side < 0).astype(int), mu, k, BETA)
    excess = np.maximum(ratio - 1.0, 0.0)
    move_bps = side * (calm_bps + slope_bps * excess) + rng.normal(0.0, noise_bps, times.size)
    order = np.argsort(times + H / 2, kind="stable")
    mid_t = np.concatenate(([0.0], (times + H / 2)[order]))
    mid = 100.0 * np.exp(np.cumsum(np.concatenate(([0.0], move_bps[order]))) / 1e4)
    ns = 1_000_000_000
    return (times * ns).astype(np.int64), side, (mid_t * ns).astype(np.int64), mid, mu, k


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("slope", [0.0, 0.8])
def test_the_planted_slope_is_recovered_within_its_standard_error(seed, slope):
    ts, side, mid_ts, mid, mu, k = planted(seed, slope)
    fit = fit_burst_toxicity(ts, side, mid_ts, mid, mu=mu, branching=k, decay_per_s=BETA,
                             horizon_s=H)
    assert fit.n_obs > 5000 and fit.mean_excess > 0.1
    assert abs(fit.slope_bps_per_excess - slope) < 4.0 * fit.slope_stderr_bps
    assert fit.slope_stderr_bps < 0.4  # other trades inside the horizon are the noise
    assert abs(fit.intercept_bps - 0.3) < 0.2


def test_the_ratio_matches_the_live_definition_and_ties_do_not_excite_each_other():
    t = np.array([0.0, 1.0, 1.0, 1.5])
    m = np.array([0, 0, 1, 0])
    mu, k, beta = [1.0, 1.0], [[0.5, 0.0], [0.0, 0.5]], 2.0
    r = causal_intensity_ratio(t, m, mu, k, beta)
    base = 1.0 / (1 - 0.5)
    assert r[0] == pytest.approx(1.0 / base)
    exc = 0.5 * beta * np.exp(-beta * 1.0)
    assert r[1] == pytest.approx((1.0 + exc) / base)
    assert r[2] == pytest.approx(1.0 / base)  # sells are not excited by buys here
    exc2 = 0.5 * beta * (np.exp(-beta * 1.5) + np.exp(-beta * 0.5))
    assert r[3] == pytest.approx((1.0 + exc2) / base)


def test_bad_inputs_raise_a_calibration_error():
    ts, side, mid_ts, mid, mu, k = planted(4, 0.0)
    with pytest.raises(CalibrationError, match="explosive"):
        fit_burst_toxicity(ts, side, mid_ts, mid, mu=mu, branching=[[0.9, 0.9], [0.9, 0.9]],
                           decay_per_s=BETA)
    with pytest.raises(CalibrationError, match="200 trades"):
        fit_burst_toxicity(ts[:50], side[:50], mid_ts, mid, mu=mu, branching=k,
                           decay_per_s=BETA)


def test_a_sweeps_prints_are_one_event():
    mu, k, beta = [1.0, 1.0], [[0.5, 0.0], [0.0, 0.5]], 2.0
    swept = causal_intensity_ratio([0.0, 0.0, 0.0, 1.0], [0, 0, 0, 0], mu, k, beta)
    single = causal_intensity_ratio([0.0, 1.0], [0, 0], mu, k, beta)
    assert swept[-1] == pytest.approx(single[-1])
