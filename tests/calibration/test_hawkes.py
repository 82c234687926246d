"""Specification of calibration.hawkes: recursion, fit, validation, residuals."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from scipy import stats

from calibration.errors import CalibrationError, ConvergenceWarning, IdentifiabilityWarning
from calibration.hawkes import (
    MIN_EVENTS_PER_COMPONENT,
    HawkesFit,
    fit_hawkes,
    intensity_path,
    merge_same_timestamp,
    rescaled_residuals,
)
from calibration.hawkes.kernels import compensator_at_events, intensity_at, row_loglik
from tests.calibration.hawkes_reference import (
    compensator_at_events_reference,
    intensity_at_reference,
    row_loglik_reference,
)
from tests.calibration.hawkes_sim import (
    simulate_gamma_renewal,
    simulate_hawkes_exp,
    simulate_regime_switching_poisson,
)

MU_1 = np.array([0.5])
ALPHA_1 = np.array([[0.6]])
BETA_1 = np.array([[1.5]])
MU_2 = np.array([0.5, 0.3])
ALPHA_2 = np.array([[0.4, 0.2], [0.3, 0.3]])
BETA_2 = np.array([[2.0, 5.0], [1.0, 3.0]])


def _flat(
    fit: HawkesFit, keys: tuple[str, ...] = ("mu", "alpha", "beta")
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Estimates, stderr and CI bounds of ``keys``, each flattened and concatenated."""
    estimates = {k: getattr(fit, k) for k in keys}
    est, se, lo, hi = (np.concatenate([np.ravel(part[k]) for k in keys])
                       for part in (estimates, fit.stderr, fit.ci_lower, fit.ci_upper))
    return est, se, lo, hi


def _row(times, marks, target, mu, a, b, n_terms, T, with_hess):
    """row_loglik with a constant baseline (one bin)."""
    return row_loglik(times, marks, target, np.array([mu]), np.zeros(times.size, np.int64),
                      np.array([T]), a, b, n_terms, T, with_hess)


def _row_ref(times, marks, target, mu, a, b, n_terms, T):
    return row_loglik_reference(times, marks, target, np.array([mu]),
                                np.zeros(times.size, np.int64), np.array([T]), a, b, n_terms, T)


