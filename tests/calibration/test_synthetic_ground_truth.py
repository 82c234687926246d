"""End to end: the calibrations recover the synthetic market's planted truth.

Default-configuration symbol-days (``data_lake.sources.synthetic.defaults``) are fed to the
calibrations the way ``assets.features`` / ``assets.model_fits`` feed lake tables to them
(mid = (bid_px + ask_px) / 2 of the bbo, trades in ts order, times from the day start),
and each estimate is compared with the truth document, tolerance from the fit's own
standard error:

- fill depth: BTC (exponential book) is classified ``exponential`` with kappa's interval
  covering the planted kappa; ETH (power-law book) is classified ``power_law`` with alpha
  within 3 s.e. of the planted alpha. The published depths equal the planted ones to half
  a tick (0.005 bps on BTC, 0.0017 bps on ETH), so tick rounding does not matter here.
- markouts (SOL, heavy informed flow; read back from a lake written by
  ``generate_to_lake``): the order markout at each truth horizon is within 2 HAC s.e. of
  ``realised.markout_bps.expected_given_flow`` (the expected unconditional markout given
  the day's order times and sides; the planted ``planted_markout_bps`` leaves out the
  ramps of neighbouring orders).
- microprice: positive out-of-sample R^2 and the planted coefficient on the top-1
  imbalance of each snapshot.
- Hawkes: bivariate fit with an hourly baseline; branching matrix and decays within 3 s.e.
- correlation: the planted correlation applies to the Brownian shocks only, while jumps,
  informed ramps and the imbalance signal are independent across symbols; so the
  correlation of mid returns is ``rho * sqrt(RV_diff_a / RV_mid_a * RV_diff_b / RV_mid_b)``
  with the day's realised 5-minute variances of the truth document, and is checked on the
  same 5-minute grid.

The multi-seed study at the end is marked ``slow``.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from calibration.correlation import ewma_covariance
from calibration.fill_depth import FillDepthFit, fit_fill_depth, fit_fill_depth_sides
from calibration.fill_depth.book_depth import TradeDepths, trade_depths_bps
from calibration.hawkes import HawkesFit, fit_hawkes
from calibration.order_flow.adverse_selection import fit_adverse_selection
from calibration.order_flow.markouts import markouts
from calibration.order_flow.microprice import fit_microprice
from data_lake.lake import Lake
from data_lake.sources.synthetic import (
    SymbolDay,
    generate_symbol_day,
    generate_to_lake,
    read_truth,
)
from data_lake.sources.synthetic.day import MAX_DEPTH_BPS

DATE = dt.date(2026, 1, 5)
SEED = 0
STUDY_SEEDS = (1, 2, 3, 4)
DAY_S = 86_400.0
NS = 1_000_000_000
DAY_START_NS = (DATE - dt.date(1970, 1, 1)).days * 86_400 * NS
N_BOOT = 200  # as the pipeline's fill-depth fit
RV_GRID_S = 300.0  # the truth document's realised variances sample the mid every 5 minutes
SLOW_HALF_LIFE_S = 1e7  # >> a day: the EWMA is the day's equal-weight covariance
MICROPRICE_WINDOW_S = 6 * 3600.0  # 21,600 snapshots: s.e. of the coefficient ~1-2 %


# ----------------------------------------------------------------------------- inputs


@functools.lru_cache(maxsize=3)
def _day(symbol: str, seed: int = SEED, duration_s: float = DAY_S) -> SymbolDay:
    return generate_symbol_day(symbol, DATE, seed=seed, duration_s=duration_s)


@dataclass(frozen=True)
class Tape:
    """Trades and bbo quotes of a symbol-day as the pipeline's features hold them."""

    trade_ts: np.ndarray
    trade_px: np.ndarray
    trade_size: np.ndarray
    trade_side: np.ndarray
    quote_ts: np.ndarray
    bid_px: np.ndarray
    ask_px: np.ndarray
    bid_sz: np.ndarray
    ask_sz: np.ndarray

    @property
    def mid(self) -> np.ndarray:
        return 0.5 * (self.bid_px + self.ask_px)


