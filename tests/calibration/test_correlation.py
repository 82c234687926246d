"""EWMA covariance: recovery of planted correlations, regime flag, hedge ratios, input checks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from calibration.correlation import ewma_covariance, synchronise_returns
from calibration.errors import CalibrationError

START_NS = 1_704_067_200 * 1_000_000_000
SEC = 1_000_000_000
VOL_BPS = np.array([2.0, 3.0, 1.5])  # bps per sqrt(second)


def correlated_gbm(
    seed: int, seconds: int, rho: float | list[tuple[int, float]], d: int = 2
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Prices on a 1 s grid whose log returns have correlation rho between every pair.

    rho may be a list of (first second, rho) regimes.
    """
    rng = np.random.default_rng(seed)
    regimes = [(0, rho)] if isinstance(rho, float) else rho
    returns = np.empty((seconds, d))
    for k, (first, r) in enumerate(regimes):
        last = regimes[k + 1][0] if k + 1 < len(regimes) else seconds
        corr = np.full((d, d), r)
        np.fill_diagonal(corr, 1.0)
        chol = np.linalg.cholesky(corr)
        returns[first:last] = rng.standard_normal((last - first, d)) @ chol.T
    returns *= VOL_BPS[:d] * 1e-4
    ts = START_NS + SEC * np.arange(seconds + 1, dtype=np.int64)
    names = ["BTC", "ETH", "SOL"][:d]
    return {
        name: (ts, 100.0 * np.exp(np.r_[0.0, np.cumsum(returns[:, i])]))
        for i, name in enumerate(names)
    }


def assert_recovers_correlation(seed: int, rho: float) -> None:
    fit = ewma_covariance(correlated_gbm(seed, 4 * 3600, rho, d=3))
    for est in fit.estimates:
        corr, se = np.asarray(est.correlation), np.asarray(est.correlation_stderr)
        off = ~np.eye(3, dtype=bool)
        assert np.all(np.abs(corr[off] - rho) < 4 * se[off]), (est.half_life_s, corr)
        np.testing.assert_allclose(est.volatility_bps_per_sqrt_s, VOL_BPS, rtol=0.3)
    assert fit.regime_pairs == []


def test_recovers_planted_correlation_at_every_half_life() -> None:
    assert_recovers_correlation(seed=1, rho=0.6)


@pytest.mark.slow
@pytest.mark.parametrize(("seed", "rho"), [(2, 0.0), (3, 0.3), (4, 0.85), (5, -0.4)])
def test_recovers_planted_correlation_over_seeds(seed: int, rho: float) -> None:
    assert_recovers_correlation(seed=seed, rho=rho)


def test_slow_estimate_is_tight_and_effective_sample_sizes_are_ordered() -> None:
    fit = ewma_covariance(correlated_gbm(6, 4 * 3600, 0.6))
    n_eff = [est.n_eff for est in fit.estimates]
    assert n_eff == sorted(n_eff)
    assert n_eff[0] == pytest.approx(2 * 60 / np.log(2), rel=0.01)  # ~ 2 h / ln 2 steps
    assert fit.correlation("BTC", "ETH", 3600.0) == pytest.approx(0.6, abs=0.03)
    assert fit.n_obs == 4 * 3600


def test_regime_flag_fires_when_correlation_breaks_down_mid_sample() -> None:
    prices = correlated_gbm(7, 2 * 3600 + 900, [(0, 0.8), (2 * 3600, 0.0)])
    fit = ewma_covariance(prices, regime_threshold=0.3)
    assert fit.correlation("BTC", "ETH", 60.0) == pytest.approx(0.0, abs=0.25)
    assert fit.correlation("BTC", "ETH", 3600.0) > 0.55
    assert fit.regime_flag[0][1] and fit.regime_flag[1][0]
    assert fit.regime_pairs == [("BTC", "ETH")]
    assert fit.regime_z[0][1] < -3
    steady = ewma_covariance(correlated_gbm(7, 2 * 3600 + 900, 0.5), regime_threshold=0.3)
    assert steady.regime_pairs == []


def _reference_ewma(returns: np.ndarray, half_life_steps: float) -> np.ndarray:
    """Recursive EWMA with bias correction: an independent route to the same estimate."""
    lam = 0.5 ** (1.0 / half_life_steps)
    s = np.zeros((returns.shape[1], returns.shape[1]))
    w = 0.0
    for r in returns:
        s = lam * s + np.outer(r, r)
        w = lam * w + 1.0
    return s / w


