"""Pure numerics: arrays in, frozen result objects out. No I/O, no Dagster, no lake."""

from calibration.errors import CalibrationError, ConvergenceWarning, IdentifiabilityWarning

__all__ = ["CalibrationError", "ConvergenceWarning", "IdentifiabilityWarning"]
