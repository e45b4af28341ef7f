"""Multiple-testing corrections."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["benjamini_hochberg"]


def benjamini_hochberg(pvalues: Any) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values); NaN entries are left out and stay NaN.

    .. math:: q_{(i)} = \\min_{k \\ge i} \\min(1, p_{(k)} m / k)

    over the ``m`` finite p-values sorted ascending. Equals
    ``scipy.stats.false_discovery_control(p, method="bh")`` on the finite entries.
    """
    p = np.asarray(pvalues, dtype=float)
    q = np.full(p.shape, np.nan)
    finite = np.isfinite(p)
    m = int(finite.sum())
    if m == 0:
        return q
    pf = p[finite]
    order = np.argsort(pf, kind="stable")
    ranked = pf[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.clip(adjusted, 0.0, 1.0)
    q[finite] = out
    return q
