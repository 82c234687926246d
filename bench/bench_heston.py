"""Heston from 1-second prices: measurement-error-aware ARMA fit vs naive CIR OLS vs GARCH.

Simulates 30 days at 1 s (kappa 365/yr, theta 0.36, xi 16, rho -0.3, 1 bp noise) on a few
seeds and prints each estimator beside the truth. Run: ``.venv/bin/python bench/bench_heston.py``.
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from calibration.volatility.stochastic_vol import fit_cir_ols_naive, fit_heston
from tests.calibration.heston_sim import HestonParams, simulate_heston

N_SEEDS = 6


def _fmt(x: float | None, spec: str = ".3g") -> str:
    return "-" if x is None or not math.isfinite(x) else format(x, spec)


def main() -> None:
    truth = HestonParams()
    print(
        f"truth: kappa {truth.kappa}/yr (half-life {math.log(2) / truth.kappa * 8760:.1f} h), "
        f"theta {truth.theta}, xi {truth.xi}, rho {truth.rho}, noise {truth.noise_bps} bp, "
        f"Feller {truth.feller_ratio:.2f}; 30 days at 1 s, 5-minute RV, {N_SEEDS} seeds"
    )
    header = (
        f"{'seed':>4} {'path v':>7} | {'ARMA kappa':>10} {'95% CI':>13} {'theta':>6} "
        f"{'xi':>6} {'rho':>6} | {'OLS kappa':>9} {'theta':>6} {'xi':>6} | "
        f"{'GARCH kappa':>11} {'lr var':>7} {'a+b':>8}"
    )
    print(header)
    rows = []
    t0 = time.perf_counter()
    for seed in range(N_SEEDS):
        ts, px, var = simulate_heston(truth, days=30.0, seed=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = fit_heston(ts, px)
        naive = fit_cir_ols_naive(ts, px)
        g = fit.garch
        ci = f"{fit.kappa_ci[0]:.0f}-{fit.kappa_ci[1]:.0f}" if fit.kappa_ci else "not ident."
        print(
            f"{seed:>4} {var.mean():>7.3f} | {_fmt(fit.kappa, '.0f'):>10} {ci:>13} "
            f"{fit.theta:>6.3f} {_fmt(fit.xi, '.2f'):>6} {_fmt(fit.rho, '.3f'):>6} | "
            f"{naive.kappa:>9.0f} {_fmt(naive.theta, '.3f'):>6} {naive.xi:>6.1f} | "
            f"{_fmt(g.kappa_implied if g else None, '.0f'):>11} "
            f"{_fmt(g.long_run_variance_annualised if g else None, '.3f'):>7} "
            f"{_fmt(g.persistence if g else None, '.5f'):>8}"
        )
        rows.append(
            (
                fit.kappa if fit.kappa is not None else math.nan,
                fit.theta,
                fit.xi if fit.xi is not None else math.nan,
                fit.rho if fit.rho is not None else math.nan,
                naive.kappa,
                naive.theta if naive.theta is not None else math.nan,
                naive.xi,
                var.mean(),
            )
        )
    a = np.array(rows)
    med = np.nanmedian(a, axis=0)
    print(
        f"median: ARMA kappa {med[0]:.0f} theta {med[1]:.3f} xi {med[2]:.2f} rho {med[3]:.3f} | "
        f"naive OLS kappa {med[4]:.0f} ({med[4] / truth.kappa:.0f}x truth) theta {med[5]:.3f} "
        f"xi {med[6]:.1f} ({med[6] / truth.xi:.1f}x) | path mean variance {med[7]:.3f}"
    )
    print(f"{N_SEEDS} seeds simulated and fitted in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
