"""Fill-depth law: exponential vs power law vs lognormal, and the GLFT kappa and A.

A market maker quoting ``delta`` bps from mid is filled at rate ``lambda(delta)``, the rate of
aggressive orders that reach depth ``delta``. GLFT (Guéant, Lehalle & Fernandez-Tapia 2013)
assumes ``lambda(delta) = A exp(-kappa delta)``; this module tests that against a power law
and a lognormal on every depth the quotes can meet (the quoting support: the quote range and
beyond), always hands the trader a usable (kappa, A), and reports the Clauset, Shalizi &
Newman (2009) power-law tail test alongside (:mod:`calibration.fill_depth.tail`).

References
----------
Clauset, A., Shalizi, C. R. & Newman, M. E. J. (2009). Power-law distributions in empirical
data. SIAM Review 51(4), 661-703.
Vuong, Q. H. (1989). Likelihood ratio tests for model selection and non-nested hypotheses.
Econometrica 57(2), 307-333.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import special

from calibration.errors import CalibrationError
from calibration.fill_depth import bootstrap as db
from calibration.fill_depth import laws as dl
from calibration.fill_depth.book_depth import BookDepthFit
from calibration.fill_depth.results import (
    FillDepthFit,
    LawFit,
    PowerLawTail,
    VuongTest,
    log_lambda,
)
from calibration.fill_depth.tail import power_law_tail
from calibration.types import Float64Array

__all__ = [
    "MIN_TRADE_DEPTHS",
    "FillDepthFit",
    "FillDepthSides",
    "LawFit",
    "PowerLawTail",
    "SideFill",
    "VuongTest",
    "fit_fill_depth",
    "fit_fill_depth_sides",
    "power_law_tail",
]

MIN_TRADE_DEPTHS = 200  # fewer depths: no law fit; a side falls back to the book-depth kappa


# ----------------------------------------------------------------------------- fitting


def fit_fill_depth(
    depths_bps: npt.ArrayLike,
    *,
    n_boot: int = 200,
    seed: int = 0,
    window_s: float | None = None,
    quote_range_bps: tuple[float, float] = (0.5, 5.0),
    min_tail: int = 50,
    xmin_bps: float | None = None,
    n_xmin: int | None = 50,
    ci_level: float = 0.95,
    p_plausible: float = 0.1,
    p_reject: float = 0.01,
    vuong_level: float = 0.1,
) -> FillDepthFit:
    """Choose the fill-depth law on the quoting support and fit the GLFT (kappa, A).

    Parameters
    ----------
    depths_bps : array
        Depths reached by aggressive orders, bps of mid, finite and >= 0 (at least
        ``MIN_TRADE_DEPTHS``); see :func:`calibration.fill_depth.book_depth.trade_depths_bps`.
    n_boot : int
        Bootstrap resamples for the K-S p-values of the three laws and of the CSN tail
        (0: none).
    seed : int
        Seed of the bootstrap generator.
    window_s : float, optional
        Length of the observation window, seconds; needed for A (rates per second).
    quote_range_bps : (lo, hi)
        Depths the trader quotes at, bps. ``lo`` is the lower end of the support the laws
        are fitted on; ``kappa_glft`` and ``A_glft`` are fitted over ``[lo, hi]``.
    min_tail : int
        Fewest depths on the support and in the CSN tail.
    xmin_bps : float, optional
        Fixed xmin of the CSN tail report (default: chosen by K-S).
    n_xmin : int or None
        xmin candidates of the CSN scan: a geometric grid of that many tail sizes down to
        ``min_tail``, or None for every distinct depth (CSN's scan; slow past ~20,000 depths
        with a bootstrap, which repeats the scan in each resample).
    ci_level : float
        Coverage of the intervals.
    p_plausible, p_reject, vuong_level : float
        Thresholds of the decision rule (Notes).

    Returns
    -------
    FillDepthFit

    Raises
    ------
    CalibrationError
        On NaN/inf/negative depths, fewer than ``MIN_TRADE_DEPTHS`` depths, or a support
        that cannot be fitted (all its depths equal). A CSN tail that cannot be fitted is
        recorded in ``tail_error`` instead.

    Notes
    -----
    **Support.** ``lo = quote_range_bps[0]``, raised to the smallest positive depth when
    every depth lies above it, lowered to the ``min_tail``-th largest depth when fewer than
    ``min_tail`` reach it. All three laws are fitted to every depth ``>= lo`` (exponential
    on ``depth - lo``, power law with ``xmin = lo``, lognormal truncated at ``lo``), so
    likelihoods and K-S distances compare. ``lo`` is not chosen by a fit, so the parametric
    bootstraps are exact: each law's resamples are drawn from the fitted law on the support,
    its parameters re-fitted and K-S recomputed; ``p = mean(KS_boot >= KS_obs)``. The K-S
    distance of an exponential from its fitted law is pivotal, so one set of resamples
    serves the exponential and the power law (``log(depth / lo)`` is exponential). A
    lognormal MLE on its power-law boundary (``at_boundary``) is the power law to 1e-6 over
    the data and takes the power law's p-value.

    **Decision rule** for ``best``:

    1. Candidates: the laws the bootstrap does not reject (p >= ``p_reject``); all three
       when it rejects every law (then ``best_plausible`` is False). So a rejected law is
       never chosen over one the bootstrap does not reject.
    2. Drop a candidate that a Vuong test against another candidate beats with
       p < ``vuong_level``.
    3. Take the fewest parameters (the lognormal has two); between the exponential and the
       power law (one each) the higher likelihood.

    The bootstrap is a veto at 1%, not a filter at 10%: at 10% it would reject the true law
    in one sample out of ten by construction, while the Vuong comparison is far more stable.
    ``best_plausible`` reports CSN's 10% plausibility of the chosen law.

    **GLFT.** ``lambda(delta) = n_support / window_s * S(delta)`` for ``delta >= lo``, S the
    chosen law's survival; below ``lo`` the empirical rate. When the exponential is chosen,
    ``kappa_glft, A_glft = kappa, A`` (its MLE on the support). Otherwise ``kappa_glft`` is
    the local exponential fit of the chosen law over the quote range: the least-squares
    line through ``log lambda(delta)`` over ``quote_range_bps``, slope ``-kappa_glft``,
    intercept ``log A_glft``.

    **kappa interval.** Wald on log kappa with the sandwich standard error (valid whether
    or not depths are exponential; the non-parametric bootstrap converges to it). It uses
    every depth on the support: on exponential depths it is ``1 / sqrt(P(depth >= lo))``
    times as wide as the maximum-likelihood interval of the whole sample.

    The CSN tail report (``tail``) is computed on all positive depths; it does not enter
    the choice.
    """
    x = _validated_depths(depths_bps)
    if n_boot < 0:
        raise CalibrationError(f"n_boot must be >= 0, got {n_boot}")
    if window_s is not None and not (math.isfinite(window_s) and window_s > 0.0):
        raise CalibrationError(f"window_s must be a positive number of seconds, got {window_s}")
    lo_q, hi_q = quote_range_bps
    if not (0.0 <= lo_q < hi_q):
        raise CalibrationError(f"quote_range_bps must satisfy 0 <= lo < hi, got {quote_range_bps}")
    if not (0.0 < ci_level < 1.0):
        raise CalibrationError(f"ci_level must be in (0, 1), got {ci_level}")
    if xmin_bps is not None and not (math.isfinite(xmin_bps) and xmin_bps > 0.0):
        raise CalibrationError(f"xmin_bps must be positive (the power law needs it), "
                               f"got {xmin_bps}")
    rng = np.random.default_rng(seed)
    n = x.size
    k, lo = _support_start(x, lo_q, min_tail)
    sup = x[k:]
    m = sup.size
    fits = dl.fit_truncated(sup, lo)

    p_vals: dict[str, float | None] = dict.fromkeys(dl.LAWS)
    if n_boot > 0:
        # a lognormal MLE on the power-law boundary is the power law: it takes its test
        boundary = fits.lognormal.at_boundary
        ks_exp_b, ks_ln_b = db.support_bootstrap(rng, n_boot, m,
                                                 None if boundary else fits.lognormal)
        p_vals["exponential"] = float(np.mean(ks_exp_b >= fits.ks["exponential"]))
        p_vals["power_law"] = float(np.mean(ks_exp_b >= fits.ks["power_law"]))
        p_vals["lognormal"] = (p_vals["power_law"] if ks_ln_b is None else
                               float(np.mean(ks_ln_b >= fits.ks["lognormal"])))
    laws = _law_fits(fits, p_vals, m)
    ll = fits.loglik
    vuong = tuple(VuongTest.from_pointwise(a, b, ll[a], ll[b]) for a, b in
                  (("exponential", "power_law"), ("exponential", "lognormal"),
                   ("power_law", "lognormal")))
    best = _choose(laws, vuong, p_reject=p_reject, vuong_level=vuong_level)
    best_p = laws[best].p_value
    best_plausible = None if best_p is None else bool(best_p >= p_plausible)

    # --- kappa, A and their intervals (exponential MLE on the support)
    kappa = fits.kappa
    excess = sup - lo
    kappa_stderr = kappa * kappa * float(excess.std()) / math.sqrt(m)
    z = float(special.ndtri((1.0 + ci_level) / 2.0))
    half = z * kappa_stderr / kappa
    kappa_ci = (kappa * math.exp(-half), kappa * math.exp(half))
    A = A_ci = None
    if window_s is not None:
        A = m / window_s * math.exp(kappa * lo)
        log_a_se = math.sqrt(1.0 / m + (lo * kappa_stderr) ** 2)
        A_ci = (A * math.exp(-z * log_a_se), A * math.exp(z * log_a_se))

    tail: PowerLawTail | None = None
    tail_error: str | None = None
    try:
        tail = power_law_tail(x, n_boot=n_boot, rng=rng, n_xmin=n_xmin, min_tail=min_tail,
                              xmin=xmin_bps, ci_level=ci_level)
    except CalibrationError as exc:
        tail_error = str(exc)

    fit = FillDepthFit(
        n_obs=n, support_min_bps=lo, n_support=m,
        exponential=laws["exponential"], power_law=laws["power_law"],
        lognormal=laws["lognormal"], vuong=vuong, best=best, best_plausible=best_plausible,
        kappa=kappa, kappa_stderr=kappa_stderr, kappa_ci=kappa_ci, A=A, A_ci=A_ci,
        kappa_glft=kappa, A_glft=A, quote_range_bps=(float(lo_q), float(hi_q)),
        window_s=window_s, n_boot=n_boot, tail=tail, tail_error=tail_error,
        _below_sorted=x[:k], _lognormal_ab=(fits.lognormal.a, fits.lognormal.b),
    )
    if best == "exponential":
        return fit
    kappa_g, log_a_g = _glft_line(fit, best)
    return _replace(fit, kappa_glft=kappa_g,
                    A_glft=None if window_s is None else math.exp(log_a_g))


def _support_start(x: Float64Array, lo_q: float, min_tail: int) -> tuple[int, float]:
    """Index and value of the support's lower end in the sorted depths (Notes)."""
    n = x.size
    pos = int(np.searchsorted(x, 0.0, side="right"))  # first positive depth
    if n - pos < min_tail:
        raise CalibrationError(f"only {n - pos} positive depths; need {min_tail} to fit a law")
    lo = max(lo_q, float(x[pos]))
    k = int(np.searchsorted(x, lo, side="left"))
    if n - k < min_tail:
        k = int(np.searchsorted(x, x[n - min_tail], side="left"))
        lo = float(x[k])
    return k, lo


