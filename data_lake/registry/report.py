"""The calibration report of one param set: one self-contained HTML page beside its document.

``params/<symbol>/<version>.report.html`` holds, for a person deciding whether to trust
the set: the publish decision and its reason, the quoting block with units, every
model's estimates with their 95 % intervals and units, the plots (PNG, inline), the
quality checks of every partition read, the out-of-sample validation (candidate beside
the published set) and the backtest. Written by the ``published_params`` asset from the
plots its fits saved; ``trader params report VERSION`` prints its path.

Plain I/O and string formatting: no Dagster, so the trader's CLI can import it.
Units follow docs/architecture.md §4.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from data_lake.registry.document import QUOTING_UNITS, ParamSet
from data_lake.registry.files import replace_atomically

__all__ = [
    "REPORT_SUFFIX",
    "estimate_rows",
    "render_report",
    "report_path",
    "unit_of",
    "write_report",
]

REPORT_SUFFIX = ".report.html"
_Z95 = 1.959963984540054

# Unit suffixes of field names (docs/architecture.md §4), longest first.
_SUFFIX_UNITS: tuple[tuple[str, str], ...] = (
    ("_bps_per_sqrt_s", "bps/sqrt(s)"),
    ("_per_sqrt_s", "1/sqrt(s)"),
    ("_per_bps", "1/bps"),
    ("_per_year", "1/yr"),
    ("_per_hour", "1/h"),
    ("_per_s", "1/s"),
    ("_bps2", "bps^2"),
    ("_bps", "bps"),
    ("_ns", "ns UTC"),
    ("_s", "s"),
    ("_h", "h"),
)
# Fields whose names carry no suffix: their units by model (annualised Heston and OU).
_MODEL_UNITS: Mapping[str, Mapping[str, str]] = {
    "heston": {
        "kappa": "1/yr",
        "theta": "annualised variance",
        "xi": "1/sqrt(yr)",
        "rho": "dimensionless",
        "feller_ratio": "dimensionless",
    },
    "funding": {
        "kappa": "1/yr",
        "theta": "fraction/interval",
        "sigma": "fraction/sqrt(yr)",
        "stationary_std": "fraction/interval",
        "theta_annualised": "fraction/yr",
    },
    "hawkes": {"branching_ratio": "dimensionless"},
    "adverse_selection": {"informed_share": "fraction"},
    "vpin": {"latest": "fraction", "latest_percentile": "fraction"},
}


def report_path(document_path: Path) -> Path:
    """``<version>.report.html`` beside ``<version>.json``."""
    return document_path.with_name(document_path.name.removesuffix(".json") + REPORT_SUFFIX)


def unit_of(model: str, field: str) -> str:
    """The unit of ``models.<model>.<field>`` from its suffix or the model's table."""
    if field in QUOTING_UNITS:
        return QUOTING_UNITS[field]
    known = _MODEL_UNITS.get(model, {})
    if field in known:
        return known[field]
    for suffix, unit in _SUFFIX_UNITS:
        if field.endswith(suffix):
            return unit
    if field.startswith("n_"):
        return "count"
    return ""


def _stderr_of(field: str, estimates: Mapping[str, Any]) -> float | None:
    """The standard error of ``field``: ``<stem>_stderr<suffix>``, ``<field>_stderr`` or
    ``stderr[field]`` (docs/architecture.md §4)."""
    candidates = [f"{field}_stderr"]
    for suffix, _ in _SUFFIX_UNITS:
        if field.endswith(suffix):
            candidates.insert(0, f"{field.removesuffix(suffix)}_stderr{suffix}")
            break
    for key in candidates:
        value = estimates.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    table = estimates.get("stderr")
    if isinstance(table, Mapping):
        value = table.get(field)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


