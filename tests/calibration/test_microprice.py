"""Ridge micro-price and Stoikov micro-price on simulated books with known signal."""

from __future__ import annotations

import json

import numpy as np
import pytest

from calibration.errors import CalibrationError
from calibration.order_flow.microprice import fit_microprice
from calibration.order_flow.microprice_features import book_imbalance, flow_imbalance
from calibration.order_flow.stoikov import fit_stoikov_microprice

TICK = 0.01


def simulate_book(seed: int, *, n: int = 12_000, dt_s: float = 0.05, beta_bps: float = 0.4,
                  noise_bps: float = 0.5, n_levels: int = 5):
    """Snapshots every dt_s; the next mid change is ``beta_bps * I1 + noise``.

    ``I1`` (level-1 imbalance) is a persistent tanh-AR(1); deeper levels carry no signal.
    """
    rng = np.random.default_rng(seed)
    latent = np.zeros(n)
    shocks = rng.normal(0.0, 0.5, n)
    for i in range(1, n):
        latent[i] = 0.8 * latent[i - 1] + shocks[i]
    imb = np.tanh(latent)
    scale = rng.lognormal(0.0, 0.3, n)
    bid_sz = rng.lognormal(1.0, 0.5, (n, n_levels))
    ask_sz = rng.lognormal(1.0, 0.5, (n, n_levels))
    bid_sz[:, 0] = (1.0 + imb) * scale
    ask_sz[:, 0] = (1.0 - imb) * scale
    step_bps = beta_bps * imb + rng.normal(0.0, noise_bps, n)
    mid = 100.0 * np.exp(np.concatenate(([0.0], np.cumsum(step_bps[:-1]))) / 1e4)
    offsets = np.arange(n_levels) * TICK
    bid_px = (mid - TICK / 2)[:, None] - offsets
    ask_px = (mid + TICK / 2)[:, None] + offsets
    ts = (np.arange(n) * dt_s * 1e9).astype(np.int64)
    return ts, bid_px, bid_sz, ask_px, ask_sz


def simulate_queue_chain(seed: int, *, n: int = 20_000, dt_s: float = 0.1,
                         p_deplete: float = 0.15, p_fill: float = 0.3):
    """Tick-grid book: at a 1-tick spread the ask (bid) queue depletes with probability I
    (1 - I), moving the mid half a tick and opening a 2-tick spread, which refills on a
    random side. So G*(spread 1, I) is about (I - 1/2) ticks and G*(spread 2) about 0."""
    rng = np.random.default_rng(seed)
    imb = np.empty(n)
    spread = np.empty(n, dtype=np.int64)
    mid_half = np.empty(n, dtype=np.int64)
    cur_i, cur_s, cur_m = 0.5, 1, 0
    for i in range(n):
        imb[i], spread[i], mid_half[i] = cur_i, cur_s, cur_m
        u = rng.random()
        if cur_s == 1 and u < p_deplete:
            cur_m += 1 if rng.random() < cur_i else -1
            cur_s, cur_i = 2, rng.uniform(0.02, 0.98)
        elif cur_s == 2 and u < p_fill:
            cur_m += 1 if rng.random() < 0.5 else -1
            cur_s, cur_i = 1, rng.uniform(0.02, 0.98)
        else:
            cur_i = float(np.clip(cur_i + rng.normal(0.0, 0.05), 0.02, 0.98))
    mid = 100.0 + mid_half * TICK / 2
    ts = (np.arange(n) * dt_s * 1e9).astype(np.int64)
    return ts, mid - spread * TICK / 2, 10 * imb, mid + spread * TICK / 2, 10 * (1 - imb)


# ---------------------------------------------------------------- features --------------


def test_book_imbalance_over_levels():
    bid = np.array([[3.0, 1.0, 1.0]])
    ask = np.array([[1.0, 1.0, 3.0]])
    assert book_imbalance(bid, ask, 1)[0] == pytest.approx(0.5)
    assert book_imbalance(bid, ask, 3)[0] == pytest.approx(0.0)
    assert book_imbalance(np.zeros((1, 3)), np.zeros((1, 3)), 2)[0] == 0.0


def test_flow_imbalance_uses_trailing_window_only():
    trades = np.array([0, 1, 2, 3], dtype=np.int64) * 10**9
    side = np.array([1.0, 1.0, -1.0, 1.0])
    size = np.array([1.0, 2.0, 1.0, 5.0])
    query = np.array([2, 10], dtype=np.int64) * 10**9
    got = flow_imbalance(query, trades, side, size, window_s=1.5)
    # at t=2 s: trades at 1 s (+2) and 2 s (-1) -> 1/3; at 10 s: nothing -> 0
    np.testing.assert_allclose(got, [1.0 / 3.0, 0.0])


# ---------------------------------------------------------------- ridge -----------------


