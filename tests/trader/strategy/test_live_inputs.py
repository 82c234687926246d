"""The live inputs: Hawkes intensity ratio, realised-vol scale and jump regime."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.calibration.hawkes_sim import simulate_hawkes_exp
from tests.trader.strategy.builders import live_params
from trader.market_state import (
    S_HAWKES_BUY_RATIO,
    S_HAWKES_SELL_RATIO,
    S_JUMP_REGIME,
    S_MID,
    S_SIGMA_SCALE,
    new_state,
)
from trader.strategy.live_inputs import observe_mid, observe_trade, refresh_live_inputs
from trader.strategy.live_params import LiveInputs, RegimeSettings, live_from_quoting

MU = (0.8, 0.5)
K = ((0.30, 0.15), (0.10, 0.40))
BETA = 2.0


def packed(live: LiveInputs) -> np.ndarray:
    from dataclasses import replace

    return replace(live_params(), live=live).to_array()


def hawkes_live(**regime: float) -> LiveInputs:
    return LiveInputs(
        hawkes_mu_per_s=MU, hawkes_branching=K, hawkes_decay_per_s=BETA,
        sigma_ref_bps_per_sqrt_s=1.0, regime=RegimeSettings(**regime),
    )


def reference_intensity(times, marks, t):
    """lambda(t) from its definition, summing every earlier event's kernel."""
    lam = np.array(MU, dtype=float)
    for tk, j in zip(times, marks, strict=True):
        if tk <= t:
            lam += BETA * np.asarray(K)[:, j] * math.exp(-BETA * (t - tk))
    return lam


def test_the_ratio_is_the_kernels_intensity_over_its_stationary_mean():
    rng = np.random.default_rng(3)
    times = np.sort(rng.uniform(0.0, 20.0, 40))
    marks = rng.integers(0, 2, 40)
    params = packed(hawkes_live())
    base = np.linalg.solve(np.eye(2) - np.asarray(K), np.asarray(MU))
    state = new_state()
    for tk, j in zip(times, marks, strict=True):
        observe_trade(state, params, tk, 1 if j == 0 else -1)
    for t in (times[-1], times[-1] + 0.3, times[-1] + 5.0):
        refresh_live_inputs(state, params, t)
        lam = reference_intensity(times, marks, t)
        assert state[S_HAWKES_BUY_RATIO] == pytest.approx(lam[0] / base[0], rel=1e-9)
        assert state[S_HAWKES_SELL_RATIO] == pytest.approx(lam[1] / base[1], rel=1e-9)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_on_the_fitted_process_the_ratio_averages_one_over_time(seed):
    """The time average of lambda is the event rate, which is the stationary mean: the
    ratio is 1 on average on data from the published kernel, so widening is for bursts."""
    horizon = 4000.0
    alpha = np.asarray(K)
    times, marks = simulate_hawkes_exp(MU, alpha, np.full((2, 2), BETA), horizon, seed)
    params = packed(hawkes_live())
    state = new_state()
    grid = np.arange(200.0, horizon, 0.5)  # skip the burn-in from an empty history
    ratios = np.empty((grid.size, 2))
    k = 0
    for g, t in enumerate(grid):
        while k < times.size and times[k] <= t:
            observe_trade(state, params, times[k], 1 if marks[k] == 0 else -1)
            k += 1
        refresh_live_inputs(state, params, t)
        ratios[g] = state[S_HAWKES_BUY_RATIO], state[S_HAWKES_SELL_RATIO]
    # A Hawkes count's relative sd is ~ 1 / (sqrt(n) (1 - rho)), rho the spectral radius.
    n_events = np.bincount(marks[times >= 200.0], minlength=2)
    rho = float(np.max(np.abs(np.linalg.eigvals(alpha))))
    se = 1.0 / (np.sqrt(n_events) * (1.0 - rho))
    assert np.all(np.abs(ratios.mean(axis=0) - 1.0) < 4.0 * se)
    assert ratios.max() > 1.5  # bursts do show


def brownian_mids(sigma_bps: float, seconds: int, seed: int, dt: float = 1.0):
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0, sigma_bps * 1e-4 * math.sqrt(dt), int(seconds / dt))
    return 100.0 * np.exp(np.cumsum(steps))


@pytest.mark.parametrize("seed", [4, 5, 6])
@pytest.mark.parametrize("true_over_ref", [0.5, 1.0, 2.0])
def test_the_vol_scale_recovers_live_sigma_over_calibrated(seed, true_over_ref):
    regime = {"sigma_scale_floor": 0.1, "sigma_scale_cap": 10.0, "rv_half_life_s": 600.0,
              "rv_sample_s": 5.0, "jump_threshold_sigmas": 50.0}
    params = packed(hawkes_live(**regime))
    state = new_state()
    mids = brownian_mids(true_over_ref * 1.0, 3600, seed)
    scales = []
    for t, mid in enumerate(mids):
        state[S_MID] = mid
        observe_mid(state, params, 1e9 + t)
        if t > 1800:
            scales.append(state[S_SIGMA_SCALE])
    # EWMA of chi2(1) samples with ~ (2 * 600 / ln 2) / 5 = 346 effective samples: sd of
    # the variance ~ sqrt(2/346) = 7.6 %, of its root ~ 3.8 %; 4 sd.
    assert np.mean(scales) == pytest.approx(true_over_ref, rel=0.15)