def _truth(mu: np.ndarray, alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
    return np.concatenate([mu.ravel(), alpha.ravel(), beta.ravel()])


@pytest.fixture(scope="module")
def small_bivariate() -> tuple[np.ndarray, np.ndarray]:
    times, marks = simulate_hawkes_exp(MU_2, ALPHA_2, BETA_2, 250.0, seed=3)
    return np.round(times, 2), marks  # rounding creates cross-mark ties to exercise them


# --- the recursion -------------------------------------------------------------------


@pytest.mark.parametrize("target", [0, 1])
def test_jitted_row_loglik_equals_direct_double_sum_reference(small_bivariate, target):
    times, marks = small_bivariate
    T = float(times[-1]) + 0.5
    a = ALPHA_2[target] * np.array([0.8, 1.3])
    b = BETA_2[target] * np.array([1.2, 0.7])
    fast = _row(times, marks, target, 0.45, a, b, 1, T, True)
    ref = _row_ref(times, marks, target, 0.45, a, b, 1, T)
    assert fast[0] == pytest.approx(ref[0], rel=1e-12)
    np.testing.assert_allclose(fast[1], ref[1], rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(fast[2], ref[2], rtol=1e-10, atol=1e-8)


def test_row_loglik_without_hessian_gives_same_value_and_gradient(small_bivariate):
    times, marks = small_bivariate
    with_h = _row(times, marks, 0, 0.4, ALPHA_2[0], BETA_2[0], 1, 260.0, True)
    without = _row(times, marks, 0, 0.4, ALPHA_2[0], BETA_2[0], 1, 260.0, False)
    assert with_h[0] == without[0]
    np.testing.assert_array_equal(with_h[1], without[1])


def test_analytic_gradient_and_hessian_match_finite_differences(small_bivariate):
    times, marks = small_bivariate
    T = float(times[-1])
    theta = np.array([0.45, 0.35, 0.25, 2.5, 4.0])

    def value_grad(th: np.ndarray) -> tuple[float, np.ndarray]:
        ll, g, _ = _row(times, marks, 0, th[0], th[1:3].copy(), th[3:].copy(), 1, T, False)
        return ll, g

    _, grad, hess = _row(times, marks, 0, theta[0], theta[1:3].copy(),
                         theta[3:].copy(), 1, T, True)
    h = 1e-6
    fd_grad = np.empty(5)
    fd_hess = np.empty((5, 5))
    for k in range(5):
        step = np.zeros(5)
        step[k] = h
        (fp, gp), (fm, gm) = value_grad(theta + step), value_grad(theta - step)
        fd_grad[k] = (fp - fm) / (2 * h)
        fd_hess[k] = (gp - gm) / (2 * h)
    np.testing.assert_allclose(grad, fd_grad, rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(hess, fd_hess, rtol=1e-5, atol=1e-4)


def test_compensator_and_intensity_equal_their_references(small_bivariate):
    times, marks = small_bivariate
    a3, b3 = ALPHA_2[:, :, None], BETA_2[:, :, None]
    np.testing.assert_allclose(
        compensator_at_events(times, marks, MU_2, a3, b3),
        compensator_at_events_reference(times, marks, MU_2, a3, b3),
        rtol=1e-11,
    )
    grid = np.linspace(0.0, float(times[-1]), 997)
    np.testing.assert_allclose(
        intensity_at(times, marks, MU_2, a3, b3, grid),
        intensity_at_reference(times, marks, MU_2, a3, b3, grid),
        rtol=1e-11,
    )


def test_intensity_path_jumps_by_alpha_beta_after_an_event():
    times = np.array([1.0, 2.0])
    marks = np.array([0, 1])
    grid = np.array([0.5, 1.0, 1.0 + 1e-12, 2.0 + 1e-12])
    lam = intensity_path(times, marks, MU_2, ALPHA_2, BETA_2, grid)
    np.testing.assert_allclose(lam[0], MU_2)
    np.testing.assert_allclose(lam[1], MU_2)  # left limit: the event itself not yet counted
    np.testing.assert_allclose(lam[2], MU_2 + ALPHA_2[:, 0] * BETA_2[:, 0], rtol=1e-9)
    expected = MU_2 + ALPHA_2[:, 0] * BETA_2[:, 0] * np.exp(-BETA_2[:, 0]) \
        + ALPHA_2[:, 1] * BETA_2[:, 1]
    np.testing.assert_allclose(lam[3], expected, rtol=1e-9)


# --- the fit ---------------------------------------------------------------------------


def test_univariate_fit_recovers_truth_within_three_standard_errors():
    times, _ = simulate_hawkes_exp(MU_1, ALPHA_1, BETA_1, 8000.0, seed=11)
    fit = fit_hawkes(times)
    est, se, lo, hi = _flat(fit)
    truth = _truth(MU_1, ALPHA_1, BETA_1)
    assert fit.converged
    assert np.all(np.abs(est - truth) < 3.0 * se)
    np.testing.assert_allclose(hi - lo, 2 * 1.959964 * se, rtol=1e-6)  # Wald 95%, unclipped
    assert fit.branching_ratio == pytest.approx(fit.alpha[0, 0])
    assert fit.ks_pvalue_pooled > 0.01
    assert fit.n_obs == times.size and fit.n_merged == 0


def test_bivariate_fit_with_free_decays_recovers_truth_within_three_standard_errors():
    times, marks = simulate_hawkes_exp(MU_2, ALPHA_2, BETA_2, 6000.0, seed=5)
    fit = fit_hawkes(times, marks)
    est, se, _, _ = _flat(fit)
    truth = _truth(MU_2, ALPHA_2, BETA_2)
    assert fit.converged
    assert fit.beta.shape == (2, 2) and fit.stderr["beta"].shape == (2, 2)
    assert np.all(np.isfinite(se))
    assert np.all(np.abs(est - truth) < 3.0 * se)
    rho_true = float(np.max(np.abs(np.linalg.eigvals(ALPHA_2))))
    assert abs(fit.branching_ratio - rho_true) < 0.05
    assert np.all(fit.ks_pvalue > 0.01)


def test_fit_is_invariant_to_a_time_origin_shift():
    times, _ = simulate_hawkes_exp(MU_1, ALPHA_1, BETA_1, 2000.0, seed=2)
    base = fit_hawkes(times)
    shifted = fit_hawkes(times + 1.7e9)  # epoch seconds, as from ts_ns / 1e9
    np.testing.assert_allclose(shifted.alpha, base.alpha, rtol=1e-4)
    np.testing.assert_allclose(shifted.beta, base.beta, rtol=1e-4)
    assert shifted.t_start == pytest.approx(times[0] + 1.7e9)


def test_result_is_frozen_and_to_dict_is_strict_json():
    times, marks = simulate_hawkes_exp(MU_2, ALPHA_2, BETA_2, 600.0, seed=1)
    fit = fit_hawkes(times, marks)
    with pytest.raises(ValueError):
        fit.alpha[0, 0] = 9.0
    with pytest.raises(AttributeError):
        fit.loglik = 0.0  # type: ignore[misc]
    payload = json.loads(json.dumps(fit.to_dict(), allow_nan=False))
    assert payload["alpha"][1][0] == pytest.approx(fit.alpha[1, 0])
    assert set(payload["stderr"]) == {"mu", "baseline", "alpha", "beta", "alpha_terms",
                                      "beta_terms"}
    text = fit.summary()
    assert "beta[1,0]" in text and "branching ratio" in text


def test_unidentified_decay_gets_no_stderr_and_a_warning_not_a_silent_nan():
    # independent components: both cross-excitations sit on their 0 bound for this seed
    # (every decay start finds the bound)
    times, marks = simulate_hawkes_exp(MU_2, np.diag([0.4, 0.3]), BETA_2, 1500.0, seed=1)
    with pytest.warns(IdentifiabilityWarning, match="no standard error"):
        fit = fit_hawkes(times, marks)
    dead = fit.alpha == 0.0
    assert dead.any()
    assert np.all(np.isnan(fit.stderr["beta"][dead]))
    payload = fit.to_dict()
    i, j = np.argwhere(dead)[0]
    assert payload["stderr"]["beta"][i][j] is None
    json.dumps(payload, allow_nan=False)


# --- sum-of-exponentials kernel -------------------------------------------------------

MU_SE = np.array([0.4])
ALPHA_SE = np.array([[[0.3, 0.3]]])  # (d, d, U): a fast and a slow term
BETA_SE = np.array([[[20.0, 0.5]]])


def test_sum_of_exponentials_recursion_equals_reference(small_bivariate):
    times, marks = small_bivariate
    T = float(times[-1]) + 0.1
    a = np.array([0.2, 0.1, 0.05, 0.15])  # channels (j=0,u=0), (0,1), (1,0), (1,1)
    b = np.array([8.0, 0.7, 3.0, 0.2])
    fast = _row(times, marks, 1, 0.3, a, b, 2, T, True)
    ref = _row_ref(times, marks, 1, 0.3, a, b, 2, T)
    assert fast[0] == pytest.approx(ref[0], rel=1e-12)
    np.testing.assert_allclose(fast[1], ref[1], rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(fast[2], ref[2], rtol=1e-10, atol=1e-8)
    a3 = np.stack([ALPHA_2 * 0.5, ALPHA_2 * 0.5], axis=2)
    b3 = np.stack([BETA_2 * 4.0, BETA_2 / 4.0], axis=2)
    np.testing.assert_allclose(
        compensator_at_events(times, marks, MU_2, a3, b3),
        compensator_at_events_reference(times, marks, MU_2, a3, b3), rtol=1e-11)


def test_sum_of_exponentials_fit_recovers_both_time_scales():
    times, _ = simulate_hawkes_exp(MU_SE, ALPHA_SE, BETA_SE, 12000.0, seed=0)
    fit = fit_hawkes(times, kernel="sumexp")
    assert fit.converged and fit.n_terms == 2
    truth_eff = ALPHA_SE.sum() / (ALPHA_SE / BETA_SE).sum()  # reciprocal mean lag
    for key, truth in (("mu", MU_SE), ("alpha_terms", ALPHA_SE), ("beta_terms", BETA_SE),
                       ("alpha", ALPHA_SE.sum(axis=2)), ("beta", np.array([[truth_eff]]))):
        est, se = getattr(fit, key), fit.stderr[key]
        assert np.all(np.isfinite(se)) and np.all(se > 0.0), key
        assert np.all(np.abs(est - truth) < 3.0 * se), key
    assert fit.beta_terms[0, 0, 0] > fit.beta_terms[0, 0, 1]  # fastest term first
    assert fit.ks_pvalue_pooled > 0.01
    assert "beta_terms[0,0,1]" in fit.summary()


def test_sum_of_exponentials_beats_one_exponential_on_two_scale_data():
    times, _ = simulate_hawkes_exp(MU_SE, ALPHA_SE, BETA_SE, 6000.0, seed=1)
    one = fit_hawkes(times)
    two = fit_hawkes(times, kernel="sumexp")
    assert 2.0 * (two.loglik - one.loglik) > 50.0  # LR statistic, 2 extra parameters
    assert two.ks_pvalue_pooled > 0.01


def test_one_term_sum_of_exponentials_is_the_exponential_kernel():
    times, marks = simulate_hawkes_exp(MU_2, ALPHA_2, BETA_2, 800.0, seed=9)
    exp_fit = fit_hawkes(times, marks)
    one = fit_hawkes(times, marks, kernel="sumexp", n_terms=1)
    for key in ("mu", "alpha", "beta"):
        np.testing.assert_allclose(getattr(one, key), getattr(exp_fit, key), rtol=1e-9)
        np.testing.assert_allclose(one.stderr[key], exp_fit.stderr[key], rtol=1e-6)
    np.testing.assert_allclose(exp_fit.beta_terms[:, :, 0], exp_fit.beta)
    with pytest.raises(CalibrationError, match="n_terms"):
        fit_hawkes(times, marks, kernel="exp", n_terms=2)


def test_explicit_window_sets_the_time_origin_and_length():
    times, _ = simulate_hawkes_exp(MU_1, ALPHA_1, BETA_1, 3000.0, seed=13)
    fit = fit_hawkes(times, window=(0.0, 3000.0))  # the simulation window, not first..last
    assert fit.t_start == 0.0 and fit.T == 3000.0
    ll, _, _ = _row(times, np.zeros(times.size, dtype=np.int64), 0, fit.mu[0],
                    fit.alpha[0].copy(), fit.beta[0].copy(), 1, 3000.0, False)
    assert fit.loglik == pytest.approx(ll, rel=1e-12)


def test_newton_stopped_early_warns_and_reports_not_converged(monkeypatch):
    import calibration.hawkes.solver as solver

    monkeypatch.setattr(solver, "_MAX_NEWTON_ITER", 1)
    times, _ = simulate_hawkes_exp(MU_1, ALPHA_1, BETA_1, 2000.0, seed=14)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        fit = fit_hawkes(times)
    assert not fit.converged and fit.to_dict()["converged"] is False


# --- piecewise-constant baseline -----------------------------------------------------

BASE_BINS = np.array([[0.1, 0.5, 0.2, 0.8], [0.1, 0.4, 0.3, 0.7]])  # (d, B), events/s
EDGES = np.array([0.0, 2000.0, 4000.0, 6000.0, 8000.0])  # s


@pytest.mark.parametrize("target", [0, 1])
def test_binned_baseline_recursion_equals_reference(small_bivariate, target):
    times, marks = small_bivariate
    edges = np.array([0.0, 60.0, 170.0, float(times[-1]) + 0.2])
    bins = np.clip(np.searchsorted(edges, times, side="right") - 1, 0, 2)
    mu = np.array([0.3, 0.6, 0.2])
    a, b = ALPHA_2[target], BETA_2[target]
    fast = row_loglik(times, marks, target, mu, bins, np.diff(edges), a, b, 1, edges[-1], True)
    ref = row_loglik_reference(times, marks, target, mu, bins, np.diff(edges), a, b, 1,
                               edges[-1])
    assert fast[0] == pytest.approx(ref[0], rel=1e-12)
    np.testing.assert_allclose(fast[1], ref[1], rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(fast[2], ref[2], rtol=1e-10, atol=1e-8)


def test_binned_baseline_fit_recovers_profile_and_excitation():
    times, marks = simulate_hawkes_exp(BASE_BINS, ALPHA_2, BETA_2, 8000.0, seed=1,
                                       baseline_edges=EDGES)
    fit = fit_hawkes(times, marks, baseline_edges=EDGES)
    assert fit.converged and fit.T == 8000.0 and fit.baseline.shape == (2, 4)
    np.testing.assert_array_equal(fit.baseline_edges, EDGES)
    for key, truth in (("baseline", BASE_BINS), ("alpha", ALPHA_2), ("beta", BETA_2),
                       ("mu", BASE_BINS.mean(axis=1))):
        assert np.all(np.abs(getattr(fit, key) - truth) < 3.0 * fit.stderr[key]), key
    assert np.all(fit.lb_pvalue > 0.01) and fit.ks_pvalue_pooled > 0.01
    assert "baseline[1,3]" in fit.summary()


def test_constant_baseline_on_a_swinging_rate_biases_excitation_and_is_flagged():
    times, marks = simulate_hawkes_exp(BASE_BINS, ALPHA_2, BETA_2, 8000.0, seed=1,
                                       baseline_edges=EDGES)
    constant = fit_hawkes(times, marks, window=(0.0, 8000.0))
    z = (constant.alpha - ALPHA_2) / constant.stderr["alpha"]
    assert np.max(np.abs(z)) > 5.0  # slow rate swings read as clustering
    assert np.min(constant.lb_pvalue) < 1e-4  # and the residuals say so


def test_binned_residuals_and_intensity_include_the_baseline_steps():
    times, marks = simulate_hawkes_exp(BASE_BINS[:, :2] * 0.2, ALPHA_2, BETA_2, 400.0,
                                       seed=5, baseline_edges=[0.0, 150.0, 400.0])
    base, edges = BASE_BINS[:, :2] * 0.2, np.array([0.0, 150.0, 400.0])
    res = rescaled_residuals(times, marks, base, ALPHA_2, BETA_2, edges)
    excitation = compensator_at_events_reference(times, marks, np.zeros(2), ALPHA_2[:, :, None],
                                                 BETA_2[:, :, None])
    for i in range(2):
        t_last = times[marks == i][-1]
        baseline_integral = base[i, 0] * min(t_last, 150.0) + base[i, 1] * max(t_last - 150, 0)
        expected = excitation[marks == i, i][-1] + baseline_integral
        assert res[i].sum() == pytest.approx(expected, rel=1e-10)
    grid = np.array([10.0, 149.0, 151.0, 390.0])
    lam = intensity_path(times, marks, base, ALPHA_2, BETA_2, grid, edges)
    ref = intensity_at_reference(times, marks, np.zeros(2), ALPHA_2[:, :, None],
                                 BETA_2[:, :, None], grid)
    np.testing.assert_allclose(lam, ref + base[:, [0, 0, 1, 1]].T, rtol=1e-10)


def test_bad_baseline_edges_are_rejected_with_the_reason():
    times, marks = simulate_hawkes_exp(BASE_BINS, ALPHA_2, BETA_2, 8000.0, seed=0,
                                       baseline_edges=EDGES)
    with pytest.raises(CalibrationError, match="strictly increasing; first violation at index 2"):
        fit_hawkes(times, marks, baseline_edges=np.array([0.0, 10.0, 10.0, 8000.0]))
    with pytest.raises(CalibrationError, match="must equal the outer baseline_edges"):
        fit_hawkes(times, marks, baseline_edges=EDGES, window=(0.0, 9000.0))
    with pytest.raises(CalibrationError, match="too few events in baseline bin 1"):
        fit_hawkes(times, marks, baseline_edges=np.array([0.0, 100.0, 102.0, 8000.0]))
    with pytest.raises(CalibrationError, match="outside the window"):
        fit_hawkes(times, marks, baseline_edges=np.array([0.0, 4000.0, 7000.0]))


# --- stationarity and malformed input ------------------------------------------------


def test_explosive_univariate_sample_raises():
    times, _ = simulate_hawkes_exp(1.0, 1.5, 1.0, 15.0, seed=0)
    with pytest.raises(CalibrationError, match="explosive"):
        fit_hawkes(times)


def test_explosive_cross_excitation_raises_on_spectral_radius():
    alpha = np.array([[0.1, 1.5], [0.9, 0.1]])  # each diagonal < 1, spectral radius 1.26
    times, marks = simulate_hawkes_exp([1.0, 1.0], alpha, 2.0, 10.0, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IdentifiabilityWarning)
        with pytest.raises(CalibrationError, match="spectral radius"):
            fit_hawkes(times, marks)


def test_unsorted_times_error_names_the_first_violating_index():
    times = np.arange(100.0)
    times[42] = 0.5
    with pytest.raises(CalibrationError, match="sorted; first violation at index 42"):
        fit_hawkes(times)


def test_nan_time_error_names_its_index():
    times = np.arange(100.0)
    times[7] = np.nan
    with pytest.raises(CalibrationError, match="finite; first non-finite value at index 7"):
        fit_hawkes(times)


def test_too_few_events_error_states_the_minimum():
    with pytest.raises(CalibrationError, match=f"at least {MIN_EVENTS_PER_COMPONENT}"):
        fit_hawkes(np.arange(10.0))
    times = np.arange(200.0)
    marks = np.zeros(200, dtype=np.int64)
    marks[:5] = 1  # component 1 has only 5 events
    with pytest.raises(CalibrationError, match="component 1 has 5"):
        fit_hawkes(times, marks)


@pytest.mark.parametrize(
    ("marks", "match"),
    [
        (np.zeros(99, dtype=np.int64), "does not match"),
        (np.full(100, 0.5), "integer component ids"),
        (np.r_[np.zeros(99, dtype=np.int64), -1], "index 99"),
    ],
)
def test_malformed_marks_are_rejected(marks, match):
    with pytest.raises(CalibrationError, match=match):
        fit_hawkes(np.arange(100.0), marks)


def test_unsupported_kernel_and_window_not_covering_events_are_rejected():
    times, _ = simulate_hawkes_exp(MU_1, ALPHA_1, BETA_1, 500.0, seed=0)
    with pytest.raises(CalibrationError, match="kernel"):
        fit_hawkes(times, kernel="powerlaw")
    with pytest.raises(CalibrationError, match="outside the window"):
        fit_hawkes(times, window=(float(times[5]), float(times[-1])))


# --- merging same-timestamp prints ---------------------------------------------------


def test_same_timestamp_same_side_prints_merge_into_one_event():
    times, marks = simulate_hawkes_exp(MU_2, ALPHA_2, BETA_2, 1500.0, seed=4)
    rng = np.random.default_rng(0)
    sweep = rng.choice(times.size, size=300, replace=False)  # orders that hit 2+ levels
    cross = rng.choice(np.setdiff1d(np.arange(times.size), sweep), size=20, replace=False)
    t_dup = np.concatenate([times, times[sweep], times[sweep[:50]], times[cross]])
    m_dup = np.concatenate([marks, marks[sweep], marks[sweep[:50]], 1 - marks[cross]])
    order = np.argsort(t_dup, kind="stable")
    t_dup, m_dup = t_dup[order], m_dup[order]

    merged_t, merged_m, n_merged = merge_same_timestamp(t_dup, m_dup)
    assert n_merged == 350  # opposite-side prints at the same time are distinct events
    assert merged_t.size == merged_m.size == times.size + 20

    clean = fit_hawkes(times, marks)
    fit = fit_hawkes(t_dup, m_dup)
    assert fit.n_merged == 350 and fit.n_obs == times.size + 20
    np.testing.assert_allclose(fit.alpha, clean.alpha, atol=0.02)


def test_unmerged_duplicate_prints_break_the_residual_fit():
    times, _ = simulate_hawkes_exp(MU_1, ALPHA_1, BETA_1, 3000.0, seed=6)
    t_dup = np.sort(np.concatenate([times, times[::3]]))
    kept = fit_hawkes(t_dup, merge_same_ts=False)
    merged = fit_hawkes(t_dup)
    assert kept.n_merged == 0 and merged.n_merged == times[::3].size
    assert kept.n_obs == t_dup.size
    assert kept.mu[0] > merged.mu[0] + 5.0 * merged.stderr["mu"][0]  # prints counted as events
    assert kept.ks_pvalue_pooled < 1e-10 < 0.01 < merged.ks_pvalue_pooled  # zero-gap residuals


# --- residual goodness of fit --------------------------------------------------------


def test_residuals_are_exponential_on_well_specified_data_and_not_on_a_renewal_process():
    times, marks = simulate_hawkes_exp(MU_2, ALPHA_2, BETA_2, 3000.0, seed=8)
    good = fit_hawkes(times, marks)
    assert good.ks_pvalue_pooled > 0.05
    regular = simulate_gamma_renewal(3.0, 2.0, 2000.0, seed=0)  # under-dispersed: not Hawkes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IdentifiabilityWarning)
        bad = fit_hawkes(regular)
    assert bad.ks_pvalue_pooled < 1e-10


def test_regime_switching_poisson_is_caught_by_residual_autocorrelation_not_by_ks():
    # A known trap (Filimonov & Sornette 2015): baseline shifts are absorbed by a near-critical
    # branching ratio, and the marginal K-S test passes; the residuals stay autocorrelated.
    times = simulate_regime_switching_poisson((0.2, 20.0), 10.0, 2000.0, seed=1)
    fit = fit_hawkes(times)
    assert fit.branching_ratio > 0.9
    assert fit.ks_pvalue_pooled > 0.01
    assert fit.lb_pvalue[0] < 1e-10


def test_residual_autocorrelation_test_passes_on_well_specified_data():
    times, marks = simulate_hawkes_exp(MU_2, ALPHA_2, BETA_2, 3000.0, seed=8)
    fit = fit_hawkes(times, marks)
    assert np.all(fit.lb_pvalue > 0.01)
    assert "Ljung-Box" in fit.summary()


def test_rescaled_residuals_sum_to_the_compensator_at_the_last_event():
    times, marks = simulate_hawkes_exp(MU_2, ALPHA_2, BETA_2, 400.0, seed=2)
    res = rescaled_residuals(times, marks, MU_2, ALPHA_2, BETA_2)
    comp = compensator_at_events_reference(times, marks, MU_2, ALPHA_2[:, :, None],
                                           BETA_2[:, :, None])
    for i in range(2):
        assert res[i].size == np.sum(marks == i)
        assert res[i].sum() == pytest.approx(comp[marks == i, i][-1], rel=1e-10)
        assert np.all(res[i] > 0.0)


def test_reported_ks_matches_scipy_kstest_on_the_fits_own_residuals():
    times, marks = simulate_hawkes_exp(MU_2, ALPHA_2, BETA_2, 500.0, seed=12)
    fit = fit_hawkes(times + 100.0, marks)
    res = rescaled_residuals(times + 100.0 - fit.t_start, marks, fit.mu, fit.alpha, fit.beta)
    for i in range(2):
        ref = stats.kstest(res[i], "expon")
        assert fit.ks_stat[i] == pytest.approx(ref.statistic, rel=1e-9)
        assert fit.ks_pvalue[i] == pytest.approx(ref.pvalue, rel=1e-6)
    pooled = stats.kstest(np.concatenate(res), "expon")
    assert fit.ks_pvalue_pooled == pytest.approx(pooled.pvalue, rel=1e-6)


# --- multi-seed recovery study --------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("mu", "alpha", "beta", "T", "kernel", "edges"),
    [
        (MU_1, ALPHA_1, BETA_1, 16000.0, "exp", None),
        (MU_2, ALPHA_2, BETA_2, 10000.0, "exp", None),
        (MU_SE, ALPHA_SE, BETA_SE, 20000.0, "sumexp", None),
        (BASE_BINS, ALPHA_2, BETA_2, 8000.0, "exp", EDGES),
    ],
    ids=["univariate", "bivariate", "sum-of-exponentials", "binned-baseline"],
)
def test_recovery_over_30_seeds_is_unbiased_with_calibrated_intervals(mu, alpha, beta, T,
                                                                      kernel, edges):
    keys = ["mu", "alpha", "beta"] if kernel == "exp" else ["mu", "alpha_terms", "beta_terms"]
    if edges is not None:
        keys[0] = "baseline"
    truth = np.concatenate([mu.ravel(), alpha.ravel(), beta.ravel()])
    z_scores, covered = [], []
    for seed in range(30):
        times, marks = simulate_hawkes_exp(mu, alpha, beta, T, seed=1000 + seed,
                                           baseline_edges=edges)
        fit = fit_hawkes(times, marks if mu.shape[0] > 1 else None, kernel=kernel,
                         baseline_edges=edges)
        assert fit.converged
        assert fit.n_obs > 12000  # 15k-20k events per seed
        est, se, lo, hi = _flat(fit, tuple(keys))
        z_scores.append((est - truth) / se)
        covered.append((lo <= truth) & (truth <= hi))
    z = np.array(z_scores)
    cover = np.array(covered).mean(axis=0)
    # each estimate within 3 stderr of truth (a 1-in-370 miss per estimate is allowed for),
    assert np.mean(np.abs(z) > 3.0) <= 0.02 and np.all(np.abs(z) < 4.5)
    # the seed-average within 3.5 standard errors of the mean (no bias; 3.5 = Bonferroni
    # over up to 18 parameters at a 1% family-wise level),
    assert np.all(np.abs(z.mean(axis=0)) * np.sqrt(z.shape[0]) < 3.5)
    # stderr the right size (spread of z near 1), and 95% intervals covering in >= 85% of seeds
    assert np.all((z.std(axis=0) > 0.6) & (z.std(axis=0) < 1.5))
    assert np.all(cover >= 0.85)
