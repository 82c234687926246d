"""The Grafana dashboard and the Prometheus alert rules name only exported metrics."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import yaml

from trader.live.metrics import METRIC_NAMES

OPS = Path(__file__).resolve().parents[3] / "ops"
_NAME = re.compile(r"\bmmcal_trader_[a-z_]+")
_SUFFIXES = ("_bucket", "_sum", "_count")


def _exported(name: str) -> bool:
    if name in METRIC_NAMES:
        return True
    return any(name.endswith(s) and name.removesuffix(s) in METRIC_NAMES for s in _SUFFIXES)


def _dashboard_exprs() -> list[str]:
    dashboard = orjson.loads((OPS / "grafana/trader_dashboard.json").read_bytes())
    return [t["expr"] for p in dashboard["panels"] for t in p["targets"]]


def _alert_exprs() -> list[str]:
    rules = yaml.safe_load((OPS / "prometheus/trader_alerts.yml").read_text())
    return [r["expr"] for g in rules["groups"] for r in g["rules"]]


def test_every_metric_the_dashboard_and_the_alerts_name_is_exported() -> None:
    exprs = _dashboard_exprs() + _alert_exprs()
    named = {m for e in exprs for m in _NAME.findall(e)}
    assert len(named) >= 10
    missing = sorted(m for m in named if not _exported(m))
    assert not missing, f"not exported by trader/live/metrics.py: {missing}"


def test_the_dashboard_shows_every_exported_metric() -> None:
    named = {m for e in _dashboard_exprs() for m in _NAME.findall(e)}
    shown = {n for n in METRIC_NAMES if n in named or any(n + s in named for s in _SUFFIXES)}
    assert shown == set(METRIC_NAMES), sorted(set(METRIC_NAMES) - shown)