def _replace(fit: FillDepthFit, **changes: Any) -> FillDepthFit:
    return dataclasses.replace(fit, **changes)


def _glft_line(fit: FillDepthFit, law: str, n_grid: int = 33) -> tuple[float, float]:
    """Least-squares line through log lambda(delta) over the quote range: (kappa, log A)."""
    lo, hi = fit.quote_range_bps
    delta = np.linspace(lo, hi, n_grid)
    log_lam = log_lambda(fit, law, delta)
    slope, intercept = np.polyfit(delta, log_lam, 1)
    return float(-slope), float(intercept)


def _validated_depths(depths_bps: npt.ArrayLike) -> Float64Array:
    x = np.asarray(depths_bps, dtype=np.float64)
    if x.ndim != 1:
        raise CalibrationError(f"depths_bps must be 1-D, got shape {x.shape}")
    bad = np.flatnonzero(~np.isfinite(x))
    if bad.size:
        raise CalibrationError(f"depths_bps has {bad.size} NaN/inf values; first at {bad[0]}")
    neg = np.flatnonzero(x < 0.0)
    if neg.size:
        raise CalibrationError(
            f"depths_bps has {neg.size} negative depths (first at index {neg[0]}: "
            f"{x[neg[0]]:.4g}); drop prints inside the prevailing mid before fitting"
        )
    if x.size < MIN_TRADE_DEPTHS:
        raise CalibrationError(
            f"{x.size} depths is too few (need {MIN_TRADE_DEPTHS}); "
            "use the book-depth kappa (book_depth_kappa) instead"
        )
    return np.sort(x)