def _tape_from_frames(trades: pd.DataFrame, bbo: pd.DataFrame) -> Tape:
    """``assets.features.quotes_from_lake`` / ``build_features`` on the bbo and trades."""
    q = bbo.dropna(subset=["bid_px", "ask_px", "bid_sz", "ask_sz"])
    q = q.sort_values("ts", kind="stable")
    t = trades.sort_values("ts", kind="stable")
    return Tape(
        trade_ts=t["ts"].to_numpy(np.int64),
        trade_px=t["price"].to_numpy(np.float64),
        trade_size=t["size"].to_numpy(np.float64),
        trade_side=t["side"].to_numpy(np.int64),
        quote_ts=q["ts"].to_numpy(np.int64),
        bid_px=q["bid_px"].to_numpy(np.float64),
        ask_px=q["ask_px"].to_numpy(np.float64),
        bid_sz=q["bid_sz"].to_numpy(np.float64),
        ask_sz=q["ask_sz"].to_numpy(np.float64),
    )


def _tape(day: SymbolDay) -> Tape:
    return _tape_from_frames(day.tables["trades"].to_pandas(), day.tables["bbo"].to_pandas())


def _order_depths(tape: Tape) -> TradeDepths:
    """``assets.model_fits.trade_depths``: prints grouped by (ts, side), bbo mid before."""
    return trade_depths_bps(
        tape.trade_ts,
        tape.trade_px,
        tape.trade_side,
        tape.quote_ts,
        book_bid_px=tape.bid_px,
        book_ask_px=tape.ask_px,
    )


def _hawkes(tape: Tape, duration_s: float) -> HawkesFit:
    """``assets.model_fits._hawkes``: seconds from midnight, 0 buy / 1 sell, hourly edges."""
    times = (tape.trade_ts - DAY_START_NS) / NS
    marks = (tape.trade_side < 0).astype(np.int64)
    edges = np.arange(0.0, duration_s + 1.0, 3600.0)
    return fit_hawkes(times, marks, window=(0.0, duration_s), baseline_edges=edges)


def _z(estimate: Any, truth: Any, stderr: Any) -> np.ndarray:
    return (np.asarray(estimate, float) - np.asarray(truth, float)) / np.asarray(stderr, float)


# ----------------------------------------------------------------------------- fill depth


@pytest.mark.parametrize("symbol", ["BTC", "ETH"])
def test_published_depths_are_the_planted_depths_to_half_a_tick(symbol: str) -> None:
    day = _day(symbol)
    depths = _order_depths(_tape(day))
    assert depths.depth_bps.size == day.orders.n  # one (ts, side) group per order
    assert depths.n_no_book == 0 and depths.n_negative == 0
    tick = float(day.truth["price"]["tick_size"])
    tick_bps = tick / depths.mid_px * 1e4
    half_spread_bps = day.truth["price"]["spread_ticks"] * tick_bps / 2.0
    # The deepest print sits on the tick nearest the planted depth, at least at the touch,
    # at most MAX_DEPTH_BPS away.
    planted = np.maximum(np.minimum(day.orders.depth_bps, MAX_DEPTH_BPS), half_spread_bps)
    err = np.abs(depths.depth_bps - planted)
    assert np.all(err <= 0.5 * tick_bps * (1.0 + 1e-6) + 1e-9), float(err.max())


def _fill_depth_sides(day: SymbolDay) -> dict[str, FillDepthFit]:
    """``assets.model_fits._fill_depth`` (no book fallback: every side has >> 200 depths)."""
    depths = _order_depths(_tape(day))
    keep = depths.depth_bps >= 0
    sides = fit_fill_depth_sides(
        depths.depth_bps[keep], depths.side[keep], seed=0, n_boot=N_BOOT, window_s=DAY_S
    )
    fits = {s.side: s.fit for s in (sides.bid, sides.ask, sides.pooled)}
    assert all(s.source == "trades" for s in (sides.bid, sides.ask, sides.pooled))
    return {name: fit for name, fit in fits.items() if fit is not None}


def test_btc_fill_depth_is_exponential_with_the_planted_kappa() -> None:
    day = _day("BTC")
    truth = day.truth["fill_depth"]
    assert truth["law"] == "exponential"
    kappa = truth["kappa_per_bps"]
    fits = _fill_depth_sides(day)
    for side, fit in fits.items():
        assert fit.best == "exponential", (side, fit.best)
        assert abs(fit.kappa - kappa) < 3.0 * fit.kappa_stderr, (side, fit.kappa,
                                                                fit.kappa_stderr)
    pooled = fits["pooled"]
    lo, hi = pooled.kappa_ci
    assert lo <= kappa <= hi, (pooled.kappa_ci, kappa)