def test_planted_imbalance_signal_is_found_out_of_sample():
    ts, bp, bs, ap, az = simulate_book(0)
    fit = fit_microprice(ts, bp, bs, ap, az, horizon_s=0.05, sample_interval_s=0.05)
    assert fit.feature_names == ("imbalance_l1", "imbalance_l3", "imbalance_l5")
    assert fit.oos_r2 > 0.05 and fit.oos_r2 > 3 * fit.oos_r2_stderr
    assert not fit.use_fallback
    # right sign and size on level 1 (planted 0.4 bps per unit), HAC error honest
    assert abs(fit.ols_coef_bps[0] - 0.4) < 3 * fit.ols_coef_stderr_bps[0]
    assert fit.coef_bps[0] > 0.3
    assert all(c is not None and c[0] > 0 for c in fit.regime_coef_bps)
    assert fit.condition_number > 1.0 and all(v is not None and v >= 1.0 for v in fit.vif)
    fair = fit.fair_price(bp[:5], bs[:5], ap[:5], az[:5])
    mid = 0.5 * (bp[:5, 0] + ap[:5, 0])
    imb1 = book_imbalance(bs[:5], az[:5], 1)
    assert np.all(np.sign(fair - mid) == np.sign(fit.predict_bps(fit.features(bs[:5], az[:5]))))
    assert np.corrcoef(fair - mid, imb1)[0, 1] > 0.9
    json.dumps(fit.to_dict(), allow_nan=False)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_planted_signal_recovered_over_seeds(seed):
    ts, bp, bs, ap, az = simulate_book(seed, beta_bps=0.3)
    fit = fit_microprice(ts, bp, bs, ap, az, horizon_s=0.05, sample_interval_s=0.05)
    assert abs(fit.ols_coef_bps[0] - 0.3) < 2.5 * fit.ols_coef_stderr_bps[0]
    assert fit.oos_r2 > 0 and not fit.use_fallback


def test_pure_noise_falls_back_to_mid():
    ts, bp, bs, ap, az = simulate_book(1, beta_bps=0.0)
    fit = fit_microprice(ts, bp, bs, ap, az, horizon_s=0.05, sample_interval_s=0.05)
    assert fit.use_fallback and fit.oos_r2 < fit.r2_floor
    np.testing.assert_array_equal(fit.fair_price(bp, bs, ap, az), 0.5 * (bp[:, 0] + ap[:, 0]))
    assert np.all(fit.predict_bps(np.zeros((3, 3))) == 0.0)


def test_flow_and_jump_features_enter_when_given():
    ts, bp, bs, ap, az = simulate_book(2, n=4000)
    rng = np.random.default_rng(2)
    trade_ts = np.sort(rng.integers(0, int(ts[-1]), 3000)).astype(np.int64)
    fit = fit_microprice(
        ts, bp[:, 0], bs[:, 0], ap[:, 0], az[:, 0],
        trade_ts_ns=trade_ts, trade_side=rng.choice([-1.0, 1.0], 3000),
        trade_size=rng.lognormal(0, 1, 3000), jump_sign=np.zeros(ts.size),
        horizon_s=0.05, sample_interval_s=0.05,
    )
    # top-of-book only: one imbalance feature; a constant jump sign is dropped
    assert fit.feature_names == ("imbalance_l1", "flow_imbalance")
    assert fit.dropped_features == ("jump_sign",)
    with pytest.raises(CalibrationError, match="flow_imbalance"):
        fit.features(bs[:2, :1], az[:2, :1])


def test_malformed_books_are_rejected():
    ts, bp, bs, ap, az = simulate_book(3, n=500)
    with pytest.raises(CalibrationError, match="sorted"):
        fit_microprice(ts[::-1], bp, bs, ap, az)
    with pytest.raises(CalibrationError, match="bid_sz has 499 rows"):
        fit_microprice(ts, bp, bs[:-1], ap, az)
    with pytest.raises(CalibrationError, match="crossed"):
        fit_microprice(ts, ap, bs, bp, az)
    with pytest.raises(CalibrationError, match="disagree in shape"):
        fit_microprice(ts, bp, bs[:, :3], ap, az)
    bad = bs.copy()
    bad[7, 0] = np.nan
    with pytest.raises(CalibrationError, match="non-finite value at row 7"):
        fit_microprice(ts, bp, bad, ap, az)
    with pytest.raises(CalibrationError, match="need 50 and 20"):
        fit_microprice(ts[:40], bp[:40], bs[:40], ap[:40], az[:40], sample_interval_s=None,
                       horizon_s=0.05)


# ---------------------------------------------------------------- Stoikov ---------------


