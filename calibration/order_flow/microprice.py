"""Micro-price: a short-horizon fair price from book imbalance, flow and jumps, by ridge.

The fair price is ``mid * (1 + E[mid change over horizon | features] / 1e4)`` with the
expectation a ridge regression fitted on the first part of the sample and scored on the
rest. When the out-of-sample R^2 (against the mid itself, i.e. a zero-change forecast)
is below a floor, the fit says so (``use_fallback``) and ``fair_price`` returns the mid.
Stoikov's non-parametric micro-price is in ``calibration.order_flow.stoikov``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import statsmodels.api as sm
from sklearn.linear_model import Ridge, RidgeCV
from sklearn.model_selection import TimeSeriesSplit
from statsmodels.stats.outliers_influence import variance_inflation_factor

from calibration.common.asof import BPS, as_float_array, as_sorted_ns, trailing_realized_vol
from calibration.common.newey_west import hac_mean, newey_west_rule_lags
from calibration.errors import CalibrationError
from calibration.order_flow.microprice_features import (
    book_imbalance,
    flow_imbalance,
    sample_book,
    validate_book,
)
from calibration.types import Float64Array

__all__ = ["DEFAULT_ALPHAS", "MicropriceFit", "fit_microprice"]

#: Ridge penalties searched, on standardised features (sklearn's ``alpha``).
DEFAULT_ALPHAS: tuple[float, ...] = tuple(float(a) for a in np.logspace(-3, 5, 33))
#: A regime fit needs this many samples per coefficient.
_MIN_SAMPLES_PER_COEF = 10


def _opt(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


@dataclass(frozen=True)
class MicropriceFit:
    """Ridge micro-price fit, its diagnostics and the fallback decision.

    Attributes
    ----------
    feature_names : tuple of str
        ``imbalance_l{k}`` (book imbalance over the best k levels, in [-1, 1]),
        ``flow_imbalance`` (signed/gross aggressor volume over the trailing window) and
        ``jump_sign`` (+1/-1/0), as available.
    coef_bps : tuple of float
        Ridge coefficients, bps of mid change per unit of each feature.
    intercept_bps : float
        Ridge intercept, bps.
    alpha : float
        Penalty chosen by time-series cross-validation (on standardised features).
    ols_coef_bps, ols_coef_stderr_bps : tuple of float (errors: float or None)
        Unpenalised OLS coefficients on the training sample and their Newey-West errors
        (lag = samples per horizon + the Newey-West rule), for inference on the signs;
        None where an error is not finite (a singular design).
    condition_number : float or None
        Condition number of the standardised training design (None if infinite).
    vif : tuple of float or None
        Variance inflation factor of each feature (statsmodels; None if infinite).
    regime_edges_bps_per_sqrt_s : tuple of float
        Trailing-realised-vol edges of the regimes (training quantiles), bps/sqrt(s).
    regime_coef_bps : tuple of (tuple of float) or None
        Ridge coefficients (same alpha) per regime, calm first; None when too few samples.
    regime_n_obs : tuple of int
        Training samples per regime.
    in_sample_r2, oos_r2 : float
        ``1 - SSE / sum(y^2)`` on the training and held-out samples: R^2 against the mid
        (a zero-change forecast), not against the held-out mean.
    oos_r2_stderr : float
        Newey-West error of ``oos_r2`` (delta method on the mean loss differential).
    r2_floor : float
        Below this ``oos_r2`` the fit falls back to the mid.
    use_fallback : bool
        True when ``oos_r2 < r2_floor``: ``fair_price`` then returns the mid.
    n_obs, n_train, n_test : int
        Samples in all, in the training part, in the held-out tail.
    horizon_s, sample_interval_s, flow_window_s : float or None
        Target horizon, sampling step and flow window, seconds.
    dropped_features : tuple of str
        Candidate features dropped for having no variation in the training sample.
    """

    feature_names: tuple[str, ...]
    coef_bps: tuple[float, ...]
    intercept_bps: float
    alpha: float
    ols_coef_bps: tuple[float, ...]
    ols_coef_stderr_bps: tuple[float | None, ...]
    condition_number: float | None
    vif: tuple[float | None, ...]
    regime_edges_bps_per_sqrt_s: tuple[float, ...]
    regime_coef_bps: tuple[tuple[float, ...] | None, ...]
    regime_n_obs: tuple[int, ...]
    in_sample_r2: float
    oos_r2: float
    oos_r2_stderr: float
    r2_floor: float
    use_fallback: bool
    n_obs: int
    n_train: int
    n_test: int
    horizon_s: float
    sample_interval_s: float | None
    flow_window_s: float | None
    dropped_features: tuple[str, ...]

    def predict_bps(self, features: npt.ArrayLike) -> Float64Array:
        """Expected mid change over the horizon, bps, for rows of ``features``.

        Columns in the order of ``feature_names``. Zero everywhere when ``use_fallback``.
        """
        x = np.atleast_2d(np.asarray(features, dtype=np.float64))
        if x.shape[1] != len(self.feature_names):
            raise CalibrationError(
                f"expected {len(self.feature_names)} feature columns {self.feature_names}, "
                f"got {x.shape[1]}"
            )
        if self.use_fallback:
            return np.zeros(x.shape[0])
        return np.asarray(self.intercept_bps + x @ np.asarray(self.coef_bps), dtype=np.float64)

    def features(
        self,
        bid_sz: npt.ArrayLike,
        ask_sz: npt.ArrayLike,
        *,
        flow_imbalance: npt.ArrayLike | None = None,
        jump_sign: npt.ArrayLike | None = None,
    ) -> Float64Array:
        """Feature matrix in ``feature_names`` order from book sizes (rows x levels)."""
        bs = np.atleast_2d(np.asarray(bid_sz, dtype=np.float64))
        az = np.atleast_2d(np.asarray(ask_sz, dtype=np.float64))
        cols: list[Float64Array] = []
        for name in self.feature_names:
            if name.startswith("imbalance_l"):
                cols.append(book_imbalance(bs, az, int(name.removeprefix("imbalance_l"))))
            elif name == "flow_imbalance":
                if flow_imbalance is None:
                    raise CalibrationError("this fit uses flow_imbalance; pass it")
                cols.append(np.broadcast_to(np.asarray(flow_imbalance, float), (bs.shape[0],)))
            elif name == "jump_sign":
                if jump_sign is None:
                    raise CalibrationError("this fit uses jump_sign; pass it")
                cols.append(np.broadcast_to(np.asarray(jump_sign, float), (bs.shape[0],)))
        return np.column_stack(cols) if cols else np.zeros((bs.shape[0], 0))

    def fair_price(
        self,
        bid_px: npt.ArrayLike,
        bid_sz: npt.ArrayLike,
        ask_px: npt.ArrayLike,
        ask_sz: npt.ArrayLike,
        *,
        flow_imbalance: npt.ArrayLike | None = None,
        jump_sign: npt.ArrayLike | None = None,
    ) -> Float64Array:
        """Fair price per snapshot (price units): the mid moved by the predicted change.

        Returns the mid itself when ``use_fallback``. Book arrays are (rows, levels) or one
        snapshot's levels.
        """
        bp = np.atleast_2d(np.asarray(bid_px, dtype=np.float64))
        ap = np.atleast_2d(np.asarray(ask_px, dtype=np.float64))
        mid = 0.5 * (bp[:, 0] + ap[:, 0])
        if self.use_fallback:
            return mid
        x = self.features(bid_sz, ask_sz, flow_imbalance=flow_imbalance, jump_sign=jump_sign)
        return np.asarray(mid * (1.0 + self.predict_bps(x) / BPS), dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable plain-Python view."""
        out: dict[str, Any] = {}
        for key in self.__dataclass_fields__:
            value = getattr(self, key)
            if key == "regime_coef_bps":
                value = [None if c is None else list(c) for c in value]
            elif isinstance(value, tuple):
                value = list(value)
            out[key] = value
        return out