def test_eth_fill_depth_is_power_law_with_the_planted_alpha() -> None:
    day = _day("ETH")
    truth = day.truth["fill_depth"]
    assert truth["law"] == "power_law"
    alpha, xmin = truth["alpha"], truth["xmin_bps"]
    fits = _fill_depth_sides(day)
    for side, fit in fits.items():
        assert fit.best == "power_law", (side, fit.best)
        est, se = fit.power_law.params["alpha"], fit.power_law.stderr["alpha"]
        assert est is not None and se is not None
        assert abs(est - alpha) < 3.0 * se, (side, est, se)
        # Every depth is beyond the planted xmin (above the quote range's lower end), so the
        # quoting support starts at the smallest depth: on the tick nearest the planted xmin.
        assert abs(fit.support_min_bps - xmin) <= 0.01 * xmin, (side, fit.support_min_bps)
        # The CSN tail report finds a tail at (or, by a rounding tick, just below) xmin.
        tail = fit.tail
        assert tail is not None and tail.xmin >= 0.99 * xmin, (side, tail)
        assert abs(tail.alpha - alpha) < 3.0 * tail.alpha_stderr, (side, tail)


# ----------------------------------------------------------------------------- markouts


@pytest.fixture(scope="module")
def sol_lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """One default SOL day written by ``generate_to_lake`` (the same draws as ``_day``)."""
    lake = Lake.at(Path(tmp_path_factory.mktemp("synthetic_home")))
    generate_to_lake(lake, symbols=["SOL"], days=1, seed=SEED, start=DATE)
    return lake


def _sol_from_lake(lake: Lake) -> tuple[Tape, dict[str, Any]]:
    tape = _tape_from_frames(lake.frame("trades", symbol="SOL"), lake.frame("bbo", symbol="SOL"))
    return tape, read_truth(lake.paths, "SOL", DATE)


def test_sol_order_markouts_match_the_expected_unconditional_markout(sol_lake: Lake) -> None:
    tape, truth = _sol_from_lake(sol_lake)
    realised = truth["realised"]["markout_bps"]
    horizons = tuple(float(h) for h in truth["informed"]["markout_horizons_s"])
    table = markouts(
        tape.trade_ts,
        tape.trade_side,
        tape.trade_size,
        tape.quote_ts,
        tape.mid,
        horizons_s=horizons,
        merge_sweeps=True,  # one aggressive order = one markout, as in the truth
    )
    assert table.n_obs == truth["realised"]["orders"]["total"]
    curve = table.overall
    expected = realised["expected_given_flow"]
    means, errors = curve.mean_bps, curve.mean_stderr_bps
    for h, mean, se, exp in zip(horizons, means, errors, expected, strict=True):
        assert mean is not None and se is not None and exp is not None
        assert abs(mean - exp) < 2.0 * se, (h, mean, se, exp)
    # The 30 s markout is dominated by information: well above its error, and above the
    # orders' own planted share (the neighbours' ramps add to it).
    assert curve.mean_bps[-1] is not None and curve.mean_stderr_bps[-1] is not None
    assert curve.mean_bps[-1] > 5.0 * curve.mean_stderr_bps[-1]


def test_sol_adverse_selection_mean_markout_matches_the_truth(sol_lake: Lake) -> None:
    """``assets.model_fits._adverse_selection``'s horizon (5 s), per print, as it is fed."""
    tape, truth = _sol_from_lake(sol_lake)
    realised = truth["realised"]["markout_bps"]
    horizon = 5.0
    k = realised["horizons_s"].index(horizon)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mixture identifiability is not under test
        fit = fit_adverse_selection(
            tape.trade_ts, tape.trade_side, tape.quote_ts, tape.mid, horizon_s=horizon
        )
    # Print counts do not depend on side or information, so the per-print mean has the
    # per-order expectation.
    expected = realised["expected_given_flow"][k]
    assert abs(fit.mean_markout_bps - expected) < 2.0 * fit.mean_markout_stderr_bps, (
        fit.mean_markout_bps,
        fit.mean_markout_stderr_bps,
        expected,
    )


# ----------------------------------------------------------------------------- microprice


