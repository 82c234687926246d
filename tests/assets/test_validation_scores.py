"""The out-of-sample scores: proper (the planted parameters score best on fresh data) and
correctly normalised, each on synthetic held-out data over several seeds."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from assets.validation_scores import (
    addon_curve_mse,
    depth_loglik_per_order,
    hawkes_loglik_per_event,
    microprice_r2,
    split_t_logscore,
)
from data_lake.sources.synthetic.config import HawkesParams
from data_lake.sources.synthetic.flow import simulate_hawkes

SEEDS = range(5)

# -- Hawkes ---------------------------------------------------------------------------------

MU = (0.3, 0.25)
BRANCHING = ((0.4, 0.1), (0.15, 0.35))
DECAY = 2.0


def _hawkes_stream(seed: int, duration_s: float = 20_000.0) -> tuple[np.ndarray, np.ndarray]:
    params = HawkesParams(
        mu=MU,
        alpha=BRANCHING,
        beta=((DECAY, DECAY), (DECAY, DECAY)),
        hourly_profile=(1.0,) * 24,
    )
    times, kind = simulate_hawkes(np.random.default_rng(seed), params, duration_s)
    return times, kind.astype(np.int64)


def _brute_force_loglik(t: np.ndarray, m: np.ndarray, window: float) -> float:
    mu, n = np.asarray(MU), np.asarray(BRANCHING)
    total = 0.0
    for k in range(t.size):
        lags = t[k] - t[:k]
        lam = mu[m[k]] + np.sum(n[m[k], m[:k]] * DECAY * np.exp(-DECAY * lags))
        total += math.log(lam)
    comp = mu.sum() * window + sum(
        n[:, m[k]].sum() * (1 - math.exp(-DECAY * (window - t[k]))) for k in range(t.size)
    )
    return (total - comp) / t.size


def test_hawkes_score_is_the_exact_log_likelihood_per_event() -> None:
    t, m = _hawkes_stream(0, duration_s=600.0)
    got = hawkes_loglik_per_event(t, m, 600.0, MU, BRANCHING, DECAY)
    assert got == pytest.approx(_brute_force_loglik(t, m, 600.0), rel=1e-9)


@pytest.mark.parametrize("seed", SEEDS)
def test_planted_hawkes_scores_best_on_a_fresh_stream(seed: int) -> None:
    t, m = _hawkes_stream(100 + seed)
    window = 20_000.0
    true = hawkes_loglik_per_event(t, m, window, MU, BRANCHING, DECAY)
    perturbed = {
        "mu x 1.5": (np.multiply(MU, 1.5), BRANCHING, DECAY),
        "branching x 0.5": (MU, np.multiply(BRANCHING, 0.5), DECAY),
        "decay x 3": (MU, BRANCHING, DECAY * 3),
        "decay / 3": (MU, BRANCHING, DECAY / 3),
        "Poisson": (np.asarray(MU) / (1 - 0.5), np.zeros((2, 2)), DECAY),
    }
    for name, (mu, n, beta) in perturbed.items():
        worse = hawkes_loglik_per_event(t, m, window, mu, n, beta)
        assert worse < true, f"{name}: {worse} >= {true}"


# -- fill depth -----------------------------------------------------------------------------

SUPPORT = 0.5


def _depths(law: str, params: dict[str, float], n: int, rng: np.random.Generator) -> np.ndarray:
    if law == "exponential":
        return SUPPORT + rng.exponential(1 / params["kappa"], n)
    if law == "power_law":
        return SUPPORT * (1 - rng.random(n)) ** (-1 / (params["alpha"] - 1))
    lo = (math.log(SUPPORT) - params["mu"]) / params["sigma"]
    z = stats.truncnorm.rvs(lo, np.inf, size=n, random_state=rng)
    return np.exp(params["mu"] + params["sigma"] * z)


LAWS = {
    "exponential": {"kappa": 0.4},
    "power_law": {"alpha": 2.5},
    "lognormal": {"mu": 0.3, "sigma": 0.8},
}


@pytest.mark.parametrize("law", sorted(LAWS))
def test_each_law_density_integrates_to_one_on_the_support(law: str) -> None:
    from assets.validation_scores import _law_logpdf

    def pdf(x: float) -> float:
        return float(np.exp(_law_logpdf(np.array([x]), law, LAWS[law], SUPPORT))[0])

    total, _ = integrate.quad(pdf, SUPPORT, np.inf, limit=200)
    assert total == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("law", sorted(LAWS))
@pytest.mark.parametrize("seed", SEEDS)
def test_planted_depth_law_scores_best_on_fresh_depths(law: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = _depths(law, LAWS[law], 5_000, rng)
    # Depths below the support are not scored (the quotes never meet them).
    x = np.concatenate([x, rng.uniform(0, SUPPORT, 500)])
    true, n = depth_loglik_per_order(x, law, LAWS[law], SUPPORT)
    assert n == 5_000
    for name, params in LAWS[law].items():
        for factor in (0.8, 1.25):
            wrong = {**LAWS[law], name: params * factor if name != "mu" else params + 0.3}
            worse, _ = depth_loglik_per_order(x, law, wrong, SUPPORT)
            assert worse < true, f"{law} {name} x {factor}"
    # The other laws, at their own best fit to the sample, still lose to the planted one.
    for other in set(LAWS) - {law}:
        best_other = _best_fit(other, x[x >= SUPPORT])
        assert depth_loglik_per_order(x, other, best_other, SUPPORT)[0] < true


def _best_fit(law: str, x: np.ndarray) -> dict[str, float]:
    if law == "exponential":
        return {"kappa": 1 / float(np.mean(x - SUPPORT))}
    if law == "power_law":
        return {"alpha": 1 + x.size / float(np.sum(np.log(x / SUPPORT)))}
    best = max(
        ({"mu": mu, "sigma": s} for mu in np.linspace(-3, 2, 41) for s in np.linspace(0.2, 3, 41)),
        key=lambda p: depth_loglik_per_order(x, "lognormal", p, SUPPORT)[0],
    )
    return {k: float(v) for k, v in best.items()}


# -- sigma ----------------------------------------------------------------------------------


def _split_t(n: int, down: float, up: float, df: float, h: float, rng: np.random.Generator) -> (
    np.ndarray
):
    """Draws of the two-piece t: P(x < 0) = s_down / (s_down + s_up)."""
    f = math.sqrt((df - 2) / df)
    s_down, s_up = down * math.sqrt(h) * f, up * math.sqrt(h) * f
    z = np.abs(stats.t.rvs(df, size=n, random_state=rng))
    below = rng.random(n) < s_down / (s_down + s_up)
    return np.where(below, -s_down * z, s_up * z)


def test_split_t_density_integrates_to_one() -> None:
    def pdf(x: float) -> float:
        return math.exp(split_t_logscore(np.array([x]), 1.4, 0.9, 5.0, 10.0))

    left, _ = integrate.quad(pdf, -np.inf, 0)
    right, _ = integrate.quad(pdf, 0, np.inf)
    assert left + right == pytest.approx(1.0, abs=1e-8)
    assert left / right == pytest.approx(1.4 / 0.9, rel=1e-6)


@pytest.mark.parametrize("seed", SEEDS)
def test_planted_sigmas_and_df_score_best_on_fresh_returns(seed: int) -> None:
    down, up, df, h = 1.4, 1.0, 5.0, 10.0
    r = _split_t(8_640, down, up, df, h, np.random.default_rng(seed))
    true = split_t_logscore(r, down, up, df, h)
    perturbed = {
        "sigma x 1.2": (down * 1.2, up * 1.2, df),
        "sigma x 0.8": (down * 0.8, up * 0.8, df),
        "sides swapped": (up, down, df),
        "symmetric": ((down + up) / 2, (down + up) / 2, df),
        "Gaussian": (down, up, None),
        "df 30": (down, up, 30.0),
    }
    for name, (d, u, nu) in perturbed.items():
        assert split_t_logscore(r, d, u, nu, h) < true, name


# -- the adverse-selection add-on -----------------------------------------------------------


def _markouts(rng: np.random.Generator, n: int = 20_000) -> tuple[np.ndarray, np.ndarray]:
    """Depths Exp(mean 2 bps); markout mean 0.5 + 0.3 depth bps, noise sd 3 bps."""
    d = rng.exponential(2.0, n)
    return 0.5 + 0.3 * d + rng.normal(0, 3.0, n), d


def _true_curve(grid: np.ndarray) -> np.ndarray:
    # E[0.5 + 0.3 d | d >= g (1 - 1 %)] for d ~ Exp(mean 2): memoryless, d = g' + 2.
    return 0.5 + 0.3 * (grid * 0.99 + 2.0)


@pytest.mark.parametrize("seed", SEEDS)
def test_planted_addon_curve_scores_best_on_fresh_markouts(seed: int) -> None:
    x, d = _markouts(np.random.default_rng(seed))
    curve_d = np.linspace(0, 10, 11)
    grid = np.append(0.0, np.quantile(d, (0.5, 0.75, 0.9, 0.95, 0.99)))
    true, bias, n = addon_curve_mse(x, d, curve_d, _true_curve(curve_d), grid)
    assert n == grid.size and abs(bias) < 0.3
    perturbed = {
        "+0.5 bps": _true_curve(curve_d) + 0.5,
        "x 0.7": _true_curve(curve_d) * 0.7,
        "flat at the mean": np.full(curve_d.size, float(x.mean())),
    }
    for name, curve in perturbed.items():
        assert addon_curve_mse(x, d, curve_d, curve, grid)[0] > true, name


def test_addon_grid_depths_reached_by_too_few_trades_are_skipped() -> None:
    x, d = _markouts(np.random.default_rng(0), 200)
    _, _, n = addon_curve_mse(x, d, [0.0], [1.0], [0.0, 1e6], min_trades=30)
    assert n == 1
    assert math.isnan(addon_curve_mse(x, d, [0.0], [1.0], [1e6])[0])


# -- the micro-price ------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_planted_microprice_with_its_regimes_scores_best(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 20_000
    x = np.column_stack([rng.uniform(-1, 1, n), rng.choice([-1.0, 0.0, 1.0], n, p=[.01, .98, .01])])
    vol = rng.uniform(0.5, 3.0, n)
    edges = [0.5, 1.5, 3.0]
    coef_calm, coef_busy = np.array([0.4, 0.0]), np.array([1.2, -2.0])
    busy = vol >= 1.5
    y = np.where(busy, x @ coef_busy, x @ coef_calm) + rng.normal(0, 1.0, n)
    regimes = [list(coef_calm), list(coef_busy)]
    kw = {"regime_vol": vol, "regime_edges": edges}
    true = microprice_r2(y, x, 0.0, [0.8, -1.0], regime_coef_bps=regimes, **kw)
    assert true > 0
    assert microprice_r2(y, x, 0.0, [0.8, -1.0]) < true  # the regime split is used
    assert microprice_r2(y, x, 0.0, [0.8, -1.0], regime_coef_bps=[None, None], **kw) < true
    for name, regs in {
        "x 2": [list(coef_calm * 2), list(coef_busy * 2)],
        "x 0.5": [list(coef_calm * 0.5), list(coef_busy * 0.5)],
        "jump sign flipped": [list(coef_calm), [1.2, 2.0]],
    }.items():
        assert microprice_r2(y, x, 0.0, [0.8, -1.0], regime_coef_bps=regs, **kw) < true, name
    assert microprice_r2(y, x, 0.5, [0.8, -1.0], regime_coef_bps=regimes, **kw) < true
    assert microprice_r2(y, x, 0.0, [0.0, 0.0]) == pytest.approx(0.0)  # the mid itself
