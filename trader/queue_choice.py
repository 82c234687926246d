"""Which queue model a backtest runs: the user's, else the param set's fit, else risk-averse.

The param set carries a queue model only when the symbol's own per-order (L3) events were
fitted (``QuotingParams.queue_model`` / ``queue_power_n``, calibration/queue_cancel.py);
without one the simulator queues risk-averse: only trades advance our order, the fewest
fills, the conservative choice. The source string says which rule decided, for the
backtest's report.
"""

from __future__ import annotations

import dataclasses

from data_lake.registry import ParamSet
from trader.settings import TraderSettings

__all__ = ["QUEUE_CHOICES", "choose_queue"]

QUEUE_CHOICES = ("risk_averse", "prob_power", "prob_log")
"""The models a user may choose (``TraderSettings.queue_model``)."""


def choose_queue(
    settings: TraderSettings,
    param_set: ParamSet,
    chosen: str | None = None,
    power_n: float | None = None,
) -> tuple[TraderSettings, str]:
    """``settings`` with the queue model to backtest with, and where it came from.

    Parameters
    ----------
    settings : TraderSettings
        The instrument's settings; their queue model is replaced.
    param_set : ParamSet
        Its ``quoting.queue_model`` is used when ``chosen`` is None.
    chosen : str, optional
        A model the user named (one of :data:`QUEUE_CHOICES`): it wins.
    power_n : float, optional
        The user's exponent for ``"prob_power"`` (default: the set's fitted n, else the
        settings' ``queue_param``).

    Raises
    ------
    ValueError
        An unknown model, or a power exponent that is not > 0.
    """
    fitted = param_set.quoting.queue_model
    fitted_n = param_set.quoting.queue_power_n
    where = f"param set {param_set.version or '(file)'}"
    if chosen is not None:
        if chosen not in QUEUE_CHOICES:
            raise ValueError(f"queue model {chosen!r} is not one of {', '.join(QUEUE_CHOICES)}")
        n = power_n if power_n is not None else fitted_n or settings.queue_param
        source = "chosen by the user"
        if chosen == "prob_power" and power_n is None and fitted_n is not None:
            source += f" (n fitted in {where})"
        return dataclasses.replace(settings, queue_model=chosen, queue_param=n), source
    if fitted is not None:
        n = fitted_n if fitted_n is not None else settings.queue_param
        return (
            dataclasses.replace(settings, queue_model=fitted, queue_param=n),
            f"fitted from L3 events in {where}",
        )
    return (
        dataclasses.replace(settings, queue_model="risk_averse"),
        f"risk-averse: {where} has no fitted queue model (no per-order events for "
        f"{param_set.venue}/{param_set.symbol}); only trades advance our orders",
    )
