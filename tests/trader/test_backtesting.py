"""backtest_param_set, its score and overrides, and resolve_param_set."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import orjson
import pytest

from data_lake.paths import LakePaths
from data_lake.registry import ParamRegistry, ParamSet, UnknownVersionError
from tests.data_lake.test_params import make_document
from tests.trader.sim.test_venue import bbo, trades
from trader.backtesting import (
    SCORE_BUCKET_NS,
    ParamSetNotFoundError,
    backtest_param_set,
    quoting_of,
    resolve_param_set,
    risk_adjusted_score,
)
from trader.settings import default_settings
from trader.sim import events_from_tables

MIN_NS = SCORE_BUCKET_NS


def _equity_from_bucket_pnl(
    pnl: np.ndarray, samples_per_bucket: int = 6
) -> tuple[np.ndarray, np.ndarray]:
    """An equity curve sampled ``samples_per_bucket`` times per bucket (linear inside it),
    closing each bucket at the cumulative P&L; the last sample of a bucket is on its end."""
    n = pnl.size
    step = MIN_NS // samples_per_bucket
    ts = (np.arange(n * samples_per_bucket, dtype=np.int64) + 1) * step
    closes = np.cumsum(pnl)
    opens = np.concatenate(([0.0], closes[:-1]))
    frac = (np.arange(samples_per_bucket) + 1) / samples_per_bucket
    equity = (opens[:, None] + np.outer(closes - opens, frac)).ravel()
    return ts, equity


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_score_recovers_a_planted_information_ratio(seed: int) -> None:
    rng = np.random.default_rng(seed)
    mean, std = 0.3, 2.0
    pnl = rng.normal(mean, std, 1440)
    ts, equity = _equity_from_bucket_pnl(pnl)
    score, stderr, n = risk_adjusted_score(ts, equity)
    assert n == 1440
    assert score is not None and stderr is not None
    assert abs(score - mean / std) < 3.0 * stderr
    # Lo (2002): the iid standard error of a Sharpe ratio is sqrt((1 + S^2 / 2) / n).
    assert stderr == pytest.approx(math.sqrt((1 + 0.5 * score**2) / n), rel=0.25)


def test_score_stderr_grows_with_autocorrelated_pnl() -> None:
    rng = np.random.default_rng(11)
    eps = rng.normal(0.0, 1.0, 2000)
    ar = np.empty_like(eps)
    ar[0] = eps[0]
    for i in range(1, eps.size):
        ar[i] = 0.8 * ar[i - 1] + eps[i]
    _, se_iid, _ = risk_adjusted_score(*_equity_from_bucket_pnl(eps + 0.1))
    _, se_ar, _ = risk_adjusted_score(*_equity_from_bucket_pnl(ar + 0.1))
    assert se_iid is not None and se_ar is not None and se_ar > 1.5 * se_iid


def test_score_of_a_flat_curve_is_zero_and_of_one_bucket_is_none() -> None:
    ts = np.arange(1, 601, dtype=np.int64) * 1_000_000_000
    assert risk_adjusted_score(ts, np.zeros(600))[:2] == (0.0, 0.0)
    assert risk_adjusted_score(ts[:30], np.ones(30))[:2] == (None, None)


def _events(n: int = 4000, seed: int = 3):
    rng = np.random.default_rng(seed)
    mid = 100_000 + np.cumsum(rng.choice([-5.0, 0.0, 5.0], n))
    rows = [(i * 50, m - 0.05, 0.5, m + 0.05, 0.5) for i, m in enumerate(mid)]
    sides = rng.choice([-1, 1], n)
    trade_rows = [(i * 50 + 1, mid[i] + s * rng.uniform(0.0, 60.0), 0.02, int(s))
                  for i, s in enumerate(sides)]
    return events_from_tables(trades(trade_rows), None, bbo(rows), None)


@pytest.fixture(scope="module")
def doc() -> ParamSet:
    return ParamSet.model_validate(make_document("BTC", venue="synthetic"))


def test_report_carries_the_result_the_params_and_a_summary(doc: ParamSet) -> None:
    events = _events()
    report = backtest_param_set(doc, events, default_settings("synthetic", "BTC"))
    res = report.result
    assert res.n_fills > 0
    parts = res.attribution
    assert abs(parts.parts_sum - parts.total) <= 1e-9
    assert report.window_start_ns == int(events.ts_ns[0])
    assert report.window_end_ns == int(events.ts_ns[-1]) + 1
    assert report.strategy_params.gamma == 0.04 and report.param_version is None
    assert report.fallbacks == ()  # schema 1: every field usable or derived
    summary = orjson.loads(orjson.dumps(report.summary()))
    assert summary["fills"] == res.n_fills
    assert summary["attribution"]["total"] == parts.total


def test_a_failed_fit_reaches_the_report_as_a_fallback() -> None:
    raw = make_document("BTC", venue="synthetic", schema_version=2)
    raw["quoting"]["student_t_df"] = None  # schema 2: None is a fit that failed
    report = backtest_param_set(ParamSet.model_validate(raw), _events(200),
                                default_settings("synthetic", "BTC"))
    assert report.fallbacks == ("student_t_df: missing -> 2.0 (fattest tail)",)
    assert report.strategy_params.student_t_df == 2.0
    assert orjson.loads(orjson.dumps(report.summary()))["fallbacks"] == list(report.fallbacks)


def test_halving_kappa_widens_the_quotes_and_fills_less(doc: ParamSet) -> None:
    events = _events()
    settings = default_settings("synthetic", "BTC")
    base = backtest_param_set(doc, events, settings)
    halved = backtest_param_set(
        doc, events, settings,
        strategy_overrides={"kappa_bid_per_bps": lambda k: k / 2,
                            "kappa_ask_per_bps": lambda k: k / 2},
    )
    assert halved.overrides == {
        "kappa_bid_per_bps": base.strategy_params.kappa_bid_per_bps / 2,
        "kappa_ask_per_bps": base.strategy_params.kappa_ask_per_bps / 2,
    }
    assert halved.result.n_fills < base.result.n_fills


def test_overrides_are_checked(doc: ParamSet) -> None:
    settings, events = default_settings("synthetic", "BTC"), _events(50)
    with pytest.raises(ValueError, match="unknown strategy field"):
        backtest_param_set(doc, events, settings, strategy_overrides={"kapa": 1.0})
    with pytest.raises(ValueError, match="kappa_bid_per_bps must be > 0"):
        backtest_param_set(doc, events, settings, strategy_overrides={"kappa_bid_per_bps": 0.0})
    with pytest.raises(ValueError, match="settings are for ETH"):
        backtest_param_set(doc, events, default_settings("synthetic", "ETH"))


def test_progress_is_reported_while_the_replay_runs(doc: ParamSet) -> None:
    seen: list[tuple[int, int]] = []
    events = _events(3000)
    backtest_param_set(doc, events, default_settings("synthetic", "BTC"),
                       progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (len(events), len(events))
    done = [d for d, _ in seen]
    assert done == sorted(done)


def test_a_schema_1_set_quotes_the_same_from_the_registry_as_in_memory(tmp_path: Path) -> None:
    """The registry writes a schema 1 set's absent schema 2 fields as null; they must
    stay absent (derived from schema 1), not read as failed fits with fallbacks."""
    registry = ParamRegistry(LakePaths.at(tmp_path / "home"), refresh_catalog=False)
    raw = make_document("BTC")
    version = registry.submit(raw).version
    assert version is not None
    stored, fresh = registry.load("BTC", version), ParamSet.model_validate(raw)
    assert stored.quoting.sigma_bid_bps_per_sqrt_s is None
    assert quoting_of(stored) == quoting_of(fresh)
    assert "sigma_bid_bps_per_sqrt_s" not in quoting_of(stored)


def test_resolve_param_set_by_latest_version_and_path(tmp_path: Path) -> None:
    registry = ParamRegistry(LakePaths.at(tmp_path / "home"), refresh_catalog=False)
    decision = registry.submit(make_document("BTC"))
    assert decision.version is not None
    assert resolve_param_set("latest", "BTC", registry).version == decision.version
    assert resolve_param_set(decision.version, "BTC", registry).version == decision.version
    path = tmp_path / "set.json"
    path.write_bytes(orjson.dumps(make_document("BTC", seed=4)))
    assert resolve_param_set(str(path), "BTC", registry).version is None
    with pytest.raises(ParamSetNotFoundError, match="for BTC, not ETH"):
        resolve_param_set(str(path), "ETH", registry)
    with pytest.raises(ParamSetNotFoundError, match="no param set file"):
        resolve_param_set(str(tmp_path / "missing.json"), "BTC", registry)
    with pytest.raises(UnknownVersionError, match=decision.version):
        resolve_param_set("000009-deadbeef", "BTC", registry)
