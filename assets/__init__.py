"""Dagster assets and checks: thin wrappers over data_lake/ and calibration/."""

from types import ModuleType

from assets import (
    backtest_gate,
    calibration_assets,
    checks,
    derived_assets,
    held_out,
    ingest,
    param_assets,
    queue_fit,
)

ASSET_MODULES: list[ModuleType] = [
    ingest,
    checks,
    derived_assets,
    calibration_assets,
    queue_fit,
    held_out,
    param_assets,
    backtest_gate,
]

__all__ = ["ASSET_MODULES"]
