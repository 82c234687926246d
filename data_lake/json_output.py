"""One plain JSON document on stdout, for the ``--json`` option of the ``lake`` and ``trader``
commands (docs/architecture.md §2).

Scripts read it with any JSON parser: no rich markup, no line wrapping whatever the
terminal width, numbers as numbers (numpy and pandas scalars included; NaN and infinities
as ``null``, which JSON lacks), and every timestamp twice, as int64 ns since the epoch and
as ISO 8601 UTC with nanoseconds (:func:`ts_fields`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import typer

__all__ = ["dumps_json", "echo_json", "ns_iso", "ts_fields"]


def ns_iso(ts_ns: int | None) -> str | None:
    """``ts_ns`` (int64 ns since the epoch, UTC) as ``YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ``."""
    if ts_ns is None:
        return None
    seconds, nanos = divmod(int(ts_ns), 1_000_000_000)
    when = dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    return f"{when:%Y-%m-%dT%H:%M:%S}.{nanos:09d}Z"


def ts_fields(name: str, ts_ns: int | None) -> dict[str, Any]:
    """``{name + '_ns': ts_ns, name: ISO}`` (both None when ``ts_ns`` is None)."""
    return {f"{name}_ns": None if ts_ns is None else int(ts_ns), name: ns_iso(ts_ns)}


def _default(value: Any) -> Any:
    """What orjson does not serialise itself: pandas/numpy scalars, paths, decimals."""
    if hasattr(value, "value") and hasattr(value, "isoformat"):  # pandas.Timestamp
        return ns_iso(int(value.value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "item"):  # numpy scalar
        return _finite(value.item())
    if hasattr(value, "tolist"):  # numpy array
        return value.tolist()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _clean(value: Any) -> Any:
    """Non-finite floats (numpy float scalars included) as None, recursively."""
    if isinstance(value, float):
        return _finite(value)
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def dumps_json(document: Any) -> str:
    """``document`` as indented JSON text (see the module docstring for the conventions)."""
    raw = orjson.dumps(
        _clean(document),
        default=_default,
        option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS,
    )
    return raw.decode()


def echo_json(document: Any) -> None:
    """Print ``document`` on stdout as one JSON document and a newline (never wrapped)."""
    typer.echo(dumps_json(document))
