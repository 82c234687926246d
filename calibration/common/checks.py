"""Input checks done once at the boundary of every fit.

Each raises :class:`~calibration.errors.CalibrationError` naming the array and the first
offending index, so a caller can find the bad row in its source.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from calibration.errors import CalibrationError
from calibration.types import Float64Array, Int64Array

__all__ = ["finite_positive", "sorted_ns", "sorted_times_s"]


def _first_descent(arr: np.ndarray) -> int | None:
    """Index of the first element smaller than its predecessor, or None."""
    bad = np.flatnonzero(np.diff(arr) < 0)
    return int(bad[0]) + 1 if bad.size else None


def sorted_ns(name: str, ts_ns: Any, *, allow_empty: bool = False) -> Int64Array:
    """A 1-D int64 array of nanosecond timestamps, sorted non-decreasing.

    Raises
    ------
    CalibrationError
        Not 1-D, empty (unless ``allow_empty``), not integer, or unsorted.
    """
    arr = np.asarray(ts_ns)
    if arr.ndim != 1:
        raise CalibrationError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.size == 0:
        if allow_empty:
            return np.zeros(0, dtype=np.int64)
        raise CalibrationError(f"{name} is empty")
    if not np.issubdtype(arr.dtype, np.integer):
        raise CalibrationError(
            f"{name} must be integer nanoseconds (integer ns), got dtype {arr.dtype}"
        )
    arr = arr.astype(np.int64, copy=False)
    k = _first_descent(arr)
    if k is not None:
        raise CalibrationError(f"{name} must be sorted; first violation at index {k}")
    return arr


def sorted_times_s(name: str, times_s: npt.ArrayLike) -> Float64Array:
    """A 1-D float64 array of event times in seconds: finite and sorted non-decreasing."""
    t = np.asarray(times_s, dtype=np.float64)
    if t.ndim != 1:
        raise CalibrationError(f"{name} must be 1-D, got shape {t.shape}")
    bad = np.flatnonzero(~np.isfinite(t))
    if bad.size:
        raise CalibrationError(
            f"{name} must be finite; first non-finite value at index {int(bad[0])}"
        )
    k = _first_descent(t)
    if k is not None:
        raise CalibrationError(
            f"{name} must be sorted; first violation at index {k} ({t[k]!r} < {t[k - 1]!r})"
        )
    return t


def finite_positive(name: str, values: npt.ArrayLike) -> Float64Array:
    """A float64 array whose every value is finite and strictly positive."""
    arr = np.asarray(values, dtype=np.float64)
    bad = np.flatnonzero(~(np.isfinite(arr) & (arr > 0.0)))
    if bad.size:
        raise CalibrationError(
            f"{name} must be finite and > 0 (positive); first violation at index "
            f"{int(bad[0])}: {float(arr.flat[bad[0]])!r}"
        )
    return arr