def estimate_rows(model: str, estimates: Mapping[str, Any]) -> list[tuple[str, str, str, str]]:
    """(field, value, 95 % interval, unit) for each scalar estimate of a model.

    Nested blocks one level deep (a fill-depth side) are listed as ``block.field``;
    standard errors appear as the interval of their parameter, not as rows.
    """
    rows: list[tuple[str, str, str, str]] = []

    def add(prefix: str, block: Mapping[str, Any]) -> None:
        for field, value in block.items():
            if "stderr" in field or field == "warnings":
                continue
            name = f"{prefix}{field}"
            if isinstance(value, Mapping) and not prefix:
                add(f"{field}.", value)
                continue
            if isinstance(value, (bool, str)):
                rows.append((name, html.escape(str(value)), "", ""))
                continue
            if not isinstance(value, (int, float)):
                continue
            se = _stderr_of(field, block)
            ci = block.get(f"{field}_ci")
            interval = ""
            if isinstance(ci, (list, tuple)) and len(ci) == 2 and None not in ci:
                interval = f"[{_num(ci[0])}, {_num(ci[1])}]"
            elif se is not None and math.isfinite(se):
                interval = f"[{_num(value - _Z95 * se)}, {_num(value + _Z95 * se)}]"
            rows.append((name, _num(value), interval, unit_of(model, field)))

    add("", estimates)
    return rows


def _num(value: float | int) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.4g}" if math.isfinite(value) else "n/a"


def _table(head: list[str], rows: list[list[str]], cls: str = "") -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def _quoting_rows(doc: ParamSet) -> list[list[str]]:
    rows = []
    for field, value in doc.quoting.model_dump(mode="json").items():
        if value is None or isinstance(value, (dict, list)):
            continue
        shown = (
            _num(value)
            if isinstance(value, (int, float)) and not isinstance(value, bool)
            else html.escape(str(value))
        )
        rows.append([field, shown, html.escape(QUOTING_UNITS.get(field, unit_of("", field)))])
    return rows


def _validation_html(doc: ParamSet) -> str:
    v = doc.validation
    if v is None:
        return "<p>No validation recorded.</p>"
    names = sorted(set(v.scores) | set(v.baseline))
    rows = []
    for name in names:
        cand, base = v.scores.get(name), v.baseline.get(name)
        diff = "" if cand is None or base is None else f"{cand - base:+.4g}"
        mark = " (primary)" if name == v.primary else ""
        rows.append(
            [
                html.escape(name + mark),
                "" if cand is None else _num(cand),
                "" if base is None else _num(base),
                diff,
            ]
        )
    head = [
        "score (higher is better)",
        "candidate",
        f"published {v.baseline_version or '(none)'}",
        "candidate - published",
    ]
    out = f"<p>Held-out day(s): {html.escape(', '.join(v.held_out) or 'none')}</p>"
    out += _table(head, rows, "scores")
    bt = v.backtest
    if bt is not None:
        runs = [("candidate", bt.candidate)]
        if bt.baseline is not None:
            runs.append((f"published {bt.baseline_version}", bt.baseline))
        brows = [
            [
                name,
                "n/a" if r.score is None else f"{r.score:.4f} ± {r.score_stderr or 0:.4f}",
                f"{r.attribution.get('total', 0.0):,.2f}",
                f"{r.fills:,}",
                f"{r.max_drawdown:,.2f}",
            ]
            for name, r in runs
        ]
        out += "<h3>Backtest on the held-out day</h3>"
        out += _table(
            [
                f"run ({bt.score_name})",
                "score ± s.e.",
                "P&L (quote ccy)",
                "fills",
                "max drawdown (quote ccy)",
            ],
            brows,
            "backtest",
        )
    return out


def _quality_html(doc: ParamSet) -> str:
    failed = [q for q in doc.quality if not q.passed]
    rows = [
        [
            html.escape(q.partition),
            html.escape(q.table or ""),
            html.escape(q.check),
            "PASS" if q.passed else ("FAIL (blocking)" if q.blocking else "WARN"),
            html.escape(q.detail or ""),
        ]
        for q in (*failed, *[q for q in doc.quality if q.passed])
    ]
    summary = (
        f"<p>{len(doc.quality)} checks on {len({q.partition for q in doc.quality})} "
        f"partitions; {len(failed)} not passed.</p>"
    )
    return summary + _table(["partition", "table", "check", "result", "detail"], rows, "quality")


