"""The CSN tail report reproduces Clauset, Shalizi & Newman (2009), SIAM Review 51(4),
Table 6.1, on the continuous data sets the ``powerlaw`` package ships (dev dependency):
xmin and alpha within twice the paper's stated uncertainty."""

from __future__ import annotations

from importlib.resources import files

import numpy as np
import pytest

from calibration.fill_depth import fit_fill_depth, power_law_tail
from calibration.fill_depth import laws as dl

# data set: n, xmin, its uncertainty, alpha, its uncertainty (Table 6.1, the data's units)
TABLE_6_1 = {
    "blackouts": (211, 230_000.0, 90_000.0, 2.3, 0.3),  # customers affected
    "flares": (12_773, 323.0, 89.0, 1.79, 0.02),  # peak gamma-ray intensity, counts/s
    "cities": (19_447, 52_457.0, 11_150.0, 2.37, 0.08),  # US city populations
    "surnames": (2_753, 111_920.0, 40_670.0, 2.5, 0.2),  # frequency of US surnames
}


def _reference(name: str) -> np.ndarray:
    path = files("powerlaw") / "reference_data" / f"{name}.txt"
    return np.loadtxt(str(path))


@pytest.mark.parametrize("n_xmin", [None, 50], ids=["every-value", "grid-50"])
@pytest.mark.parametrize("name", list(TABLE_6_1))
def test_tail_report_reproduces_table_6_1(name: str, n_xmin: int | None) -> None:
    n, xmin, xmin_unc, alpha, alpha_unc = TABLE_6_1[name]
    x = _reference(name)
    assert x.size == n
    tail = power_law_tail(x, n_xmin=n_xmin, min_tail=50)
    assert abs(tail.xmin - xmin) <= 2.0 * xmin_unc, (name, tail.xmin)
    assert abs(tail.alpha - alpha) <= 2.0 * alpha_unc, (name, tail.alpha)
    # the continuous MLE on the selected tail
    t = x[x >= tail.xmin]
    assert tail.n_tail == t.size
    assert tail.alpha == pytest.approx(1.0 + t.size / np.log(t / tail.xmin).sum(), rel=1e-12)


def test_a_scan_capped_at_the_90th_percentile_misses_the_cities_tail() -> None:
    # the old scan never looked at a tail under 10% of the sample; CSN's cities tail is 3%
    x = np.sort(_reference("cities"))
    capped = dl.power_law_scan(x, n_xmin=50, min_tail=50, tail_frac_min=0.1)
    _, xmin, xmin_unc, alpha, alpha_unc = TABLE_6_1["cities"]
    assert capped.n_tail >= 0.1 * x.size
    assert abs(capped.xmin - xmin) > 2.0 * xmin_unc and abs(capped.alpha - alpha) > 2 * alpha_unc


def test_the_power_law_is_plausible_for_all_four_as_in_the_paper() -> None:
    # CSN find p >= 0.1 (the power law plausible) for each of these data sets
    for name in TABLE_6_1:
        tail = power_law_tail(_reference(name), n_xmin=50, n_boot=100,
                              rng=np.random.default_rng(6))
        assert tail.p_value is not None and tail.p_value >= 0.1, (name, tail.p_value)


def test_fit_fill_depth_carries_the_tail_report() -> None:
    x = _reference("cities")
    fit = fit_fill_depth(x, n_boot=0, n_xmin=50)
    assert fit.tail == power_law_tail(x, n_xmin=50)
    _, xmin, xmin_unc, alpha, alpha_unc = TABLE_6_1["cities"]
    assert fit.tail is not None and abs(fit.tail.xmin - xmin) <= 2.0 * xmin_unc
    assert abs(fit.tail.alpha - alpha) <= 2.0 * alpha_unc