def test_stoikov_microprice_is_antisymmetric_monotone_and_inside_the_spread():
    ts, bp, bs, ap, az = simulate_queue_chain(0)
    fit = fit_stoikov_microprice(ts, bp, bs, ap, az, horizon_s=1.0)
    assert fit.converged and fit.tick_size == pytest.approx(TICK)
    one_tick = np.array(fit.g_star_ticks[0], dtype=float)
    assert np.all(np.diff(one_tick) > 0)
    np.testing.assert_allclose(one_tick, -one_tick[::-1], atol=1e-12)
    # planted: G*(1 tick, I) ~ I - 1/2, shrunk a little as I drifts before the move
    assert 0.3 < one_tick[-1] < 0.5
    assert np.max(np.abs(np.array(fit.g_star_ticks[1], dtype=float))) < 0.1
    micro = fit.microprice(bp, bs, ap, az)
    assert np.all((micro >= bp) & (micro <= ap))
    assert fit.oos_r2 > 2 * fit.oos_r2_stderr > 0
    json.dumps(fit.to_dict(), allow_nan=False)


def test_stoikov_needs_enough_transitions_and_moves():
    ts, bp, bs, ap, az = simulate_queue_chain(1, n=80)
    with pytest.raises(CalibrationError, match="usable transitions"):
        fit_stoikov_microprice(ts, bp, bs, ap, az)
    ts, bp, bs, ap, az = simulate_queue_chain(1, n=2000)
    flat_bid, flat_ask = np.full(ts.size, 99.995), np.full(ts.size, 100.005)
    with pytest.raises(CalibrationError, match="never sees a mid change"):
        fit_stoikov_microprice(ts, flat_bid, bs, flat_ask, az)


def test_regime_coefficients_follow_a_vol_dependent_signal():
    """Imbalance predicts 0.1 bps per unit in calm stretches and 0.8 in volatile ones."""
    rng = np.random.default_rng(104)  # not the book's seed: its shocks would echo
    ts, bp, bs, ap, az = simulate_book(4, n=24_000, beta_bps=0.0)
    n = ts.size
    imb = book_imbalance(bs, az, 1)
    volatile = (np.arange(n) // 1200) % 2 == 1  # 60 s stretches at 20 snapshots/s
    beta = np.where(volatile, 0.8, 0.1)
    step = beta * imb + rng.normal(0.0, 1.0, n) * np.where(volatile, 1.5, 0.2)
    mid = 100.0 * np.exp(np.concatenate(([0.0], np.cumsum(step[:-1]))) / 1e4)
    offsets = np.arange(bp.shape[1]) * TICK
    bp = (mid - TICK / 2)[:, None] - offsets
    ap = (mid + TICK / 2)[:, None] + offsets
    fit = fit_microprice(ts, bp, bs, ap, az, levels=(1,), horizon_s=0.05,
                         sample_interval_s=0.05, vol_window_s=10.0)
    # terciles: about 40% of samples are calm-classified, so the lowest third is calm only
    low, _, high = fit.regime_coef_bps
    assert low is not None and high is not None
    assert low[0] == pytest.approx(0.1, abs=0.05)
    assert high[0] == pytest.approx(0.8, abs=0.25)
    assert min(fit.regime_n_obs) > 1000


def test_stoikov_warns_when_the_series_is_cut_short():
    from calibration.errors import ConvergenceWarning

    ts, bp, bs, ap, az = simulate_queue_chain(2, n=5000)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        fit = fit_stoikov_microprice(ts, bp, bs, ap, az, max_terms=2)
    assert not fit.converged and fit.n_terms == 2


def test_sparse_snapshots_use_the_finer_target_mid() -> None:
    """1 s snapshots with a 0.3 s horizon: the signal is only visible in the finer mid."""
    rng = np.random.default_rng(11)
    n, b_bps = 4000, 0.8
    snap_ts = np.arange(n, dtype=np.int64) * 1_000_000_000
    bid_sz = rng.uniform(1, 10, n)
    ask_sz = rng.uniform(1, 10, n)
    imb = (bid_sz - ask_sz) / (bid_sz + ask_sz)
    # Fine mid: jumps by b * imbalance 0.2 s after each snapshot, plus noise at 0.5 s.
    mid0 = 100.0 * np.exp(np.cumsum(rng.normal(0, 2e-5, n)))
    fine_ts = np.concatenate([snap_ts, snap_ts + 200_000_000, snap_ts + 500_000_000])
    moved = mid0 * (1 + b_bps * imb / 1e4)
    fine_mid = np.concatenate([mid0, moved, moved * (1 + rng.normal(0, 1e-5, n))])
    order = np.argsort(fine_ts, kind="stable")
    fine_ts, fine_mid = fine_ts[order], fine_mid[order]
    book = (snap_ts, mid0 - 0.005, bid_sz, mid0 + 0.005, ask_sz)
    fit = fit_microprice(
        *book, levels=(1,), sample_interval_s=None, target_ts_ns=fine_ts, target_mid=fine_mid
    )
    assert fit.ols_coef_bps[0] == pytest.approx(b_bps, abs=4 * fit.ols_coef_stderr_bps[0])
    assert fit.oos_r2 > 0.5 and not fit.use_fallback
    with pytest.raises(CalibrationError, match="never moved"):
        fit_microprice(*book, levels=(1,), sample_interval_s=None)
    with pytest.raises(CalibrationError, match="go together"):
        fit_microprice(*book, levels=(1,), target_ts_ns=fine_ts)