def render_report(
    doc: ParamSet,
    decision: Mapping[str, Any] | None,
    plots: Mapping[str, Path],
    *,
    run_url: str | None = None,
) -> str:
    """The report page as one HTML string (plots inline as base64 PNG)."""
    title = f"{doc.symbol} {doc.version or 'candidate'} calibration report"
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;margin:2em;max-width:1100px}"
        "table{border-collapse:collapse;margin:0.5em 0}td,th{border:1px solid #ccc;"
        "padding:2px 6px;font-size:13px;text-align:left}.failed{color:#b00;font-weight:bold}"
        "img{max-width:100%;border:1px solid #eee}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    status = "(no decision recorded)"
    if decision:
        status = (
            f"{decision.get('status', '')} ({decision.get('code', '')}): "
            f"{decision.get('reason') or 'passed every rule'}"
        )
    run = html.escape(doc.dagster_run_id or "not recorded")
    if run_url and doc.dagster_run_id:
        run = f"<a href='{html.escape(run_url)}'>{run}</a>"
    parts.append(
        _table(
            ["", ""],
            [
                ["decision", html.escape(status)],
                ["venue / symbol", html.escape(f"{doc.venue} / {doc.symbol}")],
                ["partitions fitted", html.escape(", ".join(doc.partitions))],
                ["code version", html.escape(doc.code_version)],
                ["Dagster run", run],
                ["created", html.escape(doc.created_at.isoformat())],
            ],
            "head",
        )
    )
    parts.append("<h2>Quoting block</h2>")
    parts.append(_table(["field", "value", "unit"], _quoting_rows(doc), "quoting"))
    if doc.fallbacks:
        parts.append("<h3>Fallbacks</h3>")
        parts.append(
            _table(
                ["field", "value", "source", "reason"],
                [
                    [
                        html.escape(f.field),
                        _num(f.value)
                        if isinstance(f.value, (int, float))
                        else html.escape(str(f.value)),
                        html.escape(str(f.source)),
                        html.escape(f.reason),
                    ]
                    for f in doc.fallbacks
                ],
                "fallbacks",
            )
        )
    parts.append("<h2>Models</h2>")
    for model in sorted(doc.models):
        estimates = doc.estimates(model)
        parts.append(f"<h3 id='model-{html.escape(model)}'>{html.escape(model)}</h3>")
        if estimates.get("error"):
            parts.append(f"<p class='failed'>FAILED: {html.escape(str(estimates['error']))}</p>")
        rows = estimate_rows(model, estimates)
        if rows:
            parts.append(
                _table(
                    ["estimate", "value", "95 % interval", "unit"],
                    [list(r) for r in rows],
                    "estimates",
                )
            )
        png = plots.get(model)
        if png is not None and png.exists():
            data = base64.b64encode(png.read_bytes()).decode("ascii")
            parts.append(
                f"<img alt='{html.escape(model)} plot' src='data:image/png;base64,{data}'>"
            )
    for name, png in sorted(plots.items()):
        if name not in doc.models and png.exists():  # plots of other assets (backtest)
            data = base64.b64encode(png.read_bytes()).decode("ascii")
            parts.append(
                f"<h3>{html.escape(name)}</h3><img alt='{html.escape(name)} plot' "
                f"src='data:image/png;base64,{data}'>"
            )
    parts.append("<h2>Validation (out of sample)</h2>")
    parts.append(_validation_html(doc))
    parts.append("<h2>Quality checks of every partition read</h2>")
    parts.append(_quality_html(doc))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(
    document_path: Path,
    doc: ParamSet,
    decision: Mapping[str, Any] | None,
    plots: Mapping[str, Path],
    *,
    run_url: str | None = None,
) -> Path:
    """Write the report beside ``document_path`` atomically (a rerun replaces it whole)."""
    path = report_path(document_path)
    replace_atomically(path, render_report(doc, decision, plots, run_url=run_url).encode())
    return path