def _law_fits(fits: dl.TruncatedFits, p_vals: dict[str, float | None], m: int
              ) -> dict[str, LawFit]:
    ln_p = fits.lognormal
    mu_se = sigma_se = None
    if not ln_p.at_boundary:
        info = dl.lognormal_info(m, ln_p, fits.t1)
        try:
            cov = np.linalg.inv(info)
            a, b = ln_p.a, ln_p.b
            jac = np.array([[b / (2 * a * a), -1.0 / (2 * a)], [-(2 * a) ** -1.5, 0.0]])
            cov_ms = jac @ cov @ jac.T
            if cov_ms[0, 0] > 0 and cov_ms[1, 1] > 0:
                mu_se, sigma_se = math.sqrt(cov_ms[0, 0]), math.sqrt(cov_ms[1, 1])
        except np.linalg.LinAlgError:
            pass
    ll = {law: float(v.sum()) for law, v in fits.loglik.items()}
    return {
        "exponential": LawFit(
            "exponential", {"kappa": fits.kappa}, {"kappa": fits.kappa / math.sqrt(m)},
            fits.ks["exponential"], p_vals["exponential"], ll["exponential"], 1,
        ),
        "power_law": LawFit(
            "power_law", {"alpha": 1.0 + fits.am1, "xmin": fits.lo},
            {"alpha": fits.am1 / math.sqrt(m), "xmin": None},
            fits.ks["power_law"], p_vals["power_law"], ll["power_law"], 1,
        ),
        "lognormal": LawFit(
            "lognormal",
            {"mu": None if ln_p.at_boundary else ln_p.mu(fits.lo),
             "sigma": None if ln_p.at_boundary else ln_p.sigma},
            {"mu": mu_se, "sigma": sigma_se},
            fits.ks["lognormal"], p_vals["lognormal"], ll["lognormal"], 2,
            at_boundary=ln_p.at_boundary,
        ),
    }


