"""The queue cancellation fit on the real LOBSTER GOOG day (skips without the sample)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from calibration.queue_cancel import POWER_N_BOUNDS, fit_queue_cancel
from calibration.queue_replay import EVENT_ADD, EVENT_CANCEL, EVENT_DELETE, EVENT_EXECUTE
from data_lake.lake import Lake
from data_lake.sources.lobster import import_lobster

GOOG_ZIP = "lobster_goog_20120621/LOBSTER_SampleFile_GOOG_2012-06-21_10.zip"
CODES = {"add": EVENT_ADD, "cancel": EVENT_CANCEL, "delete": EVENT_DELETE,
         "execute": EVENT_EXECUTE}


def test_goog_day_fits_n_with_a_clustered_error_and_compares_the_log_model(
    real_data_dir: Path, tmp_path: Path
) -> None:
    path = real_data_dir / GOOG_ZIP
    if not path.is_file():
        pytest.skip(f"LOBSTER GOOG sample not found at {path}")
    lake = Lake.at(tmp_path)
    import_lobster(lake, [path])
    o = lake.frame("orders", venue="lobster", symbol="GOOG")
    fit = fit_queue_cancel(
        o["ts"].to_numpy(np.int64), o["seq"].to_numpy(np.int64),
        o["order_id"].to_numpy(np.int64), o["event"].map(CODES).to_numpy(np.int64),
        o["side"].to_numpy(np.int64), o["price"].to_numpy(float), o["size"].to_numpy(float),
        o["level_size"].to_numpy(float),
    )
    print(  # the figures of the closing note (pytest -s)
        f"GOOG 2012-06-21: n = {fit.power_n:.4f} +- {fit.power_n_stderr:.4f} (clustered; "
        f"naive {fit.power_n_stderr_naive:.4f}); loglik power {fit.loglik_power:.1f}, "
        f"log {fit.loglik_log:.1f}; AIC {fit.aic_power:.1f} vs {fit.aic_log:.1f} -> "
        f"{fit.preferred}; cancels {fit.n_cancels} (used {fit.n_cancels_used}, unknown "
        f"queue {fit.n_cancels_unknown_queue}, alone {fit.n_cancels_alone}); pairs "
        f"{fit.n_pairs} ({fit.n_pairs_informative} informative); share ahead observed "
        f"{fit.frac_ahead_observed:.3f}, n=1 {fit.frac_ahead_uniform:.3f}, power "
        f"{fit.frac_ahead_power:.3f}, log {fit.frac_ahead_log:.3f}; cancelled size ahead "
        f"{fit.cancelled_size_ahead_share:.3f}; by position {fit.position_observed}"
    )
    assert fit.n_cancels == int(o["event"].isin(["cancel", "delete"]).sum())
    assert fit.n_cancels == (
        fit.n_cancels_used + fit.n_cancels_unknown_queue + fit.n_cancels_alone
    )
    assert fit.n_cancels_used > 1000
    assert POWER_N_BOUNDS[0] < fit.power_n < POWER_N_BOUNDS[1]
    assert 0 < fit.power_n_stderr < fit.power_n  # identified: n is not 0 within its error
    assert math.isclose(fit.aic_power, 2.0 - 2.0 * fit.loglik_power)
    assert fit.preferred == ("prob_power" if fit.aic_power <= fit.aic_log else "prob_log")
