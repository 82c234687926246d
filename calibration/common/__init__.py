"""Shared helpers of the calibrations: input checks, as-of joins, HAC (Newey-West) means."""
