"""Errors and warnings every calibration raises (docs/architecture.md §4)."""

from __future__ import annotations

__all__ = ["CalibrationError", "ConvergenceWarning", "IdentifiabilityWarning"]


class CalibrationError(ValueError):
    """The data cannot be fitted; the message says why and what would fix it."""


class ConvergenceWarning(RuntimeWarning):
    """An optimiser stopped without converging; the estimate may be unreliable."""


class IdentifiabilityWarning(RuntimeWarning):
    """A parameter is not identified by this sample (e.g. a half-life near the window)."""
