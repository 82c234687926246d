"""score_document on a synthetic held-out day: every score the gate reads is there, and the
market's planted parameters score better than perturbed ones, each on its own score."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest

from assets.features import DayFeatures, build_features
from assets.model_fits import MODEL_FITTERS
from assets.validation import PRIMARY_SCORE, depth_support, score_document
from data_lake.registry.gate import (
    SCORE_ADDON,
    SCORE_DEPTH,
    SCORE_HAWKES,
    SCORE_MICROPRICE,
    SCORE_SIGMA,
)
from data_lake.sources.synthetic.day import SymbolDay, generate_symbol_day

SYMBOL = "BTC"
FIT_DAY, HELD_OUT = dt.date(2026, 1, 12), dt.date(2026, 1, 13)
GATED = (SCORE_HAWKES, SCORE_DEPTH, SCORE_SIGMA, SCORE_ADDON, SCORE_MICROPRICE)


def _features(day: SymbolDay) -> DayFeatures:
    t = {name: day.table(name).to_pandas() for name in ("trades", "bbo", "book", "funding")}
    return build_features(
        "synthetic", SYMBOL, day.date, t["trades"], t["bbo"], t["book"], t["funding"]
    )


@pytest.fixture(scope="module")
def market() -> tuple[dict[str, Any], DayFeatures]:
    """The planted parameters as a document (micro-price fitted on the fit day) and the
    held-out day's features."""
    fit_day = generate_symbol_day(SYMBOL, FIT_DAY, seed=11)
    held = generate_symbol_day(SYMBOL, HELD_OUT, seed=11, state=fit_day.end_state)
    micro = MODEL_FITTERS["microprice"](_features(fit_day))
    truth = held.truth
    tq = truth["quoting"]
    sigma = tq["sigma_total_bps_per_sqrt_s"]["value"]
    kappa = float(truth["fill_depth"]["kappa_per_bps"])
    law = {"best": "exponential", "support_min_bps": 0.5,
           "laws": {"exponential": {"params": {"kappa": kappa}}}}
    doc = {
        "quoting": {
            "hawkes_mu_per_s": tq["hawkes_mu_per_s"]["value"],
            "hawkes_branching_matrix": tq["hawkes_branching_matrix"]["value"],
            "hawkes_decay_per_s": tq["hawkes_decay_per_s"]["value"],
            "sigma_bps_per_sqrt_s": sigma,
            "sigma_bid_bps_per_sqrt_s": sigma,
            "sigma_ask_bps_per_sqrt_s": sigma,
            "student_t_df": None,
            "kappa_bid_per_bps": kappa,
            "kappa_ask_per_bps": kappa,
            "as_addon_bps": tq["as_addon_bps"]["value"],
            "as_addon_curve_depth_bps": [0.0, 5.0],
            "as_addon_curve_bps": [tq["as_addon_bps"]["value"]] * 2,
            "microprice_fallback_to_mid": False,
            "microprice_feature_names": list(micro.feature_names),
            "microprice_coef_bps": list(micro.coef_bps),
            "microprice_intercept_bps": micro.intercept_bps,
        },
        "models": {
            "fill_depth": {"bid": {"fit": law}, "ask": {"fit": law}},
            "microprice": micro.to_dict(),
            "volatility": {"primary_label": "10s",
                           "scales": [{"label": "10s", "clock": "clock", "interval": 10.0}]},
        },
    }
    return doc, _features(held)


def _perturbed(doc: dict[str, Any], model: str) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    q = out["quoting"]
    if model == SCORE_HAWKES:
        q["hawkes_decay_per_s"] *= 4.0
    elif model == SCORE_DEPTH:
        for side in ("bid", "ask"):
            params = out["models"]["fill_depth"][side]["fit"]["laws"]["exponential"]["params"]
            params["kappa"] *= 1.3
    elif model == SCORE_SIGMA:
        q["sigma_bid_bps_per_sqrt_s"] *= 1.4
        q["sigma_ask_bps_per_sqrt_s"] *= 1.4
    elif model == SCORE_ADDON:
        q["as_addon_curve_bps"] = [a + 1.5 for a in q["as_addon_curve_bps"]]
    elif model == SCORE_MICROPRICE:
        q["microprice_coef_bps"] = [-c for c in q["microprice_coef_bps"]]
    return out


def test_every_gated_score_is_computed(market: tuple[dict[str, Any], DayFeatures]) -> None:
    doc, held = market
    scores = score_document(doc, held)
    assert set(GATED) | {PRIMARY_SCORE} <= set(scores)
    assert scores[PRIMARY_SCORE] == pytest.approx(scores[SCORE_HAWKES] + scores[SCORE_DEPTH])
    assert scores[SCORE_MICROPRICE] > 0  # a planted imbalance signal


@pytest.mark.parametrize("model", GATED)
def test_the_planted_parameters_score_best_on_their_own_score_only(
    market: tuple[dict[str, Any], DayFeatures], model: str
) -> None:
    doc, held = market
    planted, worse = score_document(doc, held), score_document(_perturbed(doc, model), held)
    assert worse[model] < planted[model]
    for other in set(GATED) - {model}:
        assert worse[other] == planted[other], other


def test_a_micro_price_that_falls_back_scores_as_the_mid(
    market: tuple[dict[str, Any], DayFeatures],
) -> None:
    doc, held = market
    fell_back = copy.deepcopy(doc)
    fell_back["quoting"]["microprice_fallback_to_mid"] = True
    assert score_document(fell_back, held)[SCORE_MICROPRICE] == 0.0


def test_a_schema_1_document_is_scored_from_its_models_and_symmetric_sigma(
    market: tuple[dict[str, Any], DayFeatures],
) -> None:
    doc, held = market
    old = copy.deepcopy(doc)
    q = old["quoting"]
    mu, matrix = q.pop("hawkes_mu_per_s"), q.pop("hawkes_branching_matrix")
    for key in ("sigma_bid_bps_per_sqrt_s", "sigma_ask_bps_per_sqrt_s", "student_t_df",
                "as_addon_curve_depth_bps", "as_addon_curve_bps"):
        q.pop(key)
    old["models"]["hawkes"] = {"mu": mu, "alpha": matrix}
    old["models"].pop("fill_depth")  # the GLFT exponential on the quote range
    new, scores = score_document(doc, held), score_document(old, held)
    for name in (SCORE_HAWKES, SCORE_SIGMA, SCORE_DEPTH):
        assert scores[name] == pytest.approx(new[name]), name
    assert SCORE_ADDON in scores  # a flat curve at the scalar add-on


def test_depth_scores_compare_on_a_common_support(
    market: tuple[dict[str, Any], DayFeatures],
) -> None:
    doc, held = market
    assert depth_support(doc) == {"bid": 0.5, "ask": 0.5}
    deeper = score_document(doc, held, {"bid": 2.0, "ask": 2.0})[SCORE_DEPTH]
    # Memoryless: the exponential's conditional density is the same law above 2 bps.
    assert deeper == pytest.approx(score_document(doc, held)[SCORE_DEPTH], abs=0.05)
