"""The quoting block: which estimate each field takes, and its fallbacks."""

from types import SimpleNamespace

import numpy as np
import pytest

from assets.model_fits import ModelFit
from assets.param_building import quoting_block, quoting_with_fallbacks
from calibration.errors import CalibrationError


def _side(kappa: float, a: float | None) -> SimpleNamespace:
    return SimpleNamespace(kappa_glft=kappa, kappa=kappa, A_glft=a, A=a, fit=None, n_obs=500)


def _fits(**overrides: ModelFit) -> dict[str, ModelFit]:
    blend = SimpleNamespace(
        sigma_bps=1.2, sigma_bid_bps=1.3, sigma_ask_bps=1.25, sigma_clean_bps=1.0,
        sigma_total_bps=1.4,
    )
    student_t = SimpleNamespace(df=6.0, df_lower=4.0)
    scale = SimpleNamespace(sigma_effective=lambda tox: blend, student_t=student_t)
    vol = SimpleNamespace(primary_label="10s", scale=lambda label: scale)
    depth = SimpleNamespace(bid=_side(0.5, 2.0), ask=_side(0.6, 3.0))
    # Planted BTC excitation: self 0.5 at decay 2/s, cross 0.1 at 1/s.
    hawkes = SimpleNamespace(
        branching_ratio=0.6,
        mu=np.array([0.2, 0.25]),
        alpha=np.array([[0.5, 0.1], [0.1, 0.5]]),
        beta=np.array([[2.0, 1.0], [1.0, 2.0]]),
        burst_toxicity=SimpleNamespace(slope_bps_per_excess=-0.2),
    )
    fits = {
        "volatility": ModelFit("volatility", vol),
        "fill_depth": ModelFit("fill_depth", depth),
        "hawkes": ModelFit("hawkes", hawkes),
        "adverse_selection": ModelFit("adverse_selection", None, "too few trades"),
        "funding": ModelFit("funding", None, "funding OU needs at least 30 rates"),
        "microprice": ModelFit("microprice", None, "no book"),
        "vpin": ModelFit("vpin", None, "too few buckets"),
        "heston": ModelFit("heston", None, "one day of RV"),
    }
    fits.update(overrides)
    return fits


def test_quoting_block_takes_fitted_estimates_and_safe_fallbacks() -> None:
    q = quoting_block(_fits(), last_funding_per_hour=1e-5)
    assert q["sigma_bps_per_sqrt_s"] == 1.2
    assert (q["kappa_bid_per_bps"], q["kappa_ask_per_bps"]) == (0.5, 0.6)
    assert (q["A_bid_per_s"], q["A_ask_per_s"]) == (2.0, 3.0)
    assert q["hawkes_branching_ratio"] == 0.6
    # Branching-weighted reciprocal mean lag: 1.2 / (2 * 0.5/2 + 2 * 0.1/1) = 1.714 per s.
    assert q["hawkes_decay_per_s"] == pytest.approx(1.2 / 0.7)
    assert q["hawkes_branching_matrix"] == [[0.5, 0.1], [0.1, 0.5]]
    assert q["hawkes_mu_per_s"] == [0.2, 0.25]
    assert (q["sigma_bid_bps_per_sqrt_s"], q["sigma_ask_bps_per_sqrt_s"]) == (1.3, 1.25)
    assert q["sigma_diffusion_bps_per_sqrt_s"] <= q["sigma_bps_per_sqrt_s"]
    assert q["sigma_bps_per_sqrt_s"] <= q["sigma_total_bps_per_sqrt_s"]
    assert q["student_t_df"] == 4.0  # the lower limit (fat end), not the MLE 6.0
    assert q["as_addon_bps"] == 50.0  # no AS fit: the stated bound, never 0
    assert q["funding_rate_per_hour"] == 1e-5  # OU failed: the last published rate
    assert q["microprice_fallback_to_mid"] is True


def test_funding_ou_level_wins_over_the_last_print() -> None:
    ou = SimpleNamespace(theta=8e-5, interval_s=28_800.0)
    q = quoting_block(_fits(funding=ModelFit("funding", ou)), last_funding_per_hour=1e-5)
    assert q["funding_rate_per_hour"] == pytest.approx(1e-5)
    ou_hourly = SimpleNamespace(theta=3e-5, interval_s=3600.0)
    q = quoting_block(_fits(funding=ModelFit("funding", ou_hourly)), last_funding_per_hour=1e-5)
    assert q["funding_rate_per_hour"] == pytest.approx(3e-5)


def test_no_candidate_without_volatility_or_fill_depth() -> None:
    with pytest.raises(CalibrationError, match="fill_depth: no depths"):
        quoting_block(_fits(fill_depth=ModelFit("fill_depth", None, "no depths")))


def test_burst_toxicity_is_floored_at_zero_and_a_missing_one_is_a_recorded_fallback() -> None:
    q = quoting_block(_fits())
    assert q["hawkes_toxicity_bps_per_excess"] == 0.0  # -0.2 measured: bursts never narrow
    hawkes = SimpleNamespace(
        branching_ratio=0.5, mu=np.array([0.2, 0.25]),
        alpha=np.array([[0.5, 0.1], [0.1, 0.5]]), beta=np.array([[2.0, 1.0], [1.0, 2.0]]),
        burst_toxicity=None,
    )
    block, fallbacks = quoting_with_fallbacks(_fits(hawkes=ModelFit("hawkes", hawkes)), None, None)
    assert block["hawkes_toxicity_bps_per_excess"] is None
    assert any(f["field"] == "hawkes_toxicity_bps_per_excess" for f in fallbacks)


def test_decay_ignores_channels_without_excitation() -> None:
    """An unidentified cross channel (alpha 0, beta at a search bound) carries no weight."""
    hawkes = SimpleNamespace(
        branching_ratio=0.5,
        mu=np.array([0.2, 0.25]),
        alpha=np.array([[0.5, 0.0], [0.0, 0.5]]),
        beta=np.array([[0.5, 1e4], [float("nan"), 0.5]]),
        burst_toxicity=None,
    )
    q = quoting_block(_fits(hawkes=ModelFit("hawkes", hawkes)))
    assert q["hawkes_decay_per_s"] == pytest.approx(0.5)


def test_fill_rate_falls_back_from_a_degenerate_glft_fit() -> None:
    bid = SimpleNamespace(kappa_glft=0.0, kappa=0.4, A_glft=float("nan"), A=2.5, fit=None,
                          n_obs=500)
    ask = SimpleNamespace(kappa_glft=-0.1, kappa=0.7, A_glft=None, A=None,
                          fit=SimpleNamespace(window_s=100.0), n_obs=300)
    depth = SimpleNamespace(bid=bid, ask=ask)
    q = quoting_block(_fits(fill_depth=ModelFit("fill_depth", depth)))
    assert (q["kappa_bid_per_bps"], q["A_bid_per_s"]) == (0.4, 2.5)
    assert (q["kappa_ask_per_bps"], q["A_ask_per_s"]) == (0.7, 3.0)  # 300 orders in 100 s
