"""The queue fit of a symbol-day from the lake's orders rows, and its quoting fields."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest
from pydantic import ValidationError

from assets.model_fits import ModelFit
from assets.param_building import RISK_AVERSE_QUEUE, quoting_with_fallbacks
from assets.queue_fit import NO_L3_PREFIX, fit_queue_from_orders
from data_lake.lake import Lake
from data_lake.registry.document import QuotingParams
from data_lake.sources.lobster import import_lobster
from tests.assets.test_quoting_fallbacks import _fits
from tests.calibration.queue_sim import simulate_orders
from tests.data_lake.test_lobster_orders import GOOG

DAY = dt.date(2012, 6, 21)
NAMES = {0: "add", 1: "cancel", 2: "delete", 3: "execute"}


def test_a_symbol_without_l3_events_publishes_no_queue_model_and_says_why(
    tmp_path: Path,
) -> None:
    lake = Lake.at(tmp_path)
    import_lobster(lake, GOOG)  # the lake holds GOOG's order events, none of BTC's
    assert lake.read("orders", venue="lobster", symbol="GOOG").num_rows > 0
    btc = lake.read("orders", venue="lobster", symbol="BTC")
    fit = fit_queue_from_orders(btc, "lobster", "BTC", DAY)
    assert not fit.ok and fit.error is not None and fit.error.startswith(NO_L3_PREFIX)
    quoting, fallbacks = quoting_with_fallbacks(_fits(), 1e-5, None, fit)  # type: ignore[arg-type]
    assert quoting["queue_model"] is None and quoting["queue_power_n"] is None
    (recorded,) = [f for f in fallbacks if f["field"] == "queue_model"]
    assert recorded["source"] == RISK_AVERSE_QUEUE and "BTC" in recorded["reason"]
    QuotingParams(**quoting)  # a valid block


def test_a_symbol_with_l3_events_publishes_its_fitted_model() -> None:
    sim = simulate_orders("power", 2.0, 6000, seed=4)
    table = pa.table({
        "ts": sim.ts_ns, "seq": sim.seq, "order_id": sim.order_id,
        "event": [NAMES[int(e)] for e in sim.event], "side": sim.side.astype("int8"),
        "price": sim.price, "size": sim.size, "level_size": sim.level_size,
    })
    fit = fit_queue_from_orders(table, "lobster", "SIM", DAY)
    assert fit.ok and fit.result is not None
    quoting, fallbacks = quoting_with_fallbacks(_fits(), 1e-5, None, fit)  # type: ignore[arg-type]
    assert quoting["queue_model"] == fit.result.preferred == "prob_power"
    assert quoting["queue_power_n"] == pytest.approx(fit.result.power_n)
    assert "queue_model" not in {f["field"] for f in fallbacks}
    QuotingParams(**quoting)


def test_unknown_event_names_and_a_power_model_without_n_are_refused() -> None:
    table = pa.table({"ts": [1], "seq": [1], "order_id": [1], "event": ["replace"],
                      "side": [1], "price": [1.0], "size": [1.0], "level_size": [1.0]})
    fit: ModelFit[object] = fit_queue_from_orders(table, "lobster", "X", DAY)
    assert fit.error is not None and "unknown events ['replace']" in fit.error
    block, _ = quoting_with_fallbacks(_fits(), 1e-5)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="needs its exponent queue_power_n"):
        QuotingParams(**{**block, "queue_model": "prob_power", "queue_power_n": None})
