"""Benchmark: fill-depth law fits with 200 bootstrap resamples at 100,000 depths.

Times ``calibration.fill_depth.fit_fill_depth`` (K-S + parametric-bootstrap p-values for the
exponential, power law with xmin re-selected in every resample, and lognormal) on 100,000
depths drawn from each law, with a per-law breakdown, and compares the power-law estimate
with the ``powerlaw`` package (Alstott et al. 2014) on subsamples: its xmin scan is
quadratic in n, so it is timed at 5,000 and 20,000 depths and extrapolated.

Run: ``.venv/bin/python bench/bench_fill_depth.py``
"""

from __future__ import annotations

import os
import time
import warnings

import numpy as np

from calibration.fill_depth import bootstrap as db
from calibration.fill_depth import fit_fill_depth
from calibration.fill_depth import laws as dl

N = 100_000
N_BOOT = 200
SEED = 20240808
PEER_SIZES = (5_000, 20_000)


def samples(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {
        "exponential (kappa=0.8/bps)": rng.exponential(1.0 / 0.8, N),
        "power law (alpha=2.5, xmin=0.5)": 0.5 * (1.0 - rng.random(N)) ** (-1.0 / 1.5),
        "lognormal (mu=0, sigma=1)": rng.lognormal(0.0, 1.0, N),
    }


def per_law_seconds(x: np.ndarray) -> dict[str, float]:
    """Point estimate + 200-resample K-S bootstrap of each law alone, on the common tail."""
    rng = np.random.default_rng(0)
    xs = np.sort(x)
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    scan = dl.power_law_scan(xs, n_xmin=50, tail_frac_min=0.1, min_tail=50)
    db.power_law_bootstrap(xs, scan, rng=rng, n_boot=N_BOOT, rescan=True, n_xmin=50,
                           tail_frac_min=0.1, min_tail=50)
    out["power_law"] = time.perf_counter() - t0
    tail = xs[scan.start:]
    t0 = time.perf_counter()
    excess = tail - scan.xmin
    kappa = excess.size / float(excess.sum())
    dl.ks_sorted(-np.expm1(-kappa * excess))
    db.exp_family_bootstrap(rng, N_BOOT, excess.size, kappa)
    db.kappa_bootstrap(rng, N_BOOT, excess)
    out["exponential"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    t = np.log(tail / scan.xmin)
    p = dl.lognormal_fit(float(t.mean()), float(np.mean(t * t)), t.size)
    dl.ks_sorted(-np.expm1(dl.lognormal_log_sf(t, p.a, p.b)))
    db.lognormal_bootstrap(rng, N_BOOT, t.size, p)
    out["lognormal"] = time.perf_counter() - t0
    return out


def main() -> None:
    print(f"bench_fill_depth: n={N:,} depths, n_boot={N_BOOT}, cpus={os.cpu_count()}")
    rng = np.random.default_rng(SEED)
    t0 = time.perf_counter()
    fit_fill_depth(rng.exponential(1.0, 1000), n_boot=4)  # numba JIT / cache load
    print(f"warm-up (numba compile or cache load): {time.perf_counter() - t0:.2f} s\n")

    data = samples(rng)
    print(f"{'sample':34s} {'exp s':>7s} {'pl s':>7s} {'ln s':>7s} {'sum s':>7s} "
          f"{'fit s':>7s}  best        p(exp, pl, ln)        n_tail")
    for name, x in data.items():
        parts = per_law_seconds(x)
        t0 = time.perf_counter()
        fit = fit_fill_depth(x, n_boot=N_BOOT, seed=1)
        total = time.perf_counter() - t0
        p = tuple(fit.laws[k].p_value for k in dl.LAWS)
        print(f"{name:34s} {parts['exponential']:7.2f} {parts['power_law']:7.2f} "
              f"{parts['lognormal']:7.2f} {sum(parts.values()):7.2f} {total:7.2f}  "
              f"{fit.best:11s} ({p[0]:.2f}, {p[1]:.2f}, {p[2]:.2f})   {fit.n_tail:,}")
    print("  (per-law columns: that law's fit + K-S + 200-resample bootstrap; 'fit s' is the"
          " whole fit_fill_depth call incl. Vuong tests and the kappa interval)\n")

    try:
        import powerlaw
    except ImportError:
        print("powerlaw package not installed: peer comparison skipped")
        return
    x_pl = data["power law (alpha=2.5, xmin=0.5)"]
    print("peer: powerlaw.Fit(data) (xmin over every unique value, continuous MLE)")
    print(f"{'n':>7s} {'powerlaw s':>11s} {'alpha':>7s} {'xmin':>7s} | {'ours s':>7s} "
          f"{'alpha':>7s} {'+-se':>6s} {'xmin':>7s} | ours+200 boot s")
    peer_s = {}
    for n in PEER_SIZES:
        sub = x_pl[:n]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            peer = powerlaw.Fit(sub, verbose=False)
            peer_s[n] = time.perf_counter() - t0
        t0 = time.perf_counter()
        ours = fit_fill_depth(sub, n_boot=0)
        ours_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        fit_fill_depth(sub, n_boot=N_BOOT)
        ours_boot_s = time.perf_counter() - t0
        print(f"{n:7,d} {peer_s[n]:11.2f} {peer.alpha:7.3f} {peer.xmin:7.3f} | {ours_s:7.3f} "
              f"{ours.power_law.params['alpha']:7.3f} {ours.power_law.stderr['alpha']:6.3f} "
              f"{ours.xmin:7.3f} | {ours_boot_s:7.2f}")
    n_big = PEER_SIZES[-1]
    extrap = peer_s[n_big] * (N / n_big) ** 2
    print(f"powerlaw at n={N:,}, extrapolated quadratically from n={n_big:,}: {extrap:,.0f} s "
          f"for one fit; a CSN bootstrap p-value (fit repeated on {N_BOOT} resamples) would be "
          f"~{extrap * (N_BOOT + 1) / 3600:,.0f} h")

    # powerlaw's default parameter_range silently caps alpha at 3
    steep = 0.5 * (1.0 - np.random.default_rng(1).random(5000)) ** (-1.0 / 3.0)  # alpha = 4
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peer = powerlaw.Fit(steep, verbose=False)
    ours = fit_fill_depth(steep, n_boot=0)
    print(f"alpha=4 sample (n=5,000): powerlaw alpha={peer.alpha:.3f} xmin={peer.xmin:.3f}; "
          f"ours alpha={ours.power_law.params['alpha']:.3f} "
          f"+- {ours.power_law.stderr['alpha']:.3f} xmin={ours.xmin:.3f}")
    print(f"\ndone: three laws x {N_BOOT} resamples x {N:,} depths per fit "
          f"(target < 5 s on {os.cpu_count()} cpus); see 'fit s' above")


if __name__ == "__main__":
    main()