def test_by_default_a_quiet_market_never_narrows_below_calibrated():
    params = packed(hawkes_live())
    state = new_state()
    for t, mid in enumerate(brownian_mids(0.3, 1200, seed=8)):
        state[S_MID] = mid
        observe_mid(state, params, 1e9 + t)
    assert state[S_SIGMA_SCALE] == 1.0


def test_a_planted_jump_sets_the_regime_for_its_hold_time_then_expires():
    params = packed(hawkes_live(jump_hold_s=30.0))
    state = new_state()
    mids = brownian_mids(1.0, 600, seed=9)
    mids[300:] *= 1.005  # a 50 bps step: 50 / (1 * sqrt(5)) = 22 sigmas at 5 s sampling
    t_jump = None
    for t, mid in enumerate(mids):
        state[S_MID] = mid
        observe_mid(state, params, 1e9 + t)
        if state[S_JUMP_REGIME] == 1.0 and t_jump is None:
            t_jump = t
    assert t_jump is not None and 300 <= t_jump < 306
    refresh_live_inputs(state, params, 1e9 + t_jump + 29.0)
    assert state[S_JUMP_REGIME] == 1.0
    refresh_live_inputs(state, params, 1e9 + t_jump + 31.0)
    assert state[S_JUMP_REGIME] == 0.0


def test_without_a_usable_kernel_or_sigma_the_slots_stay_neutral():
    params = packed(LiveInputs())
    state = new_state()
    for t in range(50):
        observe_trade(state, params, 1e9 + t * 0.01, 1)
        state[S_MID] = 100.0 * (1.0 + 0.01 * (t % 2))
        observe_mid(state, params, 1e9 + t * 10.0)
    refresh_live_inputs(state, params, 1e9 + 600.0)
    assert state[S_HAWKES_BUY_RATIO] == 1.0 and state[S_HAWKES_SELL_RATIO] == 1.0
    assert state[S_SIGMA_SCALE] == 1.0 and state[S_JUMP_REGIME] == 0.0


@pytest.mark.parametrize(
    "change",
    [
        {"hawkes_mu_per_s": None},
        {"hawkes_mu_per_s": [1.0]},
        {"hawkes_mu_per_s": [1.0, -1.0]},
        {"hawkes_branching_matrix": [[0.9, 0.5], [0.5, 0.9]]},  # explosive
        {"hawkes_branching_matrix": [[0.1, math.nan], [0.1, 0.1]]},
        {"hawkes_decay_per_s": 0.0},
        {"hawkes_decay_per_s": "fast"},
    ],
)
def test_an_unusable_kernel_switches_the_live_intensity_off(change):
    quoting = {
        "hawkes_mu_per_s": list(MU),
        "hawkes_branching_matrix": [list(r) for r in K],
        "hawkes_decay_per_s": BETA,
        "sigma_bid_bps_per_sqrt_s": 2.0,
        "sigma_ask_bps_per_sqrt_s": 1.5,
    }
    assert live_from_quoting(quoting).hawkes_on
    live = live_from_quoting({**quoting, **change})
    assert not live.hawkes_on
    assert live.sigma_ref_bps_per_sqrt_s == 1.5  # the stricter jump unit


def test_the_diffusive_sigma_is_the_reference_when_published():
    live = live_from_quoting({"sigma_diffusion_bps_per_sqrt_s": 0.7, "sigma_bid_bps_per_sqrt_s": 2})
    assert live.sigma_ref_bps_per_sqrt_s == 0.7
    assert live_from_quoting({}).sigma_ref_bps_per_sqrt_s is None


def test_the_prints_of_one_sweep_are_one_event_as_the_fit_merges_them():
    params = packed(hawkes_live())
    one, sweep = new_state(), new_state()
    observe_trade(one, params, 10.0, 1)
    for _ in range(4):  # one buy order sweeping four levels: four prints at one time
        observe_trade(sweep, params, 10.0, 1)
    refresh_live_inputs(one, params, 10.5)
    refresh_live_inputs(sweep, params, 10.5)
    base = np.linalg.solve(np.eye(2) - np.asarray(K), np.asarray(MU))
    assert sweep[S_HAWKES_BUY_RATIO] == one[S_HAWKES_BUY_RATIO] > MU[0] / base[0]
