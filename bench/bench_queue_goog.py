"""The queue cancellation fit on the real LOBSTER GOOG day, and what it does to a backtest.

Imports the LOBSTER GOOG 2012-06-21 sample (``../shared/data/real``) into a temporary
lake, fits the queue models on its ``orders`` rows (``assets.queue_fit``: power n with
its clustered error, the log model, the AIC choice), then backtests a param set fitted on
the same hour (in sample: the sample is one hour) under the fitted queue model, the
risk-averse queue and the log model, on the same events, and prints fills and P&L.

Run: ``.venv/bin/python bench/bench_queue_goog.py``
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

from assets.queue_fit import fit_queue_from_orders
from data_lake.lake import Lake
from data_lake.registry import ParamSet
from data_lake.sources.lobster import import_lobster
from tests.trader.real_fit import fit_param_set
from trader.backtesting import backtest_param_set
from trader.queue_choice import choose_queue
from trader.settings import default_settings
from trader.sim import load_events

SAMPLE = (Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
          / "lobster_goog_20120621" / "LOBSTER_SampleFile_GOOG_2012-06-21_10.zip")


def main() -> int:
    if not SAMPLE.is_file():
        print(f"LOBSTER GOOG sample not found at {SAMPLE}")
        return 1
    lake = Lake.at(Path(tempfile.mkdtemp(prefix="bench_queue_")))
    import_lobster(lake, [SAMPLE])
    t0 = time.perf_counter()
    orders = lake.read("orders", venue="lobster", symbol="GOOG")
    fit = fit_queue_from_orders(orders, "lobster", "GOOG", dt.date(2012, 6, 21))
    r = fit.result
    if r is None:
        print(f"no fit: {fit.error}")
        return 1
    print(f"queue fit on {orders.num_rows:,} order events in {time.perf_counter() - t0:.2f} s")
    print(f"  power n = {r.power_n:.4f} +- {r.power_n_stderr:.4f} (clustered by cancel; "
          f"naive {r.power_n_stderr_naive:.4f})")
    print(f"  log-lik power {r.loglik_power:.1f}, log {r.loglik_log:.1f}; AIC {r.aic_power:.1f}"
          f" vs {r.aic_log:.1f} -> {r.preferred}")
    print(f"  cancels {r.n_cancels:,}: used {r.n_cancels_used:,}, unknown queue "
          f"{r.n_cancels_unknown_queue:,}, alone at the level {r.n_cancels_alone:,}; pairs "
          f"{r.n_pairs:,} ({r.n_pairs_informative:,} informative)")
    print(f"  share of cancels ahead: observed {r.frac_ahead_observed:.3f}, n=1 (uniform) "
          f"{r.frac_ahead_uniform:.3f}, power {r.frac_ahead_power:.3f}, log "
          f"{r.frac_ahead_log:.3f}; cancelled size ahead {r.cancelled_size_ahead_share:.3f}")
    for k, count in enumerate(r.position_pairs):
        lo, hi = r.position_edges[k], r.position_edges[k + 1]
        print(f"  position {lo:.1f}-{hi:.1f}: {count:5d} pairs, ahead observed "
              f"{r.position_observed[k]:.3f}, power {r.position_power[k]:.3f}, "
              f"log {r.position_log[k]:.3f}")
    trades = lake.frame("trades", venue="lobster", symbol="GOOG")
    start, end = int(trades["ts"].min()), int(trades["ts"].max()) + 1
    raw = fit_param_set(lake, "lobster", "GOOG", start, end, "bench").model_dump(mode="json")
    raw["quoting"].update(queue_model=r.preferred, queue_power_n=r.power_n)
    doc = ParamSet.model_validate(raw)
    events = load_events(lake, "lobster", "GOOG", start, end)
    base = default_settings("lobster", "GOOG")
    print(f"backtest, {len(events):,} events (in sample):")
    for chosen in (None, "risk_averse", "prob_log"):
        settings, source = choose_queue(base, doc, chosen)
        res = backtest_param_set(doc, events, settings, queue_source=source).result
        att = res.attribution
        print(f"  {settings.queue_model:12s} fills {res.n_fills:4d}, filled {res.filled_qty:7.0f}"
              f" shares, P&L {att.total:9.2f} USD (spread {att.spread_capture:.2f}, adverse "
              f"{att.adverse_selection:.2f}) [{source}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