@pytest.mark.parametrize("symbol", ["BTC", "ETH", "SOL"])
def test_microprice_recovers_the_planted_imbalance_coefficient(symbol: str) -> None:
    """Snapshot imbalance -> mid move over the planted horizon, sampled at the snapshots.

    The L2 snapshots come once a second, too seldom to read a 0.3 s move from, so the fit
    reads the bbo: at each snapshot time its row is the snapshot's touch (checked), and
    its later rows give the mid at the horizon.
    """
    day = _day(symbol, SEED, MICROPRICE_WINDOW_S)
    planted = day.truth["microprice"]
    tape = _tape(day)
    at_snap = np.searchsorted(tape.quote_ts, day.book.ts, side="right") - 1
    np.testing.assert_array_equal(tape.bid_sz[at_snap], day.book.bid_sz[:, 0])
    np.testing.assert_array_equal(tape.ask_sz[at_snap], day.book.ask_sz[:, 0])
    fit = fit_microprice(
        tape.quote_ts,
        tape.bid_px,
        tape.bid_sz,
        tape.ask_px,
        tape.ask_sz,
        levels=(1,),
        horizon_s=planted["horizon_s"],
        sample_interval_s=day.truth["book"]["snapshot_interval_s"],
    )
    assert fit.n_obs >= day.book.n - 1
    assert fit.feature_names == ("imbalance_l1",)
    assert fit.oos_r2 > 2.0 * fit.oos_r2_stderr, (fit.oos_r2, fit.oos_r2_stderr)
    assert not fit.use_fallback
    b = planted["imbalance_coef_bps"]
    assert fit.coef_bps[0] > 0.0
    assert abs(fit.ols_coef_bps[0] - b) < 3.0 * fit.ols_coef_stderr_bps[0], (
        fit.ols_coef_bps,
        fit.ols_coef_stderr_bps,
        b,
    )


def test_microprice_as_the_pipeline_configures_it_has_the_right_sign() -> None:
    """``assets.model_fits._microprice``: L2 snapshots, default 0.3 s horizon, trade flow.

    Its targets come from the 1 s snapshots, so most 0.3 s targets are zero and the
    coefficient is attenuated (about a quarter of the planted one on SOL); sign and a
    positive out-of-sample R^2 are what survive.
    """
    day = _day("SOL", SEED, MICROPRICE_WINDOW_S)
    book = day.book
    offsets = book.offsets_ticks[None, :]
    bid_px = (book.best_bid_ticks[:, None] - offsets) * book.tick_size
    ask_px = (book.best_bid_ticks[:, None] + book.spread_ticks + offsets) * book.tick_size
    tape = _tape(day)
    fit = fit_microprice(
        book.ts,
        bid_px,
        book.bid_sz,
        ask_px,
        book.ask_sz,
        trade_ts_ns=tape.trade_ts,
        trade_side=tape.trade_side,
        trade_size=tape.trade_size,
    )
    assert fit.oos_r2 > 2.0 * fit.oos_r2_stderr, (fit.oos_r2, fit.oos_r2_stderr)
    k = fit.feature_names.index("imbalance_l1")
    assert fit.ols_coef_bps[k] > 3.0 * fit.ols_coef_stderr_bps[k], (
        fit.ols_coef_bps,
        fit.ols_coef_stderr_bps,
    )


# ----------------------------------------------------------------------------- Hawkes


def _hawkes_failures(day: SymbolDay, fit: HawkesFit) -> list[str]:
    truth = day.truth["hawkes"]
    out: list[str] = []
    if fit.n_obs != day.orders.n:
        out.append(f"{fit.n_obs} merged events vs {day.orders.n} orders")
    for name in ("alpha", "beta"):
        z = _z(getattr(fit, name), truth[name], fit.stderr[name])
        if not np.all(np.abs(z) < 3.0):
            out.append(f"{name} {getattr(fit, name).round(4).tolist()} vs {truth[name]}: z {z}")
    # Hourly baseline mu * profile[h]: 2 x 24 z-scores, jointly chi-square.
    n_bins = fit.baseline.shape[1]
    planted = np.outer(truth["mu"], truth["hourly_profile"][:n_bins])
    z_base = _z(fit.baseline, planted, fit.stderr["baseline"])
    chi2 = float(np.sum(z_base**2))
    if chi2 > stats.chi2.ppf(0.999, z_base.size):
        out.append(f"hourly baseline chi2 {chi2:.1f} on {z_base.size} df")
    return out