def _choose(
    laws: dict[str, LawFit], vuong: tuple[VuongTest, ...], *, p_reject: float,
    vuong_level: float,
) -> str:
    """The decision rule of :func:`fit_fill_depth` (Notes)."""
    not_rejected = [law for law in dl.LAWS
                    if laws[law].p_value is None or (laws[law].p_value or 0.0) >= p_reject]
    cands = not_rejected or list(dl.LAWS)
    beaten = {(v.law_b if v.log_ratio > 0 else v.law_a) for v in vuong
              if v.p_value < vuong_level and v.law_a in cands and v.law_b in cands}
    keep = [law for law in cands if law not in beaten] or cands
    fewest = min(laws[law].n_params for law in keep)
    keep = [law for law in keep if laws[law].n_params == fewest]
    return max(keep, key=lambda law: laws[law].loglik)


# ----------------------------------------------------------------------------- sides


@dataclass(frozen=True)
class SideFill:
    """Fill-rate parameters of one quote side, and where they came from.

    Attributes
    ----------
    side : str
        "ask" (filled by buy aggressors), "bid" (sell aggressors) or "pooled".
    source : str
        "trades" (law fit on trade depths) or "book" (book-depth kappa: fewer than
        ``MIN_TRADE_DEPTHS`` depths).
    n_obs : int
        Trade depths on this side.
    kappa, kappa_glft : float
        Per bps. ``kappa_ci`` only for source "trades".
    A, A_glft : float or None
        Per second.
    best : str or None
        Best law (source "trades").
    fit : FillDepthFit or None
    """

    side: str
    source: str
    n_obs: int
    kappa: float
    kappa_ci: tuple[float, float] | None
    A: float | None
    kappa_glft: float
    A_glft: float | None
    best: str | None
    fit: FillDepthFit | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "side": self.side, "source": self.source, "n_obs": self.n_obs,
            "kappa_per_bps": self.kappa,
            "kappa_ci": None if self.kappa_ci is None else list(self.kappa_ci),
            "A_per_s": self.A, "kappa_glft_per_bps": self.kappa_glft,
            "A_glft_per_s": self.A_glft, "best": self.best,
            "fit": None if self.fit is None else self.fit.to_dict(),
        }


