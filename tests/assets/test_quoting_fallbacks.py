"""Fallbacks that never narrow the quotes (issue 11).

For each model: make it fail, build the quoting block, and check that (a) the field took
the symbol's last published value or the stated bound, never 0 or NaN, (b) the reason is
recorded in the document's ``fallbacks``, and (c) the GLFT half-spreads the trader
computes from the block at zero inventory are at least those of the fitted block.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from assets.model_fits import ModelFit
from assets.param_building import quoting_with_fallbacks
from assets.quoting_fallbacks import (
    AS_ADDON_BOUND_BPS,
    HAWKES_BRANCHING_BOUND,
    KAPPA_BOUND_PER_BPS,
    STUDENT_T_DF_BOUND,
    VPIN_TOXICITY_BOUND,
    PreviousSet,
)
from calibration.errors import CalibrationError
from calibration.volatility.sigma import sigma_effective
from data_lake.registry.document import FieldFallback, QuotingParams
from tests.trader.strategy.builders import TRADER_SETTINGS
from trader.strategy import compute_quotes, from_quoting, market_state_vector

MID = 50_000.0


def _vol(df: float | None = 4.0) -> SimpleNamespace:
    def effective(toxicity: float) -> Any:
        return sigma_effective(1.0, 1.4, sigma_up_bps=1.35, sigma_down_bps=1.45, toxicity=toxicity)

    student_t = None if df is None else SimpleNamespace(df=df, df_lower=df)
    scale = SimpleNamespace(sigma_effective=effective, student_t=student_t)
    return SimpleNamespace(primary_label="10s", scale=lambda label: scale)


def _side(kappa: float | None, a: float | None) -> SimpleNamespace:
    return SimpleNamespace(kappa_glft=kappa, kappa=kappa, A_glft=a, A=a, fit=None, n_obs=500)


def _addon() -> SimpleNamespace:
    depths, addons = (0.0, 2.0, 5.0), (1.0, 0.6, 0.3)
    return SimpleNamespace(
        depth_bps=depths,
        addon_bps=addons,
        addon_at=lambda d: float(np.interp(d, depths, addons)),
    )


def _fits(**overrides: ModelFit[Any]) -> dict[str, ModelFit[Any]]:
    """Every model fitted (plausible BTC-like values); ``overrides`` replace some."""
    fits: dict[str, ModelFit[Any]] = {
        "volatility": ModelFit("volatility", _vol()),
        "fill_depth": ModelFit(
            "fill_depth", SimpleNamespace(bid=_side(0.5, 2.0), ask=_side(0.6, 3.0))
        ),
        "hawkes": ModelFit(
            "hawkes",
            SimpleNamespace(
                branching_ratio=0.6,
                mu=np.array([0.08, 0.08]),
                alpha=np.array([[0.5, 0.1], [0.1, 0.5]]),
                beta=np.array([[2.0, 1.0], [1.0, 2.0]]),
                burst_toxicity=None,
            ),
        ),
        "adverse_selection": ModelFit(
            "adverse_selection",
            SimpleNamespace(addon=_addon(), mean_markout_bps=0.5, mean_markout_stderr_bps=0.05),
        ),
        "funding": ModelFit("funding", SimpleNamespace(theta=1.25e-5, interval_s=3600.0)),
        "microprice": ModelFit(
            "microprice",
            SimpleNamespace(
                use_fallback=False,
                oos_r2=0.1,
                feature_names=("imbalance",),
                coef_bps=(0.3,),
                intercept_bps=0.0,
                regime_edges_bps_per_sqrt_s=(),
                regime_coef_bps=(),
            ),
        ),
        "vpin": ModelFit("vpin", SimpleNamespace(latest=0.3, bucket_volumes=[1.0, 2.0, 3.0])),
        "heston": ModelFit("heston", None, "one day of RV"),
    }
    fits.update(overrides)
    return fits


def _failed(model: str) -> ModelFit[Any]:
    return ModelFit(model, None, f"{model} made to fail by the test")


def _half_spreads(quoting: dict[str, Any]) -> tuple[float, float]:
    """Bid and ask half-spreads (bps) at zero inventory, as the trader quotes the block."""
    dumped = QuotingParams(**quoting).model_dump(mode="json")
    params = from_quoting(dumped, **TRADER_SETTINGS)
    quotes = compute_quotes(params, market_state_vector(mid=MID, inventory=0.0))
    return quotes.bid_depth_bps, quotes.ask_depth_bps


def _no_nan(quoting: dict[str, Any]) -> None:
    def walk(v: Any) -> None:
        if isinstance(v, float):
            assert math.isfinite(v)
        elif isinstance(v, list | tuple):
            for x in v:
                walk(x)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)

    walk(quoting)


FITTED, _ = quoting_with_fallbacks(_fits(), last_funding_per_hour=1e-5)  # type: ignore[arg-type]

# (model made to fail, fit replacing it, fields that must be recorded)
CASES = [
    ("hawkes", _failed("hawkes"), ["hawkes_branching_ratio", "hawkes_decay_per_s"]),
    ("adverse_selection", _failed("adverse_selection"), ["as_addon_bps"]),
    ("vpin", _failed("vpin"), ["vpin_toxicity", "volume_bucket_size"]),
    ("microprice", _failed("microprice"), ["microprice_fallback_to_mid"]),
    ("volatility", ModelFit("volatility", _vol(df=None)), ["student_t_df"]),
    (
        "fill_depth",
        ModelFit("fill_depth", SimpleNamespace(bid=_side(None, 2.0), ask=_side(0.6, None))),
        ["kappa_bid_per_bps", "A_ask_per_s"],
    ),
]


@pytest.mark.parametrize(("model", "fit", "fields"), CASES, ids=[c[0] for c in CASES])
def test_a_failed_model_falls_back_to_a_bound_that_never_narrows(
    model: str, fit: ModelFit[Any], fields: list[str]
) -> None:
    quoting, fallbacks = quoting_with_fallbacks(
        _fits(**{model: fit}),  # type: ignore[arg-type]
        last_funding_per_hour=1e-5,
    )
    _no_nan(quoting)
    recorded = {fb["field"]: FieldFallback(**fb) for fb in fallbacks}
    for name in fields:
        assert name in recorded, f"{name} not recorded among {sorted(recorded)}"
        assert recorded[name].source in {"bound", "none"}
        assert model in recorded[name].reason
    fitted_bid, fitted_ask = _half_spreads(FITTED)
    bid, ask = _half_spreads(quoting)
    assert bid >= fitted_bid - 1e-9 and ask >= fitted_ask - 1e-9, (
        f"{model} fallback narrowed the quotes: bid {bid} < {fitted_bid} or ask {ask} < "
        f"{fitted_ask}"
    )


def test_the_bounds_are_the_stated_ones_never_zero() -> None:
    every = {
        m: _failed(m) for m in ("hawkes", "adverse_selection", "vpin", "microprice", "funding")
    }
    quoting, fallbacks = quoting_with_fallbacks(_fits(**every))  # type: ignore[arg-type]
    assert quoting["hawkes_branching_ratio"] == HAWKES_BRANCHING_BOUND > 0
    assert quoting["hawkes_branching_matrix"] is None  # the trader floors its live ratio
    assert quoting["as_addon_bps"] == AS_ADDON_BOUND_BPS > 0
    assert quoting["as_addon_curve_bps"] == [AS_ADDON_BOUND_BPS]
    assert quoting["vpin_toxicity"] == VPIN_TOXICITY_BOUND
    # Full toxicity puts the sigma blend at its total (jumps included) end.
    assert quoting["sigma_bps_per_sqrt_s"] == pytest.approx(quoting["sigma_total_bps_per_sqrt_s"])
    assert quoting["microprice_fallback_to_mid"] is True
    assert quoting["funding_rate_per_hour"] == 0.0  # no OU, no print, no published rate
    assert {"funding_rate_per_hour", "heston"} <= {fb["field"] for fb in fallbacks}
    vol = _fits(volatility=ModelFit("volatility", _vol(df=None)))
    assert quoting_with_fallbacks(vol)[0]["student_t_df"] == STUDENT_T_DF_BOUND  # type: ignore[arg-type]
    sides = SimpleNamespace(bid=_side(float("nan"), 2.0), ask=_side(0.6, 3.0))
    depth = _fits(fill_depth=ModelFit("fill_depth", sides))
    assert quoting_with_fallbacks(depth)[0]["kappa_bid_per_bps"] == KAPPA_BOUND_PER_BPS  # type: ignore[arg-type]


def test_a_failed_model_takes_the_last_published_value_naming_its_version() -> None:
    previous = PreviousSet("000007-0123abcd", QuotingParams(**FITTED).model_dump(mode="json"))
    fits = _fits(hawkes=_failed("hawkes"), adverse_selection=_failed("adverse_selection"))
    quoting, fallbacks = quoting_with_fallbacks(fits, 1e-5, previous)  # type: ignore[arg-type]
    for name in (
        "hawkes_branching_ratio",
        "hawkes_decay_per_s",
        "hawkes_branching_matrix",
        "as_addon_bps",
    ):
        assert quoting[name] == FITTED[name]
    assert quoting["as_addon_curve_bps"] == FITTED["as_addon_curve_bps"]
    sources = {fb["field"]: fb["source"] for fb in fallbacks}
    assert sources["hawkes_branching_ratio"] == "version 000007-0123abcd"
    assert sources["as_addon_bps"] == "version 000007-0123abcd"


def test_a_required_model_takes_the_last_published_set_or_there_is_no_candidate() -> None:
    fits = _fits(volatility=_failed("volatility"))
    with pytest.raises(CalibrationError, match="volatility: volatility made to fail"):
        quoting_with_fallbacks(fits)  # type: ignore[arg-type]
    previous = PreviousSet("000003-89abcdef", QuotingParams(**FITTED).model_dump(mode="json"))
    quoting, fallbacks = quoting_with_fallbacks(fits, None, previous)  # type: ignore[arg-type]
    assert quoting["sigma_bps_per_sqrt_s"] == FITTED["sigma_bps_per_sqrt_s"]
    assert {"sigma_bps_per_sqrt_s", "student_t_df"} <= {fb["field"] for fb in fallbacks}
