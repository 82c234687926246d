"""The backtest's queue model: the user's, else the set's fitted one, else risk-averse."""

from __future__ import annotations

import pytest

from data_lake.registry import ParamSet
from tests.data_lake.test_params import make_document
from tests.trader.test_backtesting import _events
from trader.backtesting import backtest_param_set
from trader.queue_choice import choose_queue
from trader.settings import default_settings
from trader.sim.config import QUEUE_PROB_POWER, QUEUE_RISK_AVERSE


def _doc(**queue: object) -> ParamSet:
    raw = make_document("BTC", venue="synthetic")
    raw["quoting"].update(queue)
    return ParamSet.model_validate(raw)


def test_a_set_carrying_a_fitted_model_changes_the_backtests_queue_model() -> None:
    settings = default_settings("synthetic", "BTC")
    assert settings.queue_model == "risk_averse"
    fitted = _doc(queue_model="prob_power", queue_power_n=0.126)
    chosen, source = choose_queue(settings, fitted)
    assert (chosen.queue_model, chosen.queue_param) == ("prob_power", 0.126)
    assert chosen.backtest_config().queue_model == QUEUE_PROB_POWER
    report = backtest_param_set(fitted, _events(1000), chosen, queue_source=source)
    queue = report.summary()["queue"]
    assert queue == {"model": "prob_power", "power_n": 0.126, "source": source}
    assert source.startswith("fitted from L3 events")


def test_without_a_fit_the_backtest_queues_risk_averse_and_the_user_choice_wins() -> None:
    settings = default_settings("synthetic", "BTC")
    plain, source = choose_queue(settings, _doc())
    assert plain.backtest_config().queue_model == QUEUE_RISK_AVERSE
    assert "no fitted queue model" in source
    fitted = _doc(queue_model="prob_log", queue_power_n=0.2)
    mine, source = choose_queue(settings, fitted, "risk_averse")
    assert mine.queue_model == "risk_averse" and source == "chosen by the user"
    power, source = choose_queue(settings, fitted, "prob_power")
    assert power.queue_param == 0.2 and "n fitted in" in source
    with pytest.raises(ValueError, match="not one of risk_averse, prob_power, prob_log"):
        choose_queue(settings, fitted, "fifo")
