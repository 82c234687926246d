"""The per-snapshot jump detector, and the micro-price's jump coefficient recovered with
its planted sign when jumps are followed by a drift (continuation or reversal)."""

from __future__ import annotations

import numpy as np
import pytest

from calibration.order_flow.microprice import fit_microprice
from calibration.volatility.jump_sign import JUMP_HOLD_S, jump_signs

NS = 1_000_000_000
STEP_S = 0.1
SEEDS = range(4)


def _path(
    rng: np.random.Generator,
    duration_s: float,
    *,
    sigma_bps: float = 1.0,
    n_jumps: int = 0,
    jump_bps: float = 20.0,
    drift_bps_per_s: float = 0.0,
    drift_s: float = 7.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mid on a 0.1 s grid: Brownian (bps/sqrt(s)) plus jumps of +-jump_bps, each followed by
    a drift of ``drift_bps_per_s`` in its direction for ``drift_s`` seconds.

    Returns (ts_ns, mid, jump times s, jump signs).
    """
    n = round(duration_s / STEP_S)
    incr = rng.normal(0.0, sigma_bps * np.sqrt(STEP_S), n)
    # Jumps well apart and after the detector's first window.
    at = np.sort(rng.choice(np.arange(200, n // 200 - 2), n_jumps, replace=False)) * 200
    at = at + rng.integers(0, 10, n_jumps)  # anywhere inside a second
    signs = rng.choice([-1.0, 1.0], n_jumps)
    incr[at] += signs * jump_bps
    k = round(drift_s / STEP_S)
    for a, s in zip(at, signs, strict=True):
        incr[a + 1 : a + 1 + k] += s * drift_bps_per_s * STEP_S
    mid = 100.0 * np.exp(np.cumsum(incr) * 1e-4)
    ts = np.arange(n, dtype=np.int64) * round(STEP_S * NS)
    return ts, mid, at * STEP_S, signs


@pytest.mark.parametrize("seed", SEEDS)
def test_planted_jumps_are_found_with_their_sign_and_held(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ts, mid, when, signs = _path(rng, 6 * 3600.0, n_jumps=40)
    query = np.arange(0, ts[-1], NS // 2, dtype=np.int64)  # every 0.5 s
    got = jump_signs(ts, mid, query)
    for t, s in zip(when, signs, strict=True):
        # From the end of the 1 s return that holds the jump, for JUMP_HOLD_S seconds.
        inside = (query >= (t + 1.0) * NS) & (query <= (t + JUMP_HOLD_S) * NS)
        assert np.all(got[inside] == s)
        before = (query > (t - 5.0) * NS) & (query < t * NS)
        assert np.all(got[before] == 0)  # past data only: nothing before the jump
    # Off the jumps' hold windows nothing fires (Gaussian moves: < 1e-6 per return).
    near = np.zeros(query.size, bool)
    for t in when:
        near |= (query >= t * NS) & (query <= (t + JUMP_HOLD_S + 1.0) * NS)
    assert np.count_nonzero(got[~near]) <= 2


def test_a_still_mid_or_a_short_history_detects_nothing() -> None:
    ts = np.arange(1000, dtype=np.int64) * NS
    assert not jump_signs(ts, np.full(1000, 50.0), ts).any()
    assert not jump_signs(ts[:50], np.linspace(1, 2, 50), ts[:50]).any()


@pytest.mark.parametrize("drift", [0.5, -0.5])
@pytest.mark.parametrize("seed", SEEDS)
def test_microprice_jump_coefficient_has_the_planted_sign(drift: float, seed: int) -> None:
    """After a jump the mid drifts ``drift`` bps/s its way (reverts when negative): the
    expected 0.3 s change while a jump is signalled is ``0.3 * drift`` bps per unit of
    the sign, which the fit recovers within its HAC standard errors."""
    rng = np.random.default_rng(1000 + seed)
    ts, mid, _, _ = _path(rng, 3 * 3600.0, n_jumps=40, drift_bps_per_s=drift)
    n = ts.size
    # A one-level book at every step whose imbalance carries nothing.
    tick = mid * 1e-5
    bid_sz, ask_sz = rng.lognormal(0, 0.5, n), rng.lognormal(0, 0.5, n)
    sign = jump_signs(ts, mid, ts)
    fit = fit_microprice(
        ts,
        mid - tick,
        bid_sz,
        ask_sz=ask_sz,
        ask_px=mid + tick,
        levels=(1,),
        jump_sign=sign,
        sample_interval_s=STEP_S,
    )
    j = fit.feature_names.index("jump_sign")
    planted = 0.3 * drift
    coef, se = fit.ols_coef_bps[j], fit.ols_coef_stderr_bps[j]
    assert se is not None
    assert np.sign(coef) == np.sign(planted) and np.sign(fit.coef_bps[j]) == np.sign(planted)
    assert abs(coef - planted) < 4 * se, (coef, se, planted)


@pytest.mark.parametrize("seed", SEEDS)
def test_jumps_without_a_drift_give_a_coefficient_consistent_with_zero(seed: int) -> None:
    """The synthetic market's jumps are martingale increments: the planted coefficient is 0."""
    rng = np.random.default_rng(2000 + seed)
    ts, mid, _, _ = _path(rng, 3 * 3600.0, n_jumps=40)
    n = ts.size
    tick = mid * 1e-5
    fit = fit_microprice(
        ts,
        mid - tick,
        rng.lognormal(0, 0.5, n),
        mid + tick,
        rng.lognormal(0, 0.5, n),
        levels=(1,),
        jump_sign=jump_signs(ts, mid, ts),
        sample_interval_s=STEP_S,
    )
    j = fit.feature_names.index("jump_sign")
    se = fit.ols_coef_stderr_bps[j]
    assert se is not None and abs(fit.ols_coef_bps[j]) < 4 * se