@pytest.mark.parametrize("symbol", ["BTC", "ETH", "SOL"])
def test_hawkes_recovers_the_planted_branching_matrix(symbol: str) -> None:
    day = _day(symbol)
    fit = _hawkes(_tape(day), DAY_S)
    assert fit.n_merged > 0  # sweeps print several times at one timestamp
    assert _hawkes_failures(day, fit) == []
    assert abs(fit.branching_ratio - day.truth["hawkes"]["branching_ratio"]) < 0.05


# ----------------------------------------------------------------------------- correlation


def _correlation_failures(days: dict[str, SymbolDay]) -> list[str]:
    tapes = {name: _tape(d) for name, d in days.items()}
    prices = {name: (t.quote_ts, t.mid) for name, t in tapes.items()}
    fit = ewma_covariance(
        prices,
        grid_s=RV_GRID_S,
        half_lives_s=(3600.0, SLOW_HALF_LIFE_S),
        start_ns=DAY_START_NS,  # on the truth's 5-minute grid
        end_ns=DAY_START_NS + round(DAY_S * NS) - 1,
    )
    slow = fit.estimates[-1]
    out: list[str] = []
    names = list(fit.symbols)
    for i, a in enumerate(names):
        for j in range(i + 1, len(names)):
            b = names[j]
            ta, tb = days[a].truth, days[b].truth
            rho = ta["correlation"]["matrix"][ta["correlation"]["symbols"].index(a)][
                ta["correlation"]["symbols"].index(b)
            ]
            rv_a, rv_b = ta["realised"]["variance_bps2"], tb["realised"]["variance_bps2"]
            dilution = math.sqrt(
                rv_a["diffusion"] / rv_a["mid_5min"] * rv_b["diffusion"] / rv_b["mid_5min"]
            )
            target = rho * dilution
            est, se = slow.correlation[i][j], slow.correlation_stderr[i][j]
            if not abs(est - target) < 3.0 * se:
                out.append(f"{a}-{b}: {est:.3f} +- {se:.3f} vs {rho} x {dilution:.3f}")
    return out


def test_correlation_recovers_the_planted_brownian_correlation() -> None:
    days = {name: _day(name) for name in ("BTC", "ETH", "SOL")}
    assert _correlation_failures(days) == []


# ----------------------------------------------------------------------------- study


@pytest.mark.slow
@pytest.mark.parametrize("seed", STUDY_SEEDS)
def test_recovery_across_seeds(seed: int) -> None:
    """Every check above on other seeds (the markouts at 3 s.e.: 4 horizons per seed)."""
    failures: list[str] = []
    days = {name: generate_symbol_day(name, DATE, seed=seed) for name in ("BTC", "ETH", "SOL")}
    for name, law, param in (("BTC", "exponential", "kappa"), ("ETH", "power_law", "alpha")):
        day = days[name]
        depths = _order_depths(_tape(day))
        fit = fit_fill_depth(
            depths.depth_bps[depths.depth_bps >= 0], n_boot=N_BOOT, seed=seed, window_s=DAY_S
        )
        truth = day.truth["fill_depth"]
        if fit.best != law:
            failures.append(f"{name}: best law {fit.best}")
        est: float | None = fit.kappa
        se: float | None = fit.kappa_stderr
        planted = truth["kappa_per_bps"]
        if param == "alpha":
            est, se = fit.power_law.params["alpha"], fit.power_law.stderr["alpha"]
            planted = truth["alpha"]
        if est is None or se is None or not abs(est - planted) < 3.0 * se:
            failures.append(f"{name}: {param} {est} +- {se} vs {planted}")
    sol = days["SOL"]
    tape = _tape(sol)
    realised = sol.truth["realised"]["markout_bps"]
    curve = markouts(
        tape.trade_ts,
        tape.trade_side,
        tape.trade_size,
        tape.quote_ts,
        tape.mid,
        horizons_s=tuple(realised["horizons_s"]),
        merge_sweeps=True,
    ).overall
    z = _z(curve.mean_bps, realised["expected_given_flow"], curve.mean_stderr_bps)
    if not np.all(np.abs(z) < 3.0):
        failures.append(f"SOL markout z {z.round(2).tolist()}")
    for name in ("BTC", "ETH", "SOL"):
        failures += [
            f"{name} hawkes: {f}"
            for f in _hawkes_failures(days[name], _hawkes(_tape(days[name]), DAY_S))
        ]
    failures += _correlation_failures(days)
    assert failures == []