def _r2_vs_zero(y: Float64Array, pred: Float64Array) -> float:
    denom = float(np.sum(y * y))
    if denom <= 0.0:
        raise CalibrationError("the mid never moved over the horizon in this sample")
    return 1.0 - float(np.sum((y - pred) ** 2)) / denom


def fit_microprice(
    book_ts_ns: npt.ArrayLike,
    bid_px: npt.ArrayLike,
    bid_sz: npt.ArrayLike,
    ask_px: npt.ArrayLike,
    ask_sz: npt.ArrayLike,
    *,
    trade_ts_ns: npt.ArrayLike | None = None,
    trade_side: npt.ArrayLike | None = None,
    trade_size: npt.ArrayLike | None = None,
    jump_sign: npt.ArrayLike | None = None,
    levels: tuple[int, ...] = (1, 3, 5),
    horizon_s: float = 0.3,
    sample_interval_s: float | None = 0.1,
    flow_window_s: float = 1.0,
    test_fraction: float = 0.3,
    r2_floor: float = 0.01,
    alphas: tuple[float, ...] = DEFAULT_ALPHAS,
    n_splits: int = 5,
    n_vol_regimes: int = 3,
    vol_window_s: float = 30.0,
    target_ts_ns: npt.ArrayLike | None = None,
    target_mid: npt.ArrayLike | None = None,
) -> MicropriceFit:
    """Fit the ridge micro-price on book snapshots (and optionally trades and jumps).

    Parameters
    ----------
    book_ts_ns : array of int64
        Snapshot times, ns, sorted.
    bid_px, bid_sz, ask_px, ask_sz : array
        Book levels, shape (n_snapshots, n_levels) best first, or 1-D for the top only.
    trade_ts_ns, trade_side, trade_size : array, optional
        Trades (ns sorted; +1 buy / -1 sell aggressor; size > 0) for the flow feature.
    jump_sign : array, optional
        Sign of the most recent large mid move (+1, -1, 0), one per snapshot.
    levels : tuple of int
        Book-imbalance depths, one feature each (levels beyond the book are skipped).
    horizon_s : float
        Forecast horizon, seconds.
    sample_interval_s : float or None
        Sampling grid step, seconds (None samples at every snapshot).
    flow_window_s : float
        Trailing window of the flow imbalance, seconds.
    test_fraction : float
        Share of samples, at the end, held out for the out-of-sample R^2.
    r2_floor : float
        Minimum out-of-sample R^2 for the fit to be used instead of the mid.
    alphas : tuple of float
        Ridge penalties searched by ``TimeSeriesSplit`` cross-validation on the training
        part, with a gap of one horizon between train and validation folds.
    n_splits : int
        Cross-validation folds.
    n_vol_regimes : int
        Realised-vol quantile regimes for the per-regime coefficients.
    vol_window_s : float
        Trailing window of the regime volatility, seconds.
    target_ts_ns, target_mid : array, optional
        A finer mid series (ns sorted; price units), e.g. the bbo, from which the forward
        mid change is read instead of the snapshots' own mid.

    Returns
    -------
    MicropriceFit

    Raises
    ------
    CalibrationError
        On malformed inputs, too few samples (< 50 training, < 20 held out), no usable
        feature, or a mid that never moves.

    Notes
    -----
    Features are standardised on the training part before the ridge, and the coefficients
    are mapped back to bps per unit of the raw feature. The targets of consecutive samples
    overlap when the step is shorter than the horizon, hence the CV gap and the HAC errors.
    """
    book = validate_book(book_ts_ns, bid_px, bid_sz, ask_px, ask_sz)
    if not 0.0 < test_fraction < 1.0:
        raise CalibrationError(f"test_fraction must be in (0, 1), got {test_fraction}")
    fine = None
    if target_ts_ns is not None or target_mid is not None:
        if target_ts_ns is None or target_mid is None:
            raise CalibrationError("target_ts_ns and target_mid go together")
        fine_ts = as_sorted_ns("target_ts_ns", target_ts_ns)
        fine_mid = as_float_array("target_mid", target_mid, fine_ts.size)
        if fine_ts.size < 2 or not np.all(fine_mid > 0):
            raise CalibrationError("target_mid needs at least 2 positive prices")
        fine = (fine_ts, fine_mid)
    sampled = sample_book(book, horizon_s, sample_interval_s, fine)
    n_obs = int(sampled.ts_ns.size)
    n_test = round(test_fraction * n_obs)
    n_train = n_obs - n_test
    if n_train < 50 or n_test < 20:
        raise CalibrationError(
            f"{n_obs} samples give {n_train} training and {n_test} held-out; need 50 and 20"
        )
    names: list[str] = []
    cols: list[Float64Array] = []
    bs, az = book.bid_sz[sampled.row], book.ask_sz[sampled.row]
    for k in sorted(set(levels)):
        if 1 <= k <= book.n_levels:
            names.append(f"imbalance_l{k}")
            cols.append(book_imbalance(bs, az, k))
    if trade_ts_ns is not None:
        if trade_side is None or trade_size is None:
            raise CalibrationError("trade_ts_ns needs trade_side and trade_size")
        t_ns = as_sorted_ns("trade_ts_ns", trade_ts_ns)
        side = as_float_array("trade_side", trade_side, t_ns.size)
        size = as_float_array("trade_size", trade_size, t_ns.size)
        names.append("flow_imbalance")
        cols.append(flow_imbalance(sampled.ts_ns, t_ns, side, size, flow_window_s))
    if jump_sign is not None:
        names.append("jump_sign")
        cols.append(as_float_array("jump_sign", jump_sign, book.ts_ns.size)[sampled.row])
    if not cols:
        raise CalibrationError(
            f"no usable feature: levels {levels} vs a {book.n_levels}-level book"
        )
    x_all = np.column_stack(cols)
    y = sampled.target_bps
    train = slice(0, n_train)
    keep = np.std(x_all[train], axis=0) > 0
    dropped = tuple(n for n, k in zip(names, keep, strict=True) if not k)
    if not keep.any():
        raise CalibrationError("every feature is constant over the training sample")
    names = [n for n, k in zip(names, keep, strict=True) if k]
    x_all = x_all[:, keep]
    x_tr, y_tr = x_all[train], y[train]
    x_te, y_te = x_all[n_train:], y[n_train:]
    if float(np.sum(y_tr * y_tr)) <= 0.0:
        raise CalibrationError("the mid never moved over the horizon in the training sample")

    step_s = horizon_s if sample_interval_s is None else sample_interval_s
    overlap = max(math.ceil(horizon_s / step_s), 1)
    mu, sd = x_tr.mean(axis=0), x_tr.std(axis=0)
    z_tr = (x_tr - mu) / sd
    cv = TimeSeriesSplit(n_splits=n_splits, gap=overlap)
    ridge = RidgeCV(alphas=alphas, cv=cv).fit(z_tr, y_tr)
    alpha = float(ridge.alpha_)
    coef = np.asarray(ridge.coef_, dtype=np.float64) / sd
    intercept = float(ridge.intercept_) - float(np.sum(coef * mu))
    pred_tr = intercept + x_tr @ coef
    pred_te = intercept + x_te @ coef
    in_r2 = _r2_vs_zero(y_tr, pred_tr)
    oos_r2 = _r2_vs_zero(y_te, pred_te)
    # R^2 = mean(y^2 - e^2) / mean(y^2): HAC error of the numerator, denominator fixed
    n_lags = overlap + newey_west_rule_lags(n_test)
    _, gain_se = hac_mean(y_te**2 - (y_te - pred_te) ** 2, n_lags)
    oos_se = gain_se / float(np.mean(y_te**2))

    design = sm.add_constant(x_tr, has_constant="add")
    ols = sm.OLS(y_tr, design).fit(
        cov_type="HAC", cov_kwds={"maxlags": overlap + newey_west_rule_lags(n_train)}
    )
    vif: list[float | None] = []
    for j in range(len(names)):
        value = float(variance_inflation_factor(design, j + 1)) if len(names) > 1 else 1.0
        vif.append(_opt(value))

    vol = trailing_realized_vol(book.ts_ns, book.mid, sampled.ts_ns, vol_window_s)
    vol_tr = vol[train]
    edges: Float64Array = np.zeros(0)
    regime_coef: list[tuple[float, ...] | None] = []
    regime_n: list[int] = []
    if np.isfinite(vol_tr).sum() >= n_vol_regimes:
        edges = np.unique(np.quantile(vol_tr[np.isfinite(vol_tr)],
                                      np.linspace(0, 1, n_vol_regimes + 1)))
        regime = np.searchsorted(edges[1:-1], vol_tr, side="right")
        regime[~np.isfinite(vol_tr)] = -1
        for r in range(edges.size - 1):
            sel = regime == r
            regime_n.append(int(sel.sum()))
            if sel.sum() < _MIN_SAMPLES_PER_COEF * (len(names) + 1):
                regime_coef.append(None)
                continue
            fit_r = Ridge(alpha=alpha).fit(z_tr[sel], y_tr[sel])
            regime_coef.append(tuple(float(c) for c in np.asarray(fit_r.coef_) / sd))

    return MicropriceFit(
        feature_names=tuple(names),
        coef_bps=tuple(float(c) for c in coef),
        intercept_bps=intercept,
        alpha=alpha,
        ols_coef_bps=tuple(float(c) for c in np.asarray(ols.params)[1:]),
        ols_coef_stderr_bps=tuple(_opt(float(c)) for c in np.asarray(ols.bse)[1:]),
        condition_number=_opt(float(np.linalg.cond(z_tr))),
        vif=tuple(vif),
        regime_edges_bps_per_sqrt_s=tuple(float(e) for e in edges),
        regime_coef_bps=tuple(regime_coef),
        regime_n_obs=tuple(regime_n),
        in_sample_r2=in_r2,
        oos_r2=oos_r2,
        oos_r2_stderr=float(oos_se),
        r2_floor=float(r2_floor),
        use_fallback=bool(oos_r2 < r2_floor),
        n_obs=n_obs,
        n_train=n_train,
        n_test=n_test,
        horizon_s=float(horizon_s),
        sample_interval_s=None if sample_interval_s is None else float(sample_interval_s),
        flow_window_s=float(flow_window_s) if trade_ts_ns is not None else None,
        dropped_features=dropped,
    )