def test_hedge_ratio_is_cov_over_var_and_recovers_rho_sigma_ratio() -> None:
    prices = correlated_gbm(8, 2 * 3600, 0.7, d=3)
    fit = ewma_covariance(prices, hedge_symbol="ETH", half_lives_s=(60.0, 600.0))
    _, _, returns, _ = synchronise_returns(prices)
    for est in fit.estimates:
        cov = _reference_ewma(returns, est.half_life_s)
        np.testing.assert_allclose(est.covariance, cov, rtol=1e-9)
        np.testing.assert_allclose(est.betas, cov / np.diag(cov)[None, :], rtol=1e-9)
    slow = fit.estimate(600.0)
    truth = 0.7 * VOL_BPS[0] / VOL_BPS[1]
    assert abs(slow.betas[0][1] - truth) < 4 * slow.betas_stderr[0][1]
    assert fit.hedge_ratios["BTC"] == tuple(est.betas[0][1] for est in fit.estimates)
    assert fit.hedge_ratios["ETH"] == pytest.approx((1.0, 1.0))
    assert fit.hedge_ratio("SOL", "ETH", 600.0) == slow.betas[2][1]
    json.dumps(fit.to_dict(), allow_nan=False)


def test_previous_tick_sampling_on_asynchronous_ticks_shows_the_epps_effect() -> None:
    # The same correlated path observed at sparse random times on each symbol: a 1 s grid
    # sees stale prices and a depressed correlation; a 60 s grid sees most of it.
    prices = correlated_gbm(9, 8 * 3600, 0.8)
    rng = np.random.default_rng(9)
    sparse = {}
    for name, (ts, px) in prices.items():
        keep = np.sort(rng.choice(ts.size, ts.size // 20, replace=False))
        sparse[name] = (ts[keep], px[keep])
    fine = ewma_covariance(sparse, grid_s=1.0, half_lives_s=(3600.0,))
    coarse = ewma_covariance(sparse, grid_s=60.0, half_lives_s=(3600.0,))
    assert fine.correlation("BTC", "ETH", 3600.0) < 0.4
    assert coarse.correlation("BTC", "ETH", 3600.0) > 0.6
    assert min(fine.stale_fraction) > 0.9


def test_grid_starts_when_every_symbol_has_a_price() -> None:
    prices = correlated_gbm(10, 600, 0.5)
    ts, px = prices["ETH"]
    prices["ETH"] = (ts[100:], px[100:])
    fit = ewma_covariance(prices)
    assert fit.start_ns == START_NS + 100 * SEC
    assert fit.n_obs == 500
    assert fit.n_ticks == (501, 501)


GOOD_TS = START_NS + SEC * np.arange(100, dtype=np.int64)
GOOD_PX = 100 + np.cumsum(np.random.default_rng(1).normal(0, 0.1, 100))


def _two(ts_a: np.ndarray, px_a: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Symbol A as given, symbol B well-formed."""
    return {"A": (ts_a, px_a), "B": (GOOD_TS, GOOD_PX)}


@pytest.mark.parametrize(
    ("prices", "match"),
    [
        ({"A": (GOOD_TS, GOOD_PX)}, "at least two symbols"),
        (_two(GOOD_TS[::-1], GOOD_PX), "A: ts_ns must be sorted; first violation at index 1"),
        (_two(GOOD_TS, -GOOD_PX), "A: prices must be finite and > 0"),
        (_two(GOOD_TS, np.r_[GOOD_PX[:-1], np.nan]), "first violation at index 99"),
        (_two(GOOD_TS, GOOD_PX[:50]), "equal length"),
        (_two(GOOD_TS.astype(float), GOOD_PX), "integer ns"),
        (_two(GOOD_TS + 1000 * SEC, GOOD_PX), "do not overlap"),
        (_two(GOOD_TS, np.full(100, 100.0)), "no price change on the grid for \\['A'\\]"),
        (_two(GOOD_TS[:10], GOOD_PX[:10]), "only 9 grid returns"),
    ],
)
def test_malformed_input_is_rejected(
    prices: dict[str, tuple[np.ndarray, np.ndarray]], match: str
) -> None:
    with pytest.raises(CalibrationError, match=match):
        ewma_covariance(prices)


def test_bad_options_are_rejected() -> None:
    prices = correlated_gbm(11, 600, 0.5)
    with pytest.raises(CalibrationError, match="hedge_symbol"):
        ewma_covariance(prices, hedge_symbol="DOGE")
    with pytest.raises(CalibrationError, match="fastest first"):
        ewma_covariance(prices, half_lives_s=(600.0, 60.0))
    with pytest.raises(CalibrationError, match="positive"):
        ewma_covariance(prices, half_lives_s=(0.0,))
    with pytest.raises(CalibrationError, match="grid_s"):
        ewma_covariance(prices, grid_s=0.0)
    with pytest.raises(KeyError):
        ewma_covariance(prices).estimate(5.0)
