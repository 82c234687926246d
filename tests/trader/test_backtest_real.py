"""Backtests on the real samples (../shared/data/real, imported by the ``real_lake`` fixture).

- End to end on Binance BTCUSDT: a param set fitted on the sample with the pipeline's
  fitters (tests/trader/real_fit.py), ``trader backtest --params PATH``, the attribution
  parts summing to the total within 1e-9.
- Robustness on every 60 s window (sliding by 30 s) of every sample the lake imports
  (Binance BTCUSDT and ETHUSDT, Hyperliquid BTC, LOBSTER GOOG), quoting three sets: one
  fitted on the whole sample, one fitted on its quietest stretch (where most fits fail
  and the pipeline's fallbacks fill in) and the worst set the schema admits (kappa at
  its floor, A near zero, sigma and add-ons at their bounds, every optional fit failed).
  Every requote's depths are finite and within the strategy's [min, max] half-spread,
  every quoted price finite, positive and uncrossed, and the equity finite throughout.

For comparison, hftbacktest's GLFT tutorial fits A and k each minute by a log-linear
regression of trade intensity on depth over a rolling window and quotes
``half_spread = 1/gamma ln(1 + gamma/k) + ...``: on quiet stretches of the same Binance
data k goes to zero or below, the log of a non-positive number makes the half-spread
NaN (or the quotes absurdly deep), and the equity turns NaN. Here a fit that fails or
goes quiet cannot reach the quoter as k <= 0 or NaN: the document's bounds refuse it
(kappa >= 1e-3), ``from_quoting`` replaces unusable fields by conservative values, and
the kernel clamps each side to [min, max] half-spread.
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from numba import njit
from typer.testing import CliRunner

from calibration.errors import CalibrationError
from data_lake.lake import Lake
from data_lake.registry import ParamSet
from tests.trader.real_fit import fit_param_set
from trader.backtesting import backtest_param_set, quoting_of
from trader.cli import app
from trader.market_state import OUT_ASK_PX, OUT_ASK_SZ, OUT_BID_PX, OUT_BID_SZ
from trader.settings import default_settings
from trader.sim import events_from_tables, run_backtest
from trader.strategy import PARAMS_LEN, from_quoting, glft_quote, quote_depths

S = 1_000_000_000
WINDOW_NS = 60 * S
STEP_NS = 30 * S
QUIET_NS = 30 * S
SAMPLES = (("binance", "BTCUSDT"), ("binance", "ETHUSDT"), ("hyperliquid", "BTC"),
           ("lobster", "GOOG"))
_TABLES = ("trades", "book", "bbo", "funding")

# Recording strategy: glft_quote, then one row per requote appended after the params.
_LOG = PARAMS_LEN  # params[_LOG]: rows written
_ROW = 7  # bid depth, ask depth (bps from the centre), bid px, bid size, ask px, ask size, centre


@njit(cache=True)
def recording_glft(state: np.ndarray, params: np.ndarray, out: np.ndarray) -> None:
    glft_quote(state, params, out)
    centre, _, bid_depth, ask_depth = quote_depths(state, params)
    k = int(params[_LOG])
    base = _LOG + 1 + k * _ROW
    if base + _ROW <= params.shape[0]:
        params[base] = bid_depth
        params[base + 1] = ask_depth
        params[base + 2] = out[OUT_BID_PX]
        params[base + 3] = out[OUT_BID_SZ]
        params[base + 4] = out[OUT_ASK_PX]
        params[base + 5] = out[OUT_ASK_SZ]
        params[base + 6] = centre
    params[_LOG] = k + 1


def _span(lake: Lake, venue: str, symbol: str) -> tuple[int, int]:
    """First quote to one past the last event of a sample."""
    firsts, lasts = [], []
    for table in ("trades", "bbo", "book"):
        ts = lake.read(table, venue=venue, symbol=symbol, columns=["ts"]).column("ts")
        if len(ts):
            lasts.append(pc.max(ts).as_py())
            if table != "trades":
                firsts.append(pc.min(ts).as_py())
    return min(firsts), max(lasts) + 1


def _quietest(lake: Lake, venue: str, symbol: str, span: tuple[int, int]) -> tuple[int, int]:
    """The ``QUIET_NS`` stretch with the fewest trades (the whole span if shorter)."""
    if span[1] - span[0] <= QUIET_NS:
        return span
    ts = lake.read("trades", venue=venue, symbol=symbol, columns=["ts"]).column("ts").to_numpy()
    starts = np.arange(span[0], span[1] - QUIET_NS, QUIET_NS // 2)
    counts = np.searchsorted(ts, starts + QUIET_NS) - np.searchsorted(ts, starts)
    start = int(starts[int(np.argmin(counts))])
    return start, start + QUIET_NS


def _worst_legal(doc: ParamSet) -> ParamSet:
    """The most hostile set the schema admits, every optional fit failed (schema 2 None)."""
    quoting = doc.quoting.model_dump(mode="json")
    quoting.update(
        kappa_bid_per_bps=1e-3, kappa_ask_per_bps=1e-3, A_bid_per_s=1e-9, A_ask_per_s=1e-9,
        sigma_bps_per_sqrt_s=50.0, sigma_bid_bps_per_sqrt_s=50.0, sigma_ask_bps_per_sqrt_s=50.0,
        as_addon_bps=500.0, as_addon_curve_depth_bps=None, as_addon_curve_bps=None,
        hawkes_branching_ratio=0.999, hawkes_mu_per_s=None, hawkes_branching_matrix=None,
        student_t_df=None, microprice_coef_bps=None, microprice_fallback_to_mid=True,
        funding_rate_per_hour=0.04,
    )
    raw = doc.model_dump(mode="json")
    raw.update(quoting=quoting, schema_version=2)
    return ParamSet.model_validate(raw)


def _param_sets(lake: Lake, venue: str, symbol: str) -> dict[str, ParamSet]:
    span = _span(lake, venue, symbol)
    whole = fit_param_set(lake, venue, symbol, *span, code_version="test")
    sets = {"whole sample": whole, "worst legal": _worst_legal(whole)}
    quiet = _quietest(lake, venue, symbol, span)
    # Volatility or fill depth not fitted at all there: the pipeline makes no candidate
    # (nothing to quote), which "worst legal" stands in for.
    with contextlib.suppress(CalibrationError):
        sets["quiet stretch"] = fit_param_set(lake, venue, symbol, *quiet, code_version="test")
    return sets


def _window_tables(tables: dict[str, pa.Table], start: int, end: int) -> dict[str, pa.Table]:
    out = {}
    for name, table in tables.items():
        ts = table.column("ts")
        mask = pc.and_(pc.greater_equal(ts, start), pc.less(ts, end))
        out[name] = table.filter(mask)
    return out


def _check_window(params: np.ndarray, settings: Any, events: Any, where: str) -> int:
    n_rows = len(events) + int(WINDOW_NS // settings.requote_interval_ns) + 16
    packed = np.concatenate((params, [0.0], np.full(n_rows * _ROW, np.nan)))
    res = run_backtest(events, recording_glft, packed, settings.backtest_config())
    count = int(packed[_LOG])
    assert count <= n_rows, f"{where}: the quote log overflowed"
    log = packed[_LOG + 1 : _LOG + 1 + count * _ROW].reshape(count, _ROW)
    lo, hi = settings.min_half_spread_bps, settings.max_half_spread_bps
    depths = log[:, :2]
    assert np.all(np.isfinite(depths)), f"{where}: a non-finite depth"
    assert np.all((depths >= lo - 1e-9) & (depths <= hi + 1e-9)), (
        f"{where}: depths {depths.min():.4g}..{depths.max():.4g} bps outside [{lo}, {hi}]"
    )
    for px_col, sz_col in ((2, 3), (4, 5)):
        quoted = log[:, sz_col] > 0
        px = log[quoted, px_col]
        assert np.all(np.isfinite(px) & (px > 0)), f"{where}: a quoted price not finite/positive"
    both = (log[:, 3] > 0) & (log[:, 5] > 0)
    assert np.all(log[both, 2] < log[both, 4]), f"{where}: crossed quotes"
    # Prices are the depths from the centre rounded away from it: at most a tick further.
    tick_bps = settings.tick_size / log[:, 6] * 1e4
    bid_q, ask_q = log[:, 3] > 0, log[:, 5] > 0
    bid_dist = (log[bid_q, 6] - log[bid_q, 2]) / log[bid_q, 6] * 1e4
    ask_dist = (log[ask_q, 4] - log[ask_q, 6]) / log[ask_q, 6] * 1e4
    assert np.all(bid_dist <= hi + tick_bps[bid_q] + 1e-6), f"{where}: bid beyond the max clamp"
    assert np.all(ask_dist <= hi + tick_bps[ask_q] + 1e-6), f"{where}: ask beyond the max clamp"
    assert np.all(bid_dist >= lo - 1e-6) and np.all(ask_dist >= lo - 1e-6), where
    assert np.all(np.isfinite(res.equity)), f"{where}: equity not finite"
    att = res.attribution
    assert abs(att.parts_sum - att.total) <= 1e-9 * max(1.0, abs(att.total)), where
    return count


@pytest.mark.parametrize(("venue", "symbol"), SAMPLES)
def test_quotes_stay_finite_and_bounded_on_every_window(
    real_lake: Lake, venue: str, symbol: str
) -> None:
    settings = default_settings(venue, symbol)
    sets = _param_sets(real_lake, venue, symbol)
    start, end = _span(real_lake, venue, symbol)
    tables = {t: real_lake.read(t, venue=venue, symbol=symbol) for t in _TABLES}
    starts = list(range(start, max(start + 1, end - WINDOW_NS + STEP_NS), STEP_NS))
    requotes = 0
    for name, doc in sets.items():
        params = from_quoting(quoting_of(doc), **settings.strategy_kwargs()).to_array()
        for w0 in starts:
            part = _window_tables(tables, w0, min(w0 + WINDOW_NS, end))
            events = events_from_tables(part["trades"], part["book"], part["bbo"],
                                        part["funding"])
            if len(events) == 0:
                continue
            requotes += _check_window(params, settings, events, f"{venue}/{symbol} {name} @{w0}")
    assert requotes > len(starts) * len(sets)  # every window requoted


def test_binance_btcusdt_backtest_end_to_end(real_lake: Lake, tmp_path: Path) -> None:
    venue, symbol = "binance", "BTCUSDT"
    start, end = _span(real_lake, venue, symbol)
    doc = fit_param_set(real_lake, venue, symbol, start, end, code_version="test")
    path = tmp_path / "btcusdt.json"
    path.write_bytes(doc.model_dump_json().encode())
    png = tmp_path / "equity.png"
    result = CliRunner().invoke(app, [
        "--home", str(real_lake.paths.home), "backtest", "--params", str(path),
        "--symbol", symbol, "--start", str(start), "--end", str(end), "--json",
        "--png", str(png),
    ])
    assert result.exit_code == 0, result.stdout + result.stderr
    report = orjson.loads(result.stdout)
    parts = report["attribution"]
    parts_sum = math.fsum(parts[k] for k in ("spread_capture", "adverse_selection",
                                             "inventory_carry", "funding", "fees"))
    assert abs(parts_sum - parts["total"]) <= 1e-9
    assert report["fills"] > 0 and report["events"] > 90_000
    assert parts["fees"] < 0  # Binance charges makers
    assert png.is_file()
    rows = real_lake.sql(f"select fills, total from backtests where run_id = '{report['run_id']}'")
    assert rows["fills"].iloc[0] == report["fills"]
    # The library call gives the same figures as the command.
    events_report = backtest_param_set(
        doc, _load(real_lake, venue, symbol, start, end), default_settings(venue, symbol)
    )
    assert events_report.result.n_fills == report["fills"]
    assert events_report.total_pnl == pytest.approx(parts["total"], abs=1e-9)


def _load(lake: Lake, venue: str, symbol: str, start: int, end: int) -> Any:
    from trader.sim import load_events

    return load_events(lake, venue, symbol, start, end)
