"""Plain-Python reference of the GLFT closed form, the twin the jitted kernel is tested to.

Written straight from the paper's formulas with :mod:`math`, with none of the kernel's
numerical care (series for small ``gamma/kappa``) or adjustments, so a test can compare
the kernel with every adjustment switched off against it.
"""

from __future__ import annotations

import math

__all__ = ["glft_depths_reference"]


def glft_depths_reference(
    q: float, gamma: float, kappa: float, a: float, sigma: float
) -> tuple[float, float]:
    """Bid and ask depths (bps from the centre) of the GLFT asymptotic closed form.

    Parameters
    ----------
    q : float
        Inventory in order sizes (signed).
    gamma : float
        Risk aversion per bps per order size, >= 0; 0 is the limit ``c1 = 1/kappa``,
        ``c2 = 0``.
    kappa, a, sigma : float
        Fill-intensity decay (per bps), intensity at zero depth (per s) and volatility
        (bps per sqrt(s)) of the side; pass each side's own values and read the matching
        element of the result.

    Returns
    -------
    tuple of float
        ``(bid_depth_bps, ask_depth_bps)``.

    Notes
    -----
    Guéant, Lehalle and Fernandez-Tapia (2013), section 5, unit order size::

        c1 = (1/gamma) ln(1 + gamma/kappa)
        c2 = sqrt(gamma / (2 A kappa) * (1 + gamma/kappa) ** (1 + kappa/gamma))
        bid = c1 + (2q + 1)/2 sigma c2,   ask = c1 - (2q - 1)/2 sigma c2
    """
    if gamma == 0.0:
        c1, c2 = 1.0 / kappa, 0.0
    else:
        c1 = math.log(1.0 + gamma / kappa) / gamma
        c2 = math.sqrt(gamma / (2.0 * a * kappa) * (1.0 + gamma / kappa) ** (1.0 + kappa / gamma))
    return c1 + (2.0 * q + 1.0) / 2.0 * sigma * c2, c1 - (2.0 * q - 1.0) / 2.0 * sigma * c2
