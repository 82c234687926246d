"""The typed seam: each model's fit checked against its result type where Dagster hands it over."""

import numpy as np
import pytest

from assets.model_fits import ModelFit, typed_fit
from calibration.clock.volume_clock import VolumeProfile, volume_profile
from calibration.clock.vpin import VPINResult
from calibration.funding import FundingOUFit

HOUR_NS = 3_600 * 10**9


def _profile() -> VolumeProfile:
    ts = np.array([10**9, 2 * 10**9, HOUR_NS + 10**9], dtype=np.int64)
    return volume_profile(ts, np.array([1.0, 2.0, 0.5]), start_ns=0, end_ns=2 * HOUR_NS)


def test_a_fit_holding_its_declared_result_type_passes_through() -> None:
    profile = _profile()
    fit = typed_fit({"volume_profile": ModelFit("volume_profile", profile)}, "volume_profile",
                    VolumeProfile)
    assert fit.result is profile and fit.ok


def test_a_result_of_the_wrong_type_is_refused_with_both_names() -> None:
    fits = {"vpin": ModelFit("vpin", _profile())}
    with pytest.raises(TypeError, match="vpin fit holds a VolumeProfile, expected VPINResult"):
        typed_fit(fits, "vpin", VPINResult)


def test_a_failed_fit_keeps_its_reason_and_a_missing_one_is_named() -> None:
    failed = ModelFit("vpin", None, "only 3 full volume buckets", ("a warning",))
    assert typed_fit({"vpin": failed}, "vpin", VPINResult) == failed
    with pytest.raises(KeyError, match="no funding fit"):
        typed_fit({"vpin": failed}, "funding", FundingOUFit)
