"""Rates (selection rate, TPR, FPR) and their spreads (DPD, EOD) from group counts."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from ..errors import DegenerateDataWarning
from .counts import GroupCounts

__all__ = ["selection_rate", "tpr", "fpr", "dpd", "eod"]
_MAX_LISTED = 8


# --------------------------------------------------------------------------------------------
# Rates and spreads
# --------------------------------------------------------------------------------------------


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def selection_rate(counts: GroupCounts) -> np.ndarray:
    """Per-group selection rate ``PP_g / n_g`` (NaN for an empty group)."""
    return _ratio(counts.predicted_positives, counts.n)


def tpr(counts: GroupCounts) -> np.ndarray:
    """Per-group true positive rate ``TP_g / P_g`` (NaN for a group without positives)."""
    return _ratio(counts.true_positives, counts.positives)


def fpr(counts: GroupCounts) -> np.ndarray:
    """Per-group false positive rate ``FP_g / (n_g - P_g)`` (NaN for a group without negatives)."""
    return _ratio(counts.false_positives, counts.negatives)


def spread(rates: np.ndarray, *, min_groups: int = 2) -> np.ndarray:
    """``max - min`` over the last axis, ignoring NaN; NaN when fewer than two values remain.

    Always an array of the leading shape (0-d for a 1-D input)."""
    defined = ~np.isnan(rates)
    hi = np.where(defined, rates, -np.inf).max(axis=-1, initial=-np.inf)
    lo = np.where(defined, rates, np.inf).min(axis=-1, initial=np.inf)
    return np.where(defined.sum(axis=-1) >= min_groups, hi - lo, np.nan)


def to_overall(rates: np.ndarray, overall: np.ndarray) -> np.ndarray:
    """``max_g |rate_g - overall|`` over defined groups (fairlearn's ``method='to_overall'``)."""
    dev = np.abs(rates - np.asarray(overall)[..., None])
    defined = ~np.isnan(dev)
    return np.where(defined.any(axis=-1), np.where(defined, dev, -np.inf).max(axis=-1), np.nan)


def _names(names: Sequence[str] | None, k: int, prefix: str = "") -> list[str]:
    return [str(x) for x in names] if names is not None else [f"{prefix}{i}" for i in range(k)]


def listing(items: list[str]) -> str:
    shown = ", ".join(items[:_MAX_LISTED])
    return shown + (f" and {len(items) - _MAX_LISTED} more" if len(items) > _MAX_LISTED else "")


def undefined_message(
    undefined: np.ndarray,
    what: str,
    why: str,
    group_names: Sequence[str] | None,
    class_names: Sequence[str] | None,
    context: str,
) -> str | None:
    """Describe groups (per class when there is a class axis) whose rate is undefined."""
    if not undefined.any():
        return None
    gnames = _names(group_names, undefined.shape[-1])
    if undefined.ndim >= 2 and class_names is not None:
        # collapse seeds (and any other leading axes) onto (class, group)
        u = np.asarray(undefined.reshape(-1, *undefined.shape[-2:]).any(axis=0))
        cnames = _names(class_names, u.shape[0])
        per_group = []
        for g in np.flatnonzero(u.any(axis=0)):
            cls = [cnames[c] for c in np.flatnonzero(u[:, g])]
            per_group.append(
                f"'{gnames[g]}' (class {listing(cls)})"
                if len(cls) < u.shape[0]
                else f"'{gnames[g]}' (every class)"
            )
        listed = listing(per_group)
    else:
        u = np.asarray(undefined.reshape(-1, undefined.shape[-1]).any(axis=0))
        listed = listing([f"'{gnames[g]}'" for g in np.flatnonzero(u)])
    return f"{context}{what} undefined for group {listed} ({why}); excluded from the {what} spread"


def warn_messages(messages: Sequence[str | None], stacklevel: int) -> None:
    text = "; ".join(m for m in messages if m)
    if text:
        warnings.warn(text, DegenerateDataWarning, stacklevel=stacklevel + 1)


def spread_nan_message(values: np.ndarray, what: str, context: str) -> str | None:
    if np.isnan(values).any():
        return f"{context}{what} is NaN: fewer than two groups have a defined rate"
    return None


def dpd(
    counts: GroupCounts,
    *,
    group_names: Sequence[str] | None = None,
    class_names: Sequence[str] | None = None,
) -> np.ndarray:
    """Demographic parity difference from counts: ``max_g SR_g - min_g SR_g``.

    Ideal value 0. Empty groups (``n_g = 0``) are excluded with a
    :class:`DegenerateDataWarning`; fewer than two non-empty groups give NaN.

    Parameters
    ----------
    counts : GroupCounts
        Last axis = groups.
    group_names, class_names : sequence of str, optional
        Used in warning messages only.

    Returns
    -------
    ndarray of float
        The leading shape of ``counts`` (0-d for 1-D counts: ``float(dpd(c))`` is the number),
        whatever the input's shape.

    Examples
    --------
    >>> from kdbias_audit.fairness import group_counts
    >>> float(dpd(group_counts([0, 0, 0, 0], [1, 0, 1, 1], [0, 0, 1, 1], 2)))
    0.5
    """
    sr = selection_rate(counts)
    msg = undefined_message(
        np.isnan(sr), "selection rate", "no samples", group_names, class_names, ""
    )
    out = spread(sr)
    warn_messages([msg, spread_nan_message(out, "DPD", "")], stacklevel=2)
    return out


def eod_parts(counts: GroupCounts) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    t, f = tpr(counts), fpr(counts)
    return t, f, np.asarray(spread(t)), np.asarray(spread(f))


def combine_eod(tpr_spread: np.ndarray, fpr_spread: np.ndarray) -> np.ndarray:
    # NaN when either spread is undefined (max() of a NaN is not taken as the other value).
    return np.where(
        np.isnan(tpr_spread) | np.isnan(fpr_spread), np.nan, np.fmax(tpr_spread, fpr_spread)
    )


def eod_messages(
    t: np.ndarray,
    f: np.ndarray,
    eod_values: np.ndarray,
    group_names: Sequence[str] | None,
    class_names: Sequence[str] | None,
    context: str = "",
) -> list[str | None]:
    return [
        undefined_message(np.isnan(t), "TPR", "no positives", group_names, class_names, context),
        undefined_message(np.isnan(f), "FPR", "no negatives", group_names, class_names, context),
        spread_nan_message(eod_values, "EOD", context),
    ]


def eod(
    counts: GroupCounts,
    *,
    group_names: Sequence[str] | None = None,
    class_names: Sequence[str] | None = None,
) -> np.ndarray:
    """Equalized odds difference from counts: ``max(TPR spread, FPR spread)``.

    ``TPR spread = max_g TPR_g - min_g TPR_g`` over groups with positives and
    ``FPR spread = max_g FPR_g - min_g FPR_g`` over groups with negatives. Ideal value 0.
    Groups without positives (negatives) are excluded from the TPR (FPR) spread with a
    :class:`DegenerateDataWarning` naming them; a spread over fewer than two groups is NaN,
    and then EOD is NaN.

    Returns
    -------
    ndarray of float
        The leading shape of ``counts`` (0-d for 1-D counts), whatever the input's shape.

    Examples
    --------
    >>> from kdbias_audit.fairness import group_counts
    >>> float(eod(group_counts([1, 0, 1, 0], [1, 0, 0, 0], [0, 0, 1, 1], 2)))
    1.0
    """
    t, f, ts, fs = eod_parts(counts)
    out = combine_eod(ts, fs)
    warn_messages(eod_messages(t, f, out, group_names, class_names), stacklevel=2)
    return np.asarray(out, dtype=float)
