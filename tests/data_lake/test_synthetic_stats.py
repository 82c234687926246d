"""Self-checks of the synthetic market: what it realises matches what it plants.

Each check compares a sample statistic with its planted expectation, with a tolerance
of 3-4 standard errors derived from the model (not from the sample).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from data_lake.sources.synthetic import DEFAULT_MARKET, SymbolDay, generate_symbol_day
from data_lake.sources.synthetic.config import (
    SECONDS_PER_YEAR,
    DepthLaw,
    FundingParams,
    HawkesParams,
    HestonParams,
    JumpParams,
    SizeLaw,
)
from data_lake.sources.synthetic.flow import (
    hawkes_expectation,
    sample_orders,
    simulate_hawkes,
)
from data_lake.sources.synthetic.funding import simulate_funding
from data_lake.sources.synthetic.price import correlated_driver, stream_rng
from data_lake.sources.synthetic.truth import expected_integrated_variance
from tests.data_lake.test_synthetic import order_table

DAY = dt.date(2026, 1, 5)
FLAT = tuple([1.0] * 24)
HAWKES = HawkesParams(
    mu=(0.05, 0.03),
    alpha=((0.5, 0.2), (0.1, 0.4)),
    beta=((2.0, 1.0), (1.5, 3.0)),
    hourly_profile=FLAT,
)


def test_hawkes_counts_match_the_stationary_rate_on_a_flat_profile() -> None:
    expect = hawkes_expectation(HAWKES)
    rate = np.linalg.solve(np.eye(2) - HAWKES.alpha_array, HAWKES.mu_array)
    np.testing.assert_allclose(expect.expected_counts, rate * 86_400.0)
    n_days = 12
    counts = np.array(
        [
            np.bincount(simulate_hawkes(np.random.default_rng(s), HAWKES)[1], minlength=2)
            for s in range(n_days)
        ]
    )
    for i in range(2):
        z = (counts[:, i].sum() - n_days * expect.expected_counts[i]) / math.sqrt(
            n_days * expect.count_cov[i, i]
        )
        assert abs(z) < 3.0, (i, z)


def test_hawkes_clustering_has_the_cluster_process_variance() -> None:
    # 10-minute windows of one long day: far longer than the kernels, so the counts are
    # nearly independent with the long-window (Bartlett) variance, not the Poisson one.
    times, _ = simulate_hawkes(np.random.default_rng(5), HAWKES, 5 * 86_400.0)
    per_window = np.bincount((times // 600).astype(int), minlength=5 * 144)
    expect = hawkes_expectation(HAWKES, 600.0)
    ratio = per_window.var(ddof=1) / expect.count_cov.sum()
    assert per_window.mean() == pytest.approx(expect.expected_total, rel=0.03)
    assert 0.8 < ratio < 1.2  # sd of a variance ratio over 720 windows: ~5 %
    assert expect.count_cov.sum() > 3.0 * expect.expected_total  # clustered, not Poisson


def test_hawkes_hourly_counts_follow_the_volume_profile() -> None:
    seasonal = dataclasses.replace(
        HAWKES, hourly_profile=DEFAULT_MARKET.symbol("ETH").hawkes.hourly_profile
    )
    expect = hawkes_expectation(seasonal)
    n_days = 8
    per_hour = np.zeros(24)
    for s in range(n_days):
        times, _ = simulate_hawkes(np.random.default_rng(100 + s), seasonal)
        per_hour += np.bincount((times // 3600).astype(int), minlength=24)
    inv = np.linalg.inv(np.eye(2) - seasonal.alpha_array)
    mean_h = expect.rate_per_hour.sum(axis=1) * 3600.0 * n_days
    var_h = np.array(
        [
            3600.0 * n_days * (inv @ np.diag(expect.rate_per_hour[h]) @ inv.T).sum()
            for h in range(24)
        ]
    )
    z = (per_hour - mean_h) / np.sqrt(var_h)
    assert np.max(np.abs(z)) < 4.0  # 24 hours: Bonferroni-style bound
    assert per_hour.argmax() in range(11, 18)  # the profile peaks in the afternoon UTC


def test_depths_and_sizes_follow_their_laws() -> None:
    rng = np.random.default_rng(9)
    times = np.sort(rng.random(20_000))
    kind = rng.integers(0, 2, times.size).astype(np.int8)
    informed = DEFAULT_MARKET.symbol("BTC").informed
    for depth, sizes in (
        (DepthLaw("exponential", kappa=0.4), SizeLaw("lognormal", scale=0.02, shape=1.5)),
        (DepthLaw("power_law", alpha=2.5, xmin_bps=1.0), SizeLaw("pareto", scale=0.05, shape=1.6)),
    ):
        flow = sample_orders(
            rng, times, kind, sizes=sizes, depth=depth, size_depth_corr=0.6, informed=informed
        )
        assert stats.kstest(flow.depth_bps, depth.cdf).pvalue > 1e-3
        if sizes.kind == "lognormal":
            size_p = stats.kstest(np.log(flow.size / sizes.scale) / sizes.shape, "norm").pvalue
        else:
            size_p = stats.kstest(flow.size, "pareto", args=(sizes.shape, 0, sizes.scale)).pvalue
        assert size_p > 1e-3
        rank_corr = stats.spearmanr(flow.size, flow.depth_bps).statistic
        assert rank_corr == pytest.approx(6 / math.pi * math.asin(0.3), abs=0.03)
        assert flow.informed.mean() == pytest.approx(informed.fraction, abs=0.006)


@pytest.mark.parametrize("symbol", ["BTC", "ETH"])
def test_published_order_depths_pass_ks_against_the_planted_law(symbol: str) -> None:
    # Depths measured from trades and bbo alone: tick rounding must not show at this n.
    day = generate_symbol_day(symbol, DAY, seed=21, duration_s=4 * 3600.0)
    orders = order_table(day)
    law = DEFAULT_MARKET.symbol(symbol).depth
    assert len(orders) > 3_000
    assert stats.kstest(orders["depth_bps"], law.cdf).pvalue > 1e-3


def test_funding_moments_match_the_ou_process() -> None:
    params = FundingParams(kappa_per_s=1.0 / 86_400.0, theta=3e-5, sigma_per_sqrt_s=2e-8)
    n = 60_000
    rates = simulate_funding(np.random.default_rng(4), params, params.theta, n * 3600.0).rate
    phi, sd = params.lag1_autocorrelation, params.stationary_sd
    mean_se = sd * math.sqrt((1 + phi) / (1 - phi) / n)
    assert abs(rates.mean() - params.theta) < 3 * mean_se
    var_rel_se = math.sqrt(2 * (1 + phi**2) / (1 - phi**2) / n)
    assert rates.var() / sd**2 == pytest.approx(1.0, abs=3 * var_rel_se)
    lag1 = np.corrcoef(rates[:-1], rates[1:])[0, 1]
    assert abs(lag1 - phi) < 3 * math.sqrt((1 - phi**2) / n) + 2 * (1 + 3 * phi) / n


def test_funding_rows_have_hourly_marks_near_the_mid() -> None:
    day = generate_symbol_day("ETH", DAY, seed=3, duration_s=6 * 3600.0)
    funding = day.table("funding").to_pandas()
    assert funding["interval_s"].eq(3600).all() and len(funding) == 6
    assert np.all(np.diff(funding["ts"]) == 3600 * 10**9)
    mids = day.mid[(funding["ts"] - funding["ts"].iloc[0]) // 10**8]
    assert np.all(np.abs(funding["mark_px"] / mids - 1) < 5e-4)
    assert np.all(np.abs(funding["oracle_px"] / mids - 1) < 2e-3)


def _integrated_variance_sd(heston: HestonParams, t_years: float) -> float:
    """sd of ``int_0^T v dt`` for a CIR variance started at theta (annualised var x yr).

    ``Var = xi^2 theta / kappa^2 (T - 2 (1 - e^{-kT}) / k + (1 - e^{-2kT}) / (2k))``, which
    tends to ``xi^2 theta T^3 / 3`` when ``kappa T`` is small.
    """
    k, t = heston.kappa, t_years
    bracket = t - 2.0 * -math.expm1(-k * t) / k + -math.expm1(-2.0 * k * t) / (2.0 * k)
    return math.sqrt(heston.xi**2 * heston.theta / k**2 * bracket)


def test_mean_daily_realised_variance_is_theta_per_day() -> None:
    # Diffusion only (no jumps, informed flow or signal), few orders: fast full days.
    cfg = DEFAULT_MARKET.symbol("BTC")
    market = DEFAULT_MARKET.replace_symbol(
        "BTC",
        jumps=JumpParams(rate_per_day=0.0, up_prob=0.5, up_mean_bps=1.0, down_mean_bps=1.0),
        informed=dataclasses.replace(cfg.informed, fraction=0.0),
        book=dataclasses.replace(cfg.book, imbalance_coef_bps=0.0),
        hawkes=dataclasses.replace(cfg.hawkes, mu=(0.005, 0.005)),
    )
    heston = cfg.heston
    rv = np.array(
        [
            generate_symbol_day("BTC", DAY, seed=s, market=market).truth["realised"][
                "variance_bps2"
            ]["mid_5min"]
            for s in range(6)
        ]
    )
    t_years = 86_400.0 / SECONDS_PER_YEAR
    expected = expected_integrated_variance(heston, heston.theta, 86_400.0) * 1e8
    assert expected == pytest.approx(heston.theta * t_years * 1e8)
    # Per day: 5-minute sampling error sqrt(2/288) and the randomness of int v dt.
    iv_sd = _integrated_variance_sd(heston, t_years) * 1e8
    day_sd = math.sqrt((expected * math.sqrt(2.0 / 288.0)) ** 2 + iv_sd**2)
    assert abs(rv.mean() - expected) < 3.0 * day_sd / math.sqrt(rv.size)


def test_diffusive_returns_have_the_planted_correlation() -> None:
    n = 200_000
    z = {
        s: correlated_driver(DEFAULT_MARKET, s, 5, DAY.toordinal(), n)
        for s in ("BTC", "ETH", "SOL")
    }
    corr = np.asarray(DEFAULT_MARKET.correlation)
    for i, a in enumerate(z):
        assert z[a].std() == pytest.approx(1.0, abs=0.01)
        for j, b in enumerate(z):
            if j > i:
                r = np.corrcoef(z[a], z[b])[0, 1]
                assert abs(r - corr[i, j]) < 4 * (1 - corr[i, j] ** 2) / math.sqrt(n)


def test_streams_are_independent_across_symbols_days_and_seeds() -> None:
    draws = [
        stream_rng(7, "BTC", 1, "orders").random(4),
        stream_rng(7, "ETH", 1, "orders").random(4),
        stream_rng(7, "BTC", 2, "orders").random(4),
        stream_rng(8, "BTC", 1, "orders").random(4),
        stream_rng(7, "BTC", 1, "jumps").random(4),
    ]
    assert len({tuple(d) for d in draws}) == len(draws)
    np.testing.assert_array_equal(draws[0], stream_rng(7, "BTC", 1, "orders").random(4))


@pytest.fixture(scope="module")
def sol_quarter_day() -> SymbolDay:
    return generate_symbol_day("SOL", DAY, seed=31, duration_s=6 * 3600.0)


def test_book_imbalance_predicts_the_next_mid_move(sol_quarter_day: SymbolDay) -> None:
    # From the published tables only: top-1 imbalance of each snapshot against the mid
    # change over the planted horizon, read from the bbo stream.
    day = sol_quarter_day
    truth = day.truth["microprice"]
    book = day.table("book").to_pandas()
    bid0 = np.array([v[0] for v in book["bid_sz"]])
    ask0 = np.array([v[0] for v in book["ask_sz"]])
    imbalance = (bid0 - ask0) / (bid0 + ask0)
    bbo = day.table("bbo").to_pandas()
    bbo["mid"] = (bbo["bid_px"] + bbo["ask_px"]) / 2
    horizon_ns = round(truth["horizon_s"] * 1e9)
    now = pd.merge_asof(book[["ts"]], bbo[["ts", "mid"]], on="ts")["mid"].to_numpy()
    later = pd.merge_asof(
        pd.DataFrame({"ts": book["ts"] + horizon_ns}), bbo[["ts", "mid"]], on="ts"
    )["mid"].to_numpy()
    move_bps = (later - now) / now * 1e4
    fit = stats.linregress(imbalance, move_bps)
    assert fit.slope > 5 * fit.stderr  # the signal is there
    assert abs(fit.slope - truth["imbalance_coef_bps"]) < 4 * fit.stderr
    assert np.mean(imbalance**2) == pytest.approx(truth["expected_imbalance_sq"], rel=0.05)


def test_informed_orders_carry_the_planted_markout(sol_quarter_day: SymbolDay) -> None:
    day = sol_quarter_day
    truth = day.truth["informed"]
    realised = day.truth["realised"]["markout_bps"]
    for k, h in enumerate(truth["markout_horizons_s"]):
        inf, uninf = realised["informed"][k], realised["uninformed"][k]
        diff = inf["mean"] - uninf["mean"]
        se = math.hypot(inf["se"], uninf["se"])
        planted = truth["markout_bps"] * min(h, truth["horizon_s"]) / truth["horizon_s"]
        assert abs(diff - planted) < 4 * se, (h, diff, planted, se)
    # At 30 s the whole move is in: informed orders are clearly adverse.
    assert realised["informed"][3]["mean"] > 3 * realised["informed"][3]["se"]


@pytest.mark.slow
@pytest.mark.parametrize("symbol", ["BTC", "ETH", "SOL"])
def test_default_days_realise_their_planted_orders_and_variance(symbol: str) -> None:
    # Full default days over several seeds: order counts against the modulated Hawkes
    # expectation, and the 5-minute RV of the published mid against the planted budget
    # (diffusion + jumps + informed flow + signal).
    n_days = 5
    days = [generate_symbol_day(symbol, DAY, seed=200 + s) for s in range(n_days)]
    truth = days[0].truth
    orders = np.array([d.orders.n for d in days])
    expected_orders = truth["hawkes"]["expected_orders_total"]
    z = (orders.sum() - n_days * expected_orders) / (
        math.sqrt(n_days) * truth["hawkes"]["orders_total_sd"]
    )
    assert abs(z) < 3.0, z
    budget = truth["price"]["expected_variance_bps2"]
    rv = np.array([d.truth["realised"]["variance_bps2"]["mid_5min"] for d in days])
    cfg = DEFAULT_MARKET.symbol(symbol)
    t_years = 86_400.0 / SECONDS_PER_YEAR
    iv_sd = _integrated_variance_sd(cfg.heston, t_years) * 1e8
    p, up, down = cfg.jumps.up_prob, cfg.jumps.up_mean_bps, cfg.jumps.down_mean_bps
    jump_var = cfg.jumps.rate_per_day * 24.0 * (p * up**4 + (1 - p) * down**4)  # E[J^4] = 24 eta^4
    flow_sd = 3.0 * math.sqrt(2.0 / 288.0) * budget["informed"]  # clustering-inflated
    day_sd = math.sqrt(
        (budget["diffusion"] * math.sqrt(2.0 / 288.0)) ** 2 + iv_sd**2 + jump_var + flow_sd**2
    )
    assert abs(rv.mean() - budget["total"]) < 3.0 * day_sd / math.sqrt(n_days), (
        rv.mean(),
        budget,
    )


def test_unconditional_markout_matches_its_expectation_given_the_flow(
    sol_quarter_day: SymbolDay,
) -> None:
    # The naive se ignores that clustered orders share price moves (it understates the
    # error up to ~2x on these data), hence 5 of them.
    markouts = sol_quarter_day.truth["realised"]["markout_bps"]
    planted = sol_quarter_day.truth["informed"]["planted_markout_bps"]
    for k, expected in enumerate(markouts["expected_given_flow"]):
        realised = markouts["all"][k]
        assert abs(realised["mean"] - expected) < 5 * realised["se"], (k, realised, expected)
        assert expected >= planted[k]  # same-side clustering only adds to the own move
