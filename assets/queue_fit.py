"""The queue cancellation fit of one symbol-day from the lake's ``orders`` rows.

Only sources with per-order (level 3) events write ``orders`` (LOBSTER). A symbol-day
without them (every crypto venue, the synthetic days) gets no fit and says so: its
param set publishes no queue model, and the backtest queues risk-averse. A fit is never
borrowed from another symbol (an equity's queue says nothing about a crypto book).
"""

import datetime as dt
from collections.abc import Iterator

import dagster as dg
import numpy as np
import pyarrow as pa

from assets.calibration_assets import MODEL_FIT_TYPE, fit_check_spec, fit_metadata
from assets.inputs import day_input_keys, require_inputs
from assets.model_fits import ModelFit, fit_model
from assets.partitions import partition_date, partition_symbol, symbol_day_partitions
from assets.resources import LakeResource
from calibration.queue_cancel import QueueCancelFit, fit_queue_cancel
from calibration.queue_replay import EVENT_ADD, EVENT_CANCEL, EVENT_DELETE, EVENT_EXECUTE
from data_lake.quality_store import QualityGateError

__all__ = ["MODEL", "NO_L3_PREFIX", "fit_queue_from_orders", "queue_cancel_fit"]

MODEL = "queue_cancel"
NO_L3_PREFIX = "no per-order (L3) events"
"""How the reason of a symbol-day without ``orders`` rows starts (not a failure)."""
_CODES = {"add": EVENT_ADD, "cancel": EVENT_CANCEL, "delete": EVENT_DELETE,
          "execute": EVENT_EXECUTE}


def fit_queue_from_orders(
    orders: pa.Table, venue: str, symbol: str, day: dt.date
) -> ModelFit[QueueCancelFit]:
    """The fit of a symbol-day's ``orders`` rows, or why there is none."""
    if orders.num_rows == 0:
        return ModelFit(
            MODEL, None,
            f"{NO_L3_PREFIX} for {venue}/{symbol} on {day}: the backtest uses the "
            "risk-averse queue (only trades advance an order: the fewest fills)",
        )
    frame = orders.select(
        ["ts", "seq", "order_id", "event", "side", "price", "size", "level_size"]
    ).to_pandas()
    codes = frame["event"].map(_CODES)
    if codes.isna().any():
        bad = sorted(set(frame["event"][codes.isna()]))
        return ModelFit(MODEL, None, f"orders of {venue}/{symbol} {day}: unknown events {bad}")

    def fit() -> QueueCancelFit:
        return fit_queue_cancel(
            frame["ts"].to_numpy(np.int64), frame["seq"].to_numpy(np.int64),
            frame["order_id"].to_numpy(np.int64), codes.to_numpy(np.int64),
            frame["side"].to_numpy(np.int64), frame["price"].to_numpy(float),
            frame["size"].to_numpy(float), frame["level_size"].to_numpy(float),
        )

    return fit_model(MODEL, fit)


def _check(fit: ModelFit[QueueCancelFit]) -> dg.AssetCheckResult:
    """Passes without L3 events (nothing to fit is not a failure); WARN on a failed fit."""
    no_l3 = fit.error is not None and fit.error.startswith(NO_L3_PREFIX)
    reason = fit.error or "fitted"
    return dg.AssetCheckResult(
        check_name="fit_quality",
        passed=fit.ok or no_l3,
        severity=dg.AssetCheckSeverity.WARN,
        description=reason,
        metadata={"reason": dg.MetadataValue.text(reason)},
    )


@dg.asset(
    name=f"{MODEL}_fit",
    partitions_def=symbol_day_partitions,
    group_name="calibration",
    compute_kind="numpy",
    dagster_type=MODEL_FIT_TYPE,
    check_specs=[fit_check_spec(f"{MODEL}_fit")],
    description="Where in the queue cancellations fall (the simulator's probabilistic "
    "queue model: power n with its clustered error, the log model, the AIC choice), from "
    "the day's per-order `orders` rows (calibration/queue_cancel.py). No L3 events "
    "(crypto, synthetic): no fit, and the backtest queues risk-averse. Cost: O(n + c K) "
    "for n order events and c cancels at levels of K resting orders (K capped at 32).",
)
def queue_cancel_fit(
    context: dg.AssetExecutionContext, lake: LakeResource
) -> Iterator[dg.Output[ModelFit[QueueCancelFit]] | dg.AssetCheckResult]:
    symbol, day = partition_symbol(context), partition_date(context)
    try:  # the orders come with the day's book: fit only a day that passed its checks
        require_inputs(lake.paths, day_input_keys(lake.venue, symbol, day))
    except QualityGateError as exc:
        raise dg.Failure(description=f"{MODEL} {symbol} {day}: {exc}") from exc
    fit = fit_queue_from_orders(lake.day("orders", symbol, day), lake.venue, symbol, day)
    (context.log.info if fit.ok else context.log.warning)(f"{MODEL} {symbol} {day}: "
                                                          f"{fit.error or 'fitted'}")
    r = fit.result
    headline = {} if r is None else {
        "power n": r.power_n, "power n stderr (clustered)": r.power_n_stderr,
        "preferred model": r.preferred, "cancels used": r.n_cancels_used,
        "share of cancels ahead": r.frac_ahead_observed,
    }
    yield dg.Output(fit, metadata=fit_metadata(fit, headline))
    yield _check(fit)
