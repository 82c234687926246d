"""Benchmark: calibration.hawkes.fit_hawkes against the peer `tick` on simulated data.

Univariate exponential-kernel Hawkes, ~200,000 events, all three parameters free
(mu, alpha, beta). tick's HawkesExpKern needs the decay fixed, so it runs twice: with the
decay fixed at the truth (a lower bound on its cost), and with the decay profiled by
scipy's minimize_scalar over tick's likelihood score (the like-for-like comparison).
Then a bivariate fit with free 2x2 decays on ~200,000 events.

Run: ``.venv/bin/python bench/bench_hawkes.py`` (about 15 s). Timings exclude numba JIT
compilation (a warm-up fit runs first) and are the median of several repeats.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from calibration.hawkes import fit_hawkes
from tests.calibration.hawkes_sim import simulate_hawkes_exp

N_TARGET = 200_000
MU, ALPHA, BETA = 0.5, 0.6, 1.5
MU_2 = np.array([0.5, 0.3])
ALPHA_2 = np.array([[0.4, 0.2], [0.3, 0.3]])
BETA_2 = np.array([[2.0, 5.0], [1.0, 3.0]])
TARGET_UNI_S = 0.15
TARGET_SPEEDUP = 5.0
TARGET_BI_S = 1.0


def _median_time(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


def _tick_fixed(events: np.ndarray, decay: float) -> Any:
    from tick.hawkes import HawkesExpKern

    learner = HawkesExpKern(decays=decay, gofit="likelihood", penalty="none", solver="agd",
                            tol=1e-8, max_iter=1000)
    learner.fit([events], start=0.1)
    return learner


def _tick_profiled(events: np.ndarray) -> tuple[Any, float, int]:
    evaluations = 0

    def neg_score(log_decay: float) -> float:
        nonlocal evaluations
        evaluations += 1
        return -float(_tick_fixed(events, math.exp(log_decay)).score())

    res = minimize_scalar(neg_score, bounds=(math.log(0.05), math.log(50.0)), method="bounded",
                          options={"xatol": 1e-3})
    decay = math.exp(float(res.x))
    return _tick_fixed(events, decay), decay, evaluations


def main() -> None:
    T_uni = N_TARGET * (1.0 - ALPHA) / MU
    times, _ = simulate_hawkes_exp(MU, ALPHA, BETA, T_uni, seed=20240808)
    print(f"univariate exp-kernel Hawkes: {times.size:,} events, truth mu={MU} alpha={ALPHA} "
          f"beta={BETA} (1/s)")
    fit_hawkes(times[:5000])  # warm-up: load or compile the numba kernels

    ours_s, fit = _median_time(lambda: fit_hawkes(times), repeats=7)
    tick_fixed_s, tick_fixed = _median_time(lambda: _tick_fixed(times, BETA), repeats=3)
    t0 = time.perf_counter()
    tick_prof, tick_decay, n_eval = _tick_profiled(times)
    tick_prof_s = time.perf_counter() - t0

    se = {k: float(v.ravel()[0]) for k, v in fit.stderr.items()}
    rows = [
        ("mmcal fit_hawkes (beta free)", ours_s, fit.mu[0], fit.alpha[0, 0], fit.beta[0, 0]),
        ("tick, decay fixed at truth", tick_fixed_s, tick_fixed.baseline[0],
         tick_fixed.adjacency[0, 0], BETA),
        (f"tick, decay profiled ({n_eval} fits)", tick_prof_s, tick_prof.baseline[0],
         tick_prof.adjacency[0, 0], tick_decay),
    ]
    print(f"{'method':<36}{'wall s':>9}{'mu':>10}{'alpha':>10}{'beta':>10}")
    for name, secs, mu, alpha, beta in rows:
        print(f"{name:<36}{secs:>9.4f}{mu:>10.5f}{alpha:>10.5f}{beta:>10.5f}")
    print(f"{'mmcal standard errors':<36}{'':>9}{se['mu']:>10.5f}{se['alpha']:>10.5f}"
          f"{se['beta']:>10.5f}")
    gap = max(abs(fit.mu[0] - tick_prof.baseline[0]) / se["mu"],
              abs(fit.alpha[0, 0] - tick_prof.adjacency[0, 0]) / se["alpha"],
              abs(fit.beta[0, 0] - tick_decay) / se["beta"])
    print(f"largest |mmcal - tick profiled| = {gap:.3f} mmcal standard errors "
          f"(same accuracy if << 1); mmcal K-S p={fit.ks_pvalue_pooled:.3f}, "
          f"Newton iterations={fit.n_iter}")
    speedup_prof = tick_prof_s / ours_s
    verdict = "met" if speedup_prof >= TARGET_SPEEDUP else "MISSED"
    print(f"speed-up vs tick with profiled decay: {speedup_prof:.1f}x "
          f"(target >= {TARGET_SPEEDUP:.0f}x: {verdict})")
    print(f"speed-up vs tick with decay fixed at truth: {tick_fixed_s / ours_s:.2f}x")
    print(f"mmcal univariate wall time {ours_s:.4f} s (target <= {TARGET_UNI_S} s: "
          f"{'met' if ours_s <= TARGET_UNI_S else 'MISSED'})")

    rate = np.linalg.solve(np.eye(2) - ALPHA_2, MU_2).sum()
    times2, marks2 = simulate_hawkes_exp(MU_2, ALPHA_2, BETA_2, N_TARGET / rate, seed=7)
    bi_s, fit2 = _median_time(lambda: fit_hawkes(times2, marks2), repeats=5)
    print(f"\nbivariate exp-kernel Hawkes, free 2x2 decays: {times2.size:,} events")
    print(f"mmcal wall time {bi_s:.4f} s (target <= {TARGET_BI_S} s: "
          f"{'met' if bi_s <= TARGET_BI_S else 'MISSED'}), Newton iterations={fit2.n_iter}")
    print(f"{'param':<12}{'truth':>9}{'estimate':>11}{'stderr':>10}{'z':>7}")
    for key, truth in (("mu", MU_2), ("alpha", ALPHA_2), ("beta", BETA_2)):
        est, err = getattr(fit2, key), fit2.stderr[key]
        for idx in np.ndindex(truth.shape):
            z = (est[idx] - truth[idx]) / err[idx]
            label = f"{key}[{','.join(map(str, idx))}]"
            print(f"{label:<12}{truth[idx]:>9.3f}{est[idx]:>11.5f}{err[idx]:>10.5f}{z:>7.2f}")
    print(f"branching ratio {fit2.branching_ratio:.4f}; K-S p per side "
          f"{np.round(fit2.ks_pvalue, 3).tolist()}")


if __name__ == "__main__":
    main()
