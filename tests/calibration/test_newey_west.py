"""The O(n k^2) Bartlett long-run covariance against statsmodels' O(n k^2 L) reference, and
the HAC standard error of a mean recovered on a simulated AR(1) series."""

from __future__ import annotations

import math

import numpy as np
import pytest
from statsmodels.stats.sandwich_covariance import S_hac_simple

from calibration.common.newey_west import bartlett_long_run, hac_mean, hac_score_covariance


@pytest.mark.parametrize(
    ("n_obs", "k", "lags"),
    [(1, 1, 0), (2, 1, 1), (10, 3, 0), (10, 3, 9), (50, 2, 200), (5_000, 3, 40)],
)
def test_bartlett_long_run_equals_statsmodels(n_obs: int, k: int, lags: int) -> None:
    rng = np.random.default_rng(n_obs + k + lags)
    # A drifting, persistent series with a non-zero mean: the cumulative sum grows.
    x = rng.standard_normal((n_obs, k)).cumsum(axis=0) * 0.1 + rng.standard_normal((n_obs, k))
    x += 3.0
    reference = S_hac_simple(x, nlags=min(lags, max(n_obs - 1, 0)))
    ours = bartlett_long_run(x, min(lags, max(n_obs - 1, 0)))
    assert ours.shape == (k, k)
    np.testing.assert_allclose(ours, reference, rtol=1e-10, atol=1e-10 * np.abs(reference).max())
    np.testing.assert_allclose(hac_score_covariance(x, lags), reference, rtol=1e-10)


@pytest.mark.parametrize("lags", [5, 6, 17])
def test_bartlett_long_run_with_lags_beyond_the_sample(lags: int) -> None:
    rng = np.random.default_rng(lags)
    x = rng.standard_normal((6, 2))
    np.testing.assert_allclose(bartlett_long_run(x, lags), S_hac_simple(x, nlags=lags))


def test_bartlett_long_run_with_huge_lags_is_the_full_outer_product() -> None:
    # Weights 1 - |d|/(L+1) -> 1 as L grows: the sum tends to (sum x)(sum x)', in O(n).
    x = np.arange(1.0, 6.0)
    huge = bartlett_long_run(x, 10**9)
    assert huge[0, 0] == pytest.approx(x.sum() ** 2, rel=1e-6)


def test_hac_mean_recovers_the_long_run_standard_error_of_an_ar1() -> None:
    # AR(1) with phi 0.8: the long-run variance of the mean is sigma^2 / (1 - phi)^2 / n.
    rng = np.random.default_rng(3)
    phi, n_obs = 0.8, 200_000
    eps = rng.standard_normal(n_obs)
    x = np.empty(n_obs)
    x[0] = eps[0] / math.sqrt(1 - phi**2)
    for t in range(1, n_obs):
        x[t] = phi * x[t - 1] + eps[t]
    mean, stderr = hac_mean(x, n_lags=200)
    truth = 1.0 / (1.0 - phi) / math.sqrt(n_obs)
    assert stderr == pytest.approx(truth, rel=0.1)
    assert abs(mean) < 4 * truth