@dataclass(frozen=True)
class FillDepthSides:
    """Per-side and pooled fill-depth fits (:func:`fit_fill_depth_sides`)."""

    bid: SideFill
    ask: SideFill
    pooled: SideFill

    def to_dict(self) -> dict[str, Any]:
        return {"bid": self.bid.to_dict(), "ask": self.ask.to_dict(),
                "pooled": self.pooled.to_dict()}


def fit_fill_depth_sides(
    depths_bps: npt.ArrayLike,
    sides: npt.ArrayLike,
    *,
    book: BookDepthFit | None = None,
    seed: int = 0,
    **fit_kwargs: Any,
) -> FillDepthSides:
    """Fit the fill-depth law separately for each quote side, and pooled.

    Parameters
    ----------
    depths_bps : array
        Order depths, bps (>= 0).
    sides : array of +1/-1
        Aggressor side of each depth: +1 buy orders fill the ask quote, -1 sell orders the bid.
    book : BookDepthFit, optional
        Fallback for a side with fewer than ``MIN_TRADE_DEPTHS`` depths; without it such a
        side raises.
    seed : int
        Bootstrap seed (sides use seed, seed + 1, seed + 2 for bid, ask, pooled).
    **fit_kwargs
        Passed to :func:`fit_fill_depth` (``n_boot``, ``window_s``, ``quote_range_bps``, ...).
    """
    x = np.asarray(depths_bps, dtype=np.float64)
    s = np.asarray(sides)
    if x.shape != s.shape or x.ndim != 1:
        raise CalibrationError("depths_bps and sides must be 1-D arrays of equal length")
    if not np.all(np.abs(s) == 1):
        raise CalibrationError("sides must be +1 (buy aggressor) or -1 (sell aggressor)")
    out = {}
    for i, (name, mask) in enumerate((("bid", s < 0), ("ask", s > 0),
                                      ("pooled", np.ones(x.size, dtype=bool)))):
        out[name] = _side_fill(name, x[mask], book, seed + i, fit_kwargs)
    return FillDepthSides(bid=out["bid"], ask=out["ask"], pooled=out["pooled"])


def _side_fill(
    name: str, x: Float64Array, book: BookDepthFit | None, seed: int, fit_kwargs: dict[str, Any]
) -> SideFill:
    if x.size >= MIN_TRADE_DEPTHS:
        fit = fit_fill_depth(x, seed=seed, **fit_kwargs)
        return SideFill(name, "trades", int(x.size), fit.kappa, fit.kappa_ci, fit.A,
                        fit.kappa_glft, fit.A_glft, fit.best, fit)
    if book is None:
        raise CalibrationError(
            f"{name} side has {x.size} depths (< {MIN_TRADE_DEPTHS}) and no book-depth fallback"
        )
    kappa = {"bid": book.kappa_bid, "ask": book.kappa_ask}.get(name, book.kappa)
    return SideFill(name, "book", int(x.size), kappa, None, book.A, kappa, book.A, None, None)
