"""Pure numerics: arrays in, frozen result objects out. No I/O, no Dagster, no lake.

Every result object follows one convention, in its fields and in its ``to_dict()``:

- the standard error of a parameter ``p`` is ``p_stderr``, with the unit suffix after it
  when the value has one (``sigma_bps`` -> ``sigma_stderr_bps``, ``kappa_per_bps`` ->
  ``kappa_stderr_per_bps``); where the parameters are a set keyed by name (a fill-depth
  law's ``params``, the Hawkes arrays) the errors are a ``stderr`` dict with the same keys;
- a value that could not be estimated is None, never NaN, inf or a placeholder 0. Numeric
  arrays (Hawkes errors and diagnostics) cannot hold None: their missing elements are NaN
  on the object and None in ``to_dict()``.
"""

from calibration.errors import CalibrationError, ConvergenceWarning, IdentifiabilityWarning

__all__ = ["CalibrationError", "ConvergenceWarning", "IdentifiabilityWarning"]
