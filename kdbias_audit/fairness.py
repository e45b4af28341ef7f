"""Group fairness from saved predictions: counts, rates, DPD and EOD, across seeds.

Counts first, rates second: one ``np.bincount`` turns ``(y_true, y_pred, groups)`` into per-group
counts (:class:`GroupCounts`); every rate and spread below is a short function of those counts.

Definitions (per seed; groups ``g`` of one sensitive attribute, positive class ``p``):

* selection rate ``SR_g = P(pred = p | g)``
* true positive rate ``TPR_g = P(pred = p | y = p, g)``, undefined when ``g`` has no positives
* false positive rate ``FPR_g = P(pred = p | y != p, g)``, undefined when ``g`` has no negatives
* ``DPD = max_g SR_g - min_g SR_g``
* ``EOD = max(max_g TPR_g - min_g TPR_g, max_g FPR_g - min_g FPR_g)``

A group whose rate is undefined is excluded from that spread and reported with a
:class:`~kdbias_audit._errors.DegenerateDataWarning`; a spread over fewer than two groups is
NaN. fairlearn instead counts such a rate as 0 (see ``docs/fairness.md``); the values agree
whenever every group has positives and negatives.

Multi-class tasks use one-vs-rest per class ``c`` (``y == c`` vs ``pred == c``) and the mean
over classes (Algorithm 1 of the paper); the per-class values are kept. Across seeds: the mean
and the sample standard deviation (``ddof=1``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ._errors import DegenerateDataWarning, KDAuditError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .io import RunSet

__all__ = [
    "GroupCounts",
    "group_counts",
    "one_vs_rest_counts",
    "selection_rate",
    "tpr",
    "fpr",
    "dpd",
    "eod",
    "demographic_parity_difference",
    "equalized_odds_difference",
    "AttributeFairness",
    "FairnessAudit",
    "fairness_audit",
    "MetricDiff",
    "AttributeComparison",
    "FairnessComparison",
    "compare_fairness",
    "parse_sensitive",
]

INTERSECTION_SEP = "&"
_MAX_LISTED = 8


class _InputError(KDAuditError, ValueError):
    """Invalid input to a fairlearn-compatible function (a ValueError too, as in fairlearn)."""


# --------------------------------------------------------------------------------------------
# Counts
# --------------------------------------------------------------------------------------------


def _freeze(obj: Any, fields: Sequence[str]) -> None:
    """Store read-only arrays in a frozen dataclass (results are values, not buffers)."""
    for name in fields:
        arr = np.asarray(getattr(obj, name))
        if arr.flags.writeable:
            arr = arr.view()
            arr.flags.writeable = False
        object.__setattr__(obj, name, arr)


@dataclass(frozen=True, eq=False)
class GroupCounts:
    """Per-group counts for one positive class (binary or one-vs-rest).

    Every field is an array whose last axis is the group; leading axes (if any) are seeds and/or
    classes, e.g. ``(n_seeds, n_classes, n_groups)`` from :func:`one_vs_rest_counts`. Counts are
    integers, or weight sums when built with sample weights.

    Attributes
    ----------
    n : ndarray
        Samples per group.
    positives : ndarray
        Samples with ``y == positive`` per group.
    predicted_positives : ndarray
        Samples with ``pred == positive`` per group.
    true_positives : ndarray
        Samples with ``y == pred == positive`` per group.
    """

    n: np.ndarray
    positives: np.ndarray
    predicted_positives: np.ndarray
    true_positives: np.ndarray

    def __post_init__(self) -> None:
        _freeze(self, ("n", "positives", "predicted_positives", "true_positives"))

    @property
    def negatives(self) -> np.ndarray:
        """Samples with ``y != positive``: ``n - positives``."""
        return self.n - self.positives

    @property
    def false_positives(self) -> np.ndarray:
        """Samples with ``pred == positive != y``: ``predicted_positives - true_positives``."""
        return self.predicted_positives - self.true_positives

    @property
    def n_groups(self) -> int:
        return int(self.n.shape[-1])

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.n.shape)

    def __getitem__(self, index: Any) -> GroupCounts:
        """Index the leading axes (seeds/classes) of every field at once."""
        return GroupCounts(
            np.asarray(self.n[index]),
            np.asarray(self.positives[index]),
            np.asarray(self.predicted_positives[index]),
            np.asarray(self.true_positives[index]),
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per cell (leading indices as ``axis0``, ``axis1``, ...; then ``group``)."""
        import pandas as pd

        shape = self.shape
        idx = np.indices(shape).reshape(len(shape), -1)
        cols: dict[str, Any] = {f"axis{i}": idx[i] for i in range(len(shape) - 1)}
        cols["group"] = idx[-1]
        for name in (
            "n",
            "positives",
            "negatives",
            "predicted_positives",
            "true_positives",
            "false_positives",
        ):
            cols[name] = np.asarray(getattr(self, name)).reshape(-1)
        return pd.DataFrame(cols)


def _as_codes(group_codes: Any, n_groups: int, n: int, what: str = "group_codes") -> np.ndarray:
    codes = np.asarray(group_codes)
    if codes.ndim != 1 or codes.shape[0] != n:
        raise KDAuditError(f"{what}: expected shape ({n},), got {codes.shape}")
    if codes.dtype.kind not in "iub":
        raise KDAuditError(f"{what}: expected integer codes, got dtype {codes.dtype}")
    codes = codes.astype(np.int64, copy=False)
    if n and (codes.min() < 0 or codes.max() >= n_groups):
        raise KDAuditError(
            f"{what}: codes must lie in [0, {n_groups}), found "
            f"{int(codes.min())}..{int(codes.max())}"
        )
    return codes


def group_counts(
    y_true: Any,
    y_pred: Any,
    group_codes: Any,
    n_groups: int,
    *,
    positive: Any = 1,
    sample_weight: Any = None,
) -> GroupCounts:
    """Per-group counts for one positive class, from one ``np.bincount``.

    The index ``group * 4 + 2 * (y == positive) + (pred == positive)`` is counted once
    (per seed when ``y_pred`` is 2-D), which gives for each group ``g``: ``n_g``, positives
    ``P_g``, predicted positives ``PP_g`` and true positives ``TP_g``.

    Parameters
    ----------
    y_true : array-like of shape (N,)
        True labels.
    y_pred : array-like of shape (N,) or (S, N)
        Predicted labels, optionally one row per seed.
    group_codes : array-like of int, shape (N,)
        Group of each sample, in ``[0, n_groups)``.
    n_groups : int
        Number of groups (groups without samples get zero counts).
    positive : scalar, default 1
        The positive class.
    sample_weight : array-like of shape (N,), optional
        Counts become weight sums (float).

    Returns
    -------
    GroupCounts
        Fields of shape ``(n_groups,)``, or ``(S, n_groups)`` for 2-D ``y_pred``.

    Examples
    --------
    >>> c = group_counts([1, 0, 1, 1], [1, 1, 0, 1], [0, 0, 1, 1], 2)
    >>> c.n.tolist(), c.positives.tolist(), c.true_positives.tolist()
    ([2, 2], [1, 2], [1, 1])
    """
    y = np.asarray(y_true)
    pred = np.asarray(y_pred)
    if y.ndim != 1:
        raise KDAuditError(f"y_true: expected a 1-D array, got shape {y.shape}")
    n = y.shape[0]
    if pred.shape[-1:] != (n,) or pred.ndim not in (1, 2):
        raise KDAuditError(f"y_pred: expected shape ({n},) or (n_seeds, {n}), got {pred.shape}")
    codes = _as_codes(group_codes, n_groups, n)
    base = codes * 4 + 2 * (y == positive)
    cell = base + (pred == positive)  # broadcasts over seeds
    n_seeds = 1 if pred.ndim == 1 else pred.shape[0]
    if pred.ndim == 2:
        cell = cell + (np.arange(n_seeds, dtype=np.int64) * (4 * n_groups))[:, None]
    weights = None
    if sample_weight is not None:
        w = np.asarray(sample_weight, dtype=float)
        if w.shape != (n,):
            raise KDAuditError(f"sample_weight: expected shape ({n},), got {w.shape}")
        weights = np.broadcast_to(w, cell.shape).reshape(-1)
    flat = np.bincount(cell.reshape(-1), weights=weights, minlength=4 * n_groups * n_seeds)
    t = flat.reshape(*pred.shape[:-1], n_groups, 2, 2)  # (..., group, y, pred)
    return GroupCounts(
        n=t.sum(axis=(-2, -1)),
        positives=t[..., 1, :].sum(axis=-1),
        predicted_positives=t[..., :, 1].sum(axis=-1),
        true_positives=t[..., 1, 1].copy(),
    )


def one_vs_rest_counts(
    y_true: Any, y_pred: Any, group_codes: Any, n_groups: int, n_classes: int
) -> GroupCounts:
    """Per-group counts for every class at once (one-vs-rest), without a loop over classes.

    With ``K = n_classes`` and ``G = n_groups``: ``P[g, c]`` counts ``(group, label)``,
    ``PP[s, g, c]`` counts ``(seed, group, pred)`` and ``TP[s, g, c]`` counts
    ``(seed, group, label)`` where ``label == pred``; three ``np.bincount`` calls in all.

    Parameters
    ----------
    y_true : array-like of int, shape (N,)
        True labels in ``[0, n_classes)``.
    y_pred : array-like of int, shape (N,) or (S, N)
        Predicted labels, optionally one row per seed.
    group_codes : array-like of int, shape (N,)
    n_groups, n_classes : int

    Returns
    -------
    GroupCounts
        Fields of shape ``(n_classes, n_groups)``, or ``(S, n_classes, n_groups)``.
    """
    y = np.asarray(y_true)
    pred = np.asarray(y_pred)
    if y.ndim != 1:
        raise KDAuditError(f"y_true: expected a 1-D array, got shape {y.shape}")
    n = y.shape[0]
    if pred.shape[-1:] != (n,) or pred.ndim not in (1, 2):
        raise KDAuditError(f"y_pred: expected shape ({n},) or (n_seeds, {n}), got {pred.shape}")
    for name, arr in (("y_true", y), ("y_pred", pred)):
        if arr.dtype.kind not in "iub":
            raise KDAuditError(f"{name}: expected integer class indices, got dtype {arr.dtype}")
        if arr.size and (arr.min() < 0 or arr.max() >= n_classes):
            raise KDAuditError(f"{name}: class indices must lie in [0, {n_classes})")
    codes = _as_codes(group_codes, n_groups, n)
    y = y.astype(np.int64, copy=False)
    pred = pred.astype(np.int64, copy=False)
    two_d = pred.ndim == 2
    p2 = pred if two_d else pred[None, :]
    n_seeds, gk = p2.shape[0], n_groups * n_classes

    gy = codes * n_classes + y  # (N,)
    n_g = np.bincount(codes, minlength=n_groups)
    pos = np.bincount(gy, minlength=gk).reshape(n_groups, n_classes).T  # (K, G)
    seed_off = (np.arange(n_seeds, dtype=np.int64) * gk)[:, None]
    pp = np.bincount((codes * n_classes + p2 + seed_off).reshape(-1), minlength=gk * n_seeds)
    hit = p2 == y
    tp = np.bincount(np.broadcast_to(gy + seed_off, p2.shape)[hit], minlength=gk * n_seeds)
    pp = pp.reshape(n_seeds, n_groups, n_classes).transpose(0, 2, 1)
    tp = tp.reshape(n_seeds, n_groups, n_classes).transpose(0, 2, 1)
    shape = (n_seeds, n_classes, n_groups)
    counts = GroupCounts(
        n=np.broadcast_to(n_g, shape),
        positives=np.broadcast_to(pos, shape),
        predicted_positives=np.ascontiguousarray(pp),
        true_positives=np.ascontiguousarray(tp),
    )
    return counts if two_d else counts[0]


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


def _spread(rates: np.ndarray, *, min_groups: int = 2) -> np.ndarray:
    """``max - min`` over the last axis, ignoring NaN; NaN when fewer than two values remain."""
    defined = ~np.isnan(rates)
    hi = np.where(defined, rates, -np.inf).max(axis=-1, initial=-np.inf)
    lo = np.where(defined, rates, np.inf).min(axis=-1, initial=np.inf)
    out = np.where(defined.sum(axis=-1) >= min_groups, hi - lo, np.nan)
    return out if out.ndim else float(out)


def _to_overall(rates: np.ndarray, overall: np.ndarray) -> np.ndarray:
    """``max_g |rate_g - overall|`` over defined groups (fairlearn's ``method='to_overall'``)."""
    dev = np.abs(rates - np.asarray(overall)[..., None])
    defined = ~np.isnan(dev)
    out = np.where(defined.any(axis=-1), np.where(defined, dev, -np.inf).max(axis=-1), np.nan)
    return out if out.ndim else float(out)


def _names(names: Sequence[str] | None, k: int, prefix: str = "") -> list[str]:
    return [str(x) for x in names] if names is not None else [f"{prefix}{i}" for i in range(k)]


def _listing(items: list[str]) -> str:
    shown = ", ".join(items[:_MAX_LISTED])
    return shown + (f" and {len(items) - _MAX_LISTED} more" if len(items) > _MAX_LISTED else "")


def _undefined_message(
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
        u = undefined.reshape(-1, *undefined.shape[-2:]).any(axis=0)
        cnames = _names(class_names, u.shape[0])
        per_group = []
        for g in np.flatnonzero(u.any(axis=0)):
            cls = [cnames[c] for c in np.flatnonzero(u[:, g])]
            per_group.append(
                f"'{gnames[g]}' (class {_listing(cls)})"
                if len(cls) < u.shape[0]
                else f"'{gnames[g]}' (every class)"
            )
        listed = _listing(per_group)
    else:
        u = undefined.reshape(-1, undefined.shape[-1]).any(axis=0)
        listed = _listing([f"'{gnames[g]}'" for g in np.flatnonzero(u)])
    return f"{context}{what} undefined for group {listed} ({why}); excluded from the {what} spread"


def _warn(messages: Sequence[str | None], stacklevel: int) -> None:
    text = "; ".join(m for m in messages if m)
    if text:
        warnings.warn(text, DegenerateDataWarning, stacklevel=stacklevel + 1)


def _spread_nan_message(values: np.ndarray, what: str, context: str) -> str | None:
    if np.isnan(values).any():
        return f"{context}{what} is NaN: fewer than two groups have a defined rate"
    return None


def dpd(
    counts: GroupCounts,
    *,
    group_names: Sequence[str] | None = None,
    class_names: Sequence[str] | None = None,
) -> np.ndarray | float:
    """Demographic parity difference from counts: ``max_g SR_g - min_g SR_g``.

    Ideal value 0. Empty groups (``n_g = 0``) are excluded with a
    :class:`DegenerateDataWarning`; fewer than two non-empty groups give NaN.

    Parameters
    ----------
    counts : GroupCounts
        Last axis = groups; the result has the leading shape (a float for 1-D counts).
    group_names, class_names : sequence of str, optional
        Used in warning messages only.

    Examples
    --------
    >>> dpd(group_counts([0, 0, 0, 0], [1, 0, 1, 1], [0, 0, 1, 1], 2))
    0.5
    """
    sr = selection_rate(counts)
    msg = _undefined_message(
        np.isnan(sr), "selection rate", "no samples", group_names, class_names, ""
    )
    out = _spread(sr)
    _warn([msg, _spread_nan_message(np.asarray(out), "DPD", "")], stacklevel=2)
    return out


def _eod_parts(counts: GroupCounts) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    t, f = tpr(counts), fpr(counts)
    return t, f, np.asarray(_spread(t)), np.asarray(_spread(f))


def _combine_eod(tpr_spread: np.ndarray, fpr_spread: np.ndarray) -> np.ndarray:
    # NaN when either spread is undefined (max() of a NaN is not taken as the other value).
    return np.where(
        np.isnan(tpr_spread) | np.isnan(fpr_spread), np.nan, np.fmax(tpr_spread, fpr_spread)
    )


def _eod_messages(
    t: np.ndarray,
    f: np.ndarray,
    eod_values: np.ndarray,
    group_names,
    class_names,
    context: str = "",
) -> list[str | None]:
    return [
        _undefined_message(np.isnan(t), "TPR", "no positives", group_names, class_names, context),
        _undefined_message(np.isnan(f), "FPR", "no negatives", group_names, class_names, context),
        _spread_nan_message(eod_values, "EOD", context),
    ]


def eod(
    counts: GroupCounts,
    *,
    group_names: Sequence[str] | None = None,
    class_names: Sequence[str] | None = None,
) -> np.ndarray | float:
    """Equalized odds difference from counts: ``max(TPR spread, FPR spread)``.

    ``TPR spread = max_g TPR_g - min_g TPR_g`` over groups with positives and
    ``FPR spread = max_g FPR_g - min_g FPR_g`` over groups with negatives. Ideal value 0.
    Groups without positives (negatives) are excluded from the TPR (FPR) spread with a
    :class:`DegenerateDataWarning` naming them; a spread over fewer than two groups is NaN,
    and then EOD is NaN.

    Examples
    --------
    >>> eod(group_counts([1, 0, 1, 0], [1, 0, 0, 0], [0, 0, 1, 1], 2))
    1.0
    """
    t, f, ts, fs = _eod_parts(counts)
    out = _combine_eod(ts, fs)
    _warn(_eod_messages(t, f, out, group_names, class_names), stacklevel=2)
    return out if out.ndim else float(out)


# --------------------------------------------------------------------------------------------
# fairlearn-compatible functions
# --------------------------------------------------------------------------------------------


def _column_values(col: Any, what: str) -> tuple[np.ndarray, list[str]]:
    import pandas as pd

    arr = col.to_numpy() if hasattr(col, "to_numpy") else np.asarray(col)
    if arr.ndim != 1:
        raise _InputError(f"{what}: expected a 1-D column, got shape {arr.shape}")
    if pd.isna(arr).any():
        raise _InputError(f"{what}: contains missing values (None/NaN)")
    try:
        codes, uniques = pd.factorize(arr, sort=True)
    except TypeError:  # mixed, unorderable values: the group order does not change any value
        codes, uniques = pd.factorize(arr, sort=False)
    return codes.astype(np.int64), [str(u) for u in uniques]


def _encode_sensitive(sensitive_features: Any, n: int) -> tuple[np.ndarray, list[str]]:
    """Codes ``0..G-1`` and names of the (intersectional) groups present in the data."""
    import pandas as pd

    sf = sensitive_features
    if isinstance(sf, pd.DataFrame):
        columns = [(str(c), sf[c]) for c in sf.columns]
    elif isinstance(sf, Mapping):
        columns = [(str(k), v) for k, v in sf.items()]
    elif isinstance(sf, pd.Series):
        columns = [(str(sf.name), sf)]
    else:
        arr = np.asarray(sf, dtype=object) if not isinstance(sf, np.ndarray) else sf
        if arr.ndim == 1:
            columns = [("sensitive_features", arr)]
        elif arr.ndim == 2:
            columns = [(f"sensitive_features[:, {j}]", arr[:, j]) for j in range(arr.shape[1])]
        else:
            raise _InputError(f"sensitive_features: expected 1-D or 2-D, got shape {arr.shape}")
    if not columns:
        raise _InputError("sensitive_features: no columns given")
    code = np.zeros(n, dtype=np.int64)
    level_lists = []
    for name, col in columns:
        c, levels = _column_values(col, f"sensitive_features ({name})")
        if c.shape[0] != n:
            raise _InputError(f"sensitive_features ({name}): expected {n} values, got {c.shape[0]}")
        code = code * len(levels) + c
        level_lists.append(levels)
    if len(columns) == 1:
        return code, level_lists[0]
    combos, inverse = np.unique(code, return_inverse=True)
    sizes = [len(lv) for lv in level_lists]
    parts = np.unravel_index(combos, sizes)
    names = [
        INTERSECTION_SEP.join(level_lists[j][parts[j][i]] for j in range(len(sizes)))
        for i in range(len(combos))
    ]
    return inverse.reshape(-1).astype(np.int64), names


def _1d(values: Any, what: str) -> np.ndarray:
    arr = np.asarray(values.to_numpy() if hasattr(values, "to_numpy") else values)
    if arr.ndim == 2 and 1 in arr.shape:  # a column or row vector, as fairlearn accepts
        arr = arr.reshape(-1)
    if arr.ndim != 1:
        raise _InputError(f"{what}: expected a 1-D array, got shape {arr.shape}")
    return arr


def _binary_inputs(
    y_true: Any,
    y_pred: Any,
    sensitive_features: Any,
    sample_weight: Any,
    method: str,
    need_binary_labels: bool,
):
    if method not in ("between_groups", "to_overall"):
        raise _InputError(f"method: expected 'between_groups' or 'to_overall', got {method!r}")
    yt, yp = _1d(y_true, "y_true"), _1d(y_pred, "y_pred")
    if yt.shape != yp.shape:
        raise _InputError(f"y_true and y_pred differ in length: {yt.shape[0]} vs {yp.shape[0]}")
    if yt.shape[0] == 0:
        raise _InputError("y_true: empty input")
    if need_binary_labels:
        try:
            values = set(np.unique(yt).tolist()) | set(np.unique(yp).tolist())
        except TypeError:  # unorderable mixed values: certainly not binary
            values = {"<mixed types>"}
        if not (values <= {0, 1} or values <= {-1, 1}):
            shown = sorted(map(str, values))[:5]
            raise _InputError(
                "y_true/y_pred: equalized odds needs binary labels from {0, 1} or "
                f"{{-1, 1}} (positive label 1), found {shown}"
            )
    codes, names = _encode_sensitive(sensitive_features, yt.shape[0])
    counts = group_counts(yt, yp, codes, len(names), positive=1, sample_weight=sample_weight)
    overall = group_counts(
        yt, yp, np.zeros(yt.shape[0], dtype=np.int64), 1, positive=1, sample_weight=sample_weight
    )
    return counts, overall, names


def demographic_parity_difference(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any,
    method: Literal["between_groups", "to_overall"] = "between_groups",
    sample_weight: Any = None,
) -> float:
    """Demographic parity difference, a drop-in for fairlearn's function of that name.

    ``DPD = max_g SR_g - min_g SR_g`` with ``SR_g = P(y_pred = 1 | g)``
    (``method='to_overall'``: ``max_g |SR_g - SR|``). Ideal value 0.

    Parameters
    ----------
    y_true : array-like of shape (N,)
        True labels (not used by the selection rate; checked for length, as in fairlearn).
    y_pred : array-like of shape (N,)
        Predictions; 1 is the selected outcome.
    sensitive_features : array-like, Series, DataFrame, 2-D array or dict of columns
        Group of each sample; several columns form intersectional groups.
    method : {'between_groups', 'to_overall'}
    sample_weight : array-like of shape (N,), optional

    Returns
    -------
    float

    Examples
    --------
    >>> demographic_parity_difference([0, 1, 0, 1], [1, 1, 0, 1],
    ...                               sensitive_features=["a", "a", "b", "b"])
    0.5
    """
    counts, overall, names = _binary_inputs(
        y_true, y_pred, sensitive_features, sample_weight, method, need_binary_labels=False
    )
    sr = selection_rate(counts)
    if method == "between_groups":
        value = _spread(sr)
    else:
        value = _to_overall(sr, selection_rate(overall)[0])
    _warn([_spread_nan_message(np.asarray(value), "DPD", "")], stacklevel=2)
    return float(value)


def equalized_odds_difference(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any,
    method: Literal["between_groups", "to_overall"] = "between_groups",
    sample_weight: Any = None,
    agg: Literal["worst_case", "mean"] = "worst_case",
) -> float:
    """Equalized odds difference, a drop-in for fairlearn's function of that name.

    ``EOD = max(TPR spread, FPR spread)`` (``agg='mean'``: their mean), with
    ``TPR_g = P(y_pred = 1 | y = 1, g)``, ``FPR_g = P(y_pred = 1 | y != 1, g)`` and
    spread ``max_g - min_g`` (``method='to_overall'``: ``max_g |rate_g - rate|``). Labels must
    come from ``{0, 1}`` or ``{-1, 1}``, as in fairlearn. Ideal value 0.

    Unlike fairlearn, a group without positives (negatives) has no TPR (FPR): it is excluded
    from that spread with a :class:`DegenerateDataWarning`, and a spread over fewer than two
    groups is NaN (fairlearn counts such a rate as 0). Elsewhere the values are equal.

    Examples
    --------
    >>> equalized_odds_difference([1, 0, 1, 0], [1, 0, 0, 0],
    ...                           sensitive_features=["a", "a", "b", "b"])
    1.0
    """
    if agg not in ("worst_case", "mean"):
        raise _InputError(f"agg: expected 'worst_case' or 'mean', got {agg!r}")
    counts, overall, names = _binary_inputs(
        y_true, y_pred, sensitive_features, sample_weight, method, need_binary_labels=True
    )
    t, f = tpr(counts), fpr(counts)
    if method == "between_groups":
        ts, fs = _spread(t), _spread(f)
    else:
        ts, fs = _to_overall(t, tpr(overall)[0]), _to_overall(f, fpr(overall)[0])
    if agg == "worst_case":
        value = float(_combine_eod(np.asarray(ts), np.asarray(fs)))
    else:
        value = float((ts + fs) / 2)
    _warn(_eod_messages(t, f, np.asarray(value), names, None), stacklevel=2)
    return value


# --------------------------------------------------------------------------------------------
# Run sets: audit across seeds
# --------------------------------------------------------------------------------------------


def _mean(values: np.ndarray) -> float:
    return float(np.mean(values)) if values.size else math.nan


def _std(values: np.ndarray) -> float:
    """Sample standard deviation (ddof=1); NaN with fewer than two seeds."""
    return float(np.std(values, ddof=1)) if values.size >= 2 else math.nan


def _class_mean(per_class: np.ndarray) -> np.ndarray:
    """Mean over classes (last axis) of the defined values; NaN when none is defined."""
    defined = ~np.isnan(per_class)
    k = defined.sum(axis=-1)
    total = np.where(defined, per_class, 0.0).sum(axis=-1)
    out = np.full(total.shape, np.nan)
    np.divide(total, k, out=out, where=k > 0)
    return out


def _fmt_pct(mean: float, std: float) -> str:
    if not math.isfinite(mean):
        return "nan"
    return f"{100 * mean:.2f} ± {100 * std:.2f}" if math.isfinite(std) else f"{100 * mean:.2f}"


@dataclass(frozen=True, eq=False)
class AttributeFairness:
    """DPD and EOD of one run set for one sensitive attribute (or intersection), per seed.

    Attributes
    ----------
    attribute : str
        Attribute name, or an intersection such as ``"young&male"``.
    components : tuple of str
        The attributes forming it (one unless an intersection).
    mode : {"binary", "one-vs-rest"}
    groups : tuple of str
        Group names (for an intersection, levels joined with ``&``), in count order.
    classes : tuple of str
        Classes audited: the positive class (binary) or every class (one-vs-rest).
    positive_class : int or None
        The positive class index (binary mode).
    seeds : tuple of int
    counts : GroupCounts
        Shape ``(n_seeds, n_classes_audited, n_groups)``.
    dpd_per_class, eod_per_class : ndarray, shape (n_seeds, n_classes_audited)
    dpd_per_seed, eod_per_seed : ndarray, shape (n_seeds,)
        Mean over classes of the defined per-class values (Algorithm 1); binary: the one class.
    """

    attribute: str
    components: tuple[str, ...]
    mode: Literal["binary", "one-vs-rest"]
    groups: tuple[str, ...]
    classes: tuple[str, ...]
    positive_class: int | None
    seeds: tuple[int, ...]
    counts: GroupCounts
    dpd_per_class: np.ndarray
    eod_per_class: np.ndarray
    dpd_per_seed: np.ndarray
    eod_per_seed: np.ndarray

    def __post_init__(self) -> None:
        _freeze(self, ("dpd_per_class", "eod_per_class", "dpd_per_seed", "eod_per_seed"))

    @property
    def dpd_mean(self) -> float:
        return _mean(self.dpd_per_seed)

    @property
    def dpd_std(self) -> float:
        return _std(self.dpd_per_seed)

    @property
    def eod_mean(self) -> float:
        return _mean(self.eod_per_seed)

    @property
    def eod_std(self) -> float:
        return _std(self.eod_per_seed)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of the contract (fractions; NaN stays NaN until ``to_json``)."""
        return {
            "mode": self.mode,
            "groups": list(self.groups),
            "dpd": {
                "mean": self.dpd_mean,
                "std": self.dpd_std,
                "per_seed": [float(v) for v in self.dpd_per_seed],
            },
            "eod": {
                "mean": self.eod_mean,
                "std": self.eod_std,
                "per_seed": [float(v) for v in self.eod_per_seed],
            },
        }

    def group_rates(self) -> pd.DataFrame:
        """Long table: one row per seed x class x group with counts and rates (fractions)."""
        import pandas as pd

        c = self.counts
        s, k, g = c.shape
        si, ki, gi = (a.reshape(-1) for a in np.indices((s, k, g)))
        return pd.DataFrame(
            {
                "attribute": self.attribute,
                "seed": np.asarray(self.seeds, dtype=np.int64)[si],
                "class": np.asarray(self.classes, dtype=object)[ki],
                "group": np.asarray(self.groups, dtype=object)[gi],
                "n": c.n.reshape(-1),
                "positives": c.positives.reshape(-1),
                "negatives": c.negatives.reshape(-1),
                "predicted_positives": c.predicted_positives.reshape(-1),
                "true_positives": c.true_positives.reshape(-1),
                "selection_rate": selection_rate(c).reshape(-1),
                "tpr": tpr(c).reshape(-1),
                "fpr": fpr(c).reshape(-1),
            }
        )

    def per_class(self) -> pd.DataFrame:
        """Per-class DPD and EOD over seeds (one-vs-rest; a single row in binary mode)."""
        import pandas as pd

        rows = []
        for j, name in enumerate(self.classes):
            d, e = self.dpd_per_class[:, j], self.eod_per_class[:, j]
            rows.append(
                {
                    "attribute": self.attribute,
                    "class": name,
                    "dpd_mean": _mean(d),
                    "dpd_std": _std(d),
                    "eod_mean": _mean(e),
                    "eod_std": _std(e),
                }
            )
        return pd.DataFrame(rows)


def _where(runset: Any) -> str:
    path = getattr(runset, "path", None)
    return str(path) if path is not None else f"run set '{getattr(runset, 'name', '?')}'"


def parse_sensitive(
    sensitive: Sequence[str] | str | None, available: Sequence[str], *, where: str = "run set"
) -> list[tuple[str, tuple[str, ...]]]:
    """Resolve ``sensitive`` entries into ``(key, components)`` pairs.

    An entry is an attribute name (``"young"``; a ``group.`` prefix is accepted) or an
    intersection written ``"young&male"`` (``"young,male"`` means the same). ``None``: every
    available attribute separately. The key of an intersection is its components joined by
    ``&`` in the order given.
    """
    available = tuple(available)
    if sensitive is None:
        return [(a, (a,)) for a in available]
    if isinstance(sensitive, str):
        sensitive = [sensitive]
    if len(sensitive) == 0:  # an empty selection means the default, as None does
        return [(a, (a,)) for a in available]
    out: list[tuple[str, tuple[str, ...]]] = []
    for entry in sensitive:
        parts = [
            p.strip() for p in str(entry).replace(",", INTERSECTION_SEP).split(INTERSECTION_SEP)
        ]
        parts = [p[len("group.") :] if p.startswith("group.") else p for p in parts]
        if not parts or any(not p for p in parts):
            raise KDAuditError(f"--sensitive: empty attribute name in {entry!r}")
        if len(set(parts)) != len(parts):
            raise KDAuditError(f"--sensitive: attribute repeated in {entry!r}")
        for p in parts:
            if p not in available:
                has = ", ".join(available) if available else "none"
                raise KDAuditError(f"{where}: no group attribute '{p}' (group attributes: {has})")
        key = INTERSECTION_SEP.join(parts)
        if key not in (k for k, _ in out):
            out.append((key, tuple(parts)))
    return out


def _resolve_positive(runset: Any, positive_class: int | None) -> int:
    k = int(runset.num_classes)
    if positive_class is None:
        meta = getattr(runset, "positive_class", None)
        if meta is None:
            meta = (getattr(runset, "metadata", None) or {}).get("positive_class")
        positive_class = 1 if meta is None else meta
        origin = "metadata positive_class" if meta is not None else "default positive class"
    else:
        origin = "positive_class"
    if isinstance(positive_class, bool) or not isinstance(positive_class, (int, np.integer)):
        raise KDAuditError(f"{_where(runset)}: {origin} must be an integer, got {positive_class!r}")
    if not 0 <= int(positive_class) < k:
        raise KDAuditError(
            f"{_where(runset)}: {origin} {int(positive_class)} is not a class "
            f"of this {k}-class task (expected 0..{k - 1})"
        )
    return int(positive_class)


def _attribute_codes(runset: Any, components: tuple[str, ...]) -> tuple[np.ndarray, list[str]]:
    levels = [tuple(str(v) for v in runset.group_levels(a)) for a in components]
    codes = []
    for a, lv in zip(components, levels, strict=False):
        codes.append(
            _as_codes(
                runset.group_codes(a),
                len(lv),
                int(runset.n_samples),
                f"{_where(runset)}: group.{a}",
            )
        )
    if len(components) == 1:
        return codes[0], list(levels[0])
    code = np.zeros(codes[0].shape[0], dtype=np.int64)
    for c, lv in zip(codes, levels, strict=False):
        code = code * len(lv) + c
    combos, inverse = np.unique(code, return_inverse=True)
    parts = np.unravel_index(combos, [len(lv) for lv in levels])
    names = [
        INTERSECTION_SEP.join(levels[j][parts[j][i]] for j in range(len(levels)))
        for i in range(len(combos))
    ]
    return inverse.reshape(-1).astype(np.int64), names


def _audit_attribute(
    runset: Any,
    key: str,
    components: tuple[str, ...],
    mode: str,
    positive: int | None,
    labels: np.ndarray,
    preds: np.ndarray,
    class_names: list[str],
) -> AttributeFairness:
    codes, groups = _attribute_codes(runset, components)
    n_groups = len(groups)
    if mode == "binary":
        counts = group_counts(labels, preds, codes, n_groups, positive=positive)[:, None, :]
        classes = (class_names[positive],)
    else:
        counts = one_vs_rest_counts(labels, preds, codes, n_groups, int(runset.num_classes))
        classes = tuple(class_names)
    sr = selection_rate(counts)
    dpd_c = np.asarray(_spread(sr))
    t, f, ts, fs = _eod_parts(counts)
    eod_c = _combine_eod(ts, fs)
    context = f"{runset.name}, attribute '{key}': "
    cls = classes if mode == "one-vs-rest" else None
    messages = [
        _undefined_message(np.isnan(sr), "selection rate", "no samples", groups, cls, context),
        *_eod_messages(t, f, np.zeros(0), groups, cls, context)[:2],
    ]
    for name, values in (("DPD", dpd_c), ("EOD", eod_c)):
        bad = np.isnan(values).any(axis=0)
        if bad.any():
            if mode == "one-vs-rest" and not bad.all():
                listed = _listing([f"'{classes[j]}'" for j in np.flatnonzero(bad)])
                messages.append(
                    f"{context}{name} undefined for class {listed} (fewer than two "
                    "groups with a defined rate); excluded from the class average"
                )
            else:
                messages.append(
                    f"{context}{name} is NaN: fewer than two groups have a defined rate"
                )
    _warn(messages, stacklevel=4)
    return AttributeFairness(
        attribute=key,
        components=components,
        mode=mode,  # type: ignore[arg-type]
        groups=tuple(groups),
        classes=classes,
        positive_class=positive if mode == "binary" else None,
        seeds=tuple(int(s) for s in runset.seeds),
        counts=counts,
        dpd_per_class=dpd_c,
        eod_per_class=eod_c,
        dpd_per_seed=_class_mean(dpd_c),
        eod_per_seed=_class_mean(eod_c),
    )


def _display_rows(results: Sequence[AttributeFairness]) -> list[dict[str, Any]]:
    return [
        {
            "attribute": r.attribute,
            "mode": r.mode,
            "groups": len(r.groups),
            "DPD (%)": _fmt_pct(r.dpd_mean, r.dpd_std),
            "EOD (%)": _fmt_pct(r.eod_mean, r.eod_std),
        }
        for r in results
    ]


@dataclass(frozen=True, eq=False)
class FairnessAudit:
    """Fairness of one run set, per sensitive attribute, across seeds.

    Use ``audit["young"]`` for one :class:`AttributeFairness`; :meth:`to_dict` gives the JSON
    contract of ``kdaudit fairness --format json``.
    """

    runset: str
    path: str | None
    num_classes: int
    seeds: tuple[int, ...]
    results: tuple[AttributeFairness, ...]

    @property
    def attributes(self) -> tuple[str, ...]:
        return tuple(r.attribute for r in self.results)

    def __getitem__(self, attribute: str) -> AttributeFairness:
        for r in self.results:
            if r.attribute == attribute:
                return r
        raise KDAuditError(
            f"fairness audit of '{self.runset}': no attribute '{attribute}' "
            f"(audited: {', '.join(self.attributes) or 'none'})"
        )

    def __contains__(self, attribute: object) -> bool:
        return attribute in self.attributes

    def to_dict(self) -> dict[str, Any]:
        """``{"<attribute>": {"mode", "groups", "dpd": {"mean", "std", "per_seed"}, "eod"}}``."""
        return {r.attribute: r.to_dict() for r in self.results}

    def to_frame(self) -> pd.DataFrame:
        """One row per attribute: mode, group count, DPD/EOD mean and std (fractions)."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "attribute": r.attribute,
                    "mode": r.mode,
                    "groups": len(r.groups),
                    "dpd_mean": r.dpd_mean,
                    "dpd_std": r.dpd_std,
                    "eod_mean": r.eod_mean,
                    "eod_std": r.eod_std,
                }
                for r in self.results
            ],
            columns=["attribute", "mode", "groups", "dpd_mean", "dpd_std", "eod_mean", "eod_std"],
        )

    def display_frame(self) -> pd.DataFrame:
        """As shown in tables: percent with two decimals, ``mean ± std``."""
        import pandas as pd

        return pd.DataFrame(
            _display_rows(self.results),
            columns=["attribute", "mode", "groups", "DPD (%)", "EOD (%)"],
        )

    def group_rates(self, attribute: str) -> pd.DataFrame:
        """Per seed x class x group counts and rates of one attribute (see
        :meth:`AttributeFairness.group_rates`)."""
        return self[attribute].group_rates()

    def per_class(self, attribute: str) -> pd.DataFrame:
        return self[attribute].per_class()

    def _repr_html_(self) -> str:
        title = f"<p><b>Fairness of {self.runset}</b> ({len(self.seeds)} seeds)</p>"
        return title + self.display_frame().to_html(index=False)


def fairness_audit(
    runset: RunSet,
    *,
    sensitive: Sequence[str] | None = None,
    positive_class: int | None = None,
) -> FairnessAudit:
    """DPD and EOD of a run set for each sensitive attribute, per seed, then over seeds.

    Binary tasks (``num_classes == 2``) use the positive class ``positive_class``, else the run
    set's metadata ``positive_class``, else 1. Multi-class tasks use one-vs-rest per class
    (``y == c`` vs ``pred == c``) and average the per-class values (paper, Algorithm 1;
    classes whose value is undefined are left out of that mean with a warning).
    Over seeds: mean and sample std (``ddof=1``).

    Parameters
    ----------
    runset : RunSet
    sensitive : sequence of str, optional
        Attribute names (without ``group.``) or intersections such as ``"young&male"``.
        Default: every group attribute of the run set, separately.
    positive_class : int, optional
        Binary tasks only.

    Returns
    -------
    FairnessAudit

    Raises
    ------
    KDAuditError
        No group attributes, an unknown attribute, or an invalid positive class.
    """
    where = _where(runset)
    available = tuple(runset.group_attributes)
    if not available:
        raise KDAuditError(f"{where}: no group columns (group.<attribute>) to audit fairness on")
    specs = parse_sensitive(sensitive, available, where=where)
    k = int(runset.num_classes)
    if k == 2:
        mode, positive = "binary", _resolve_positive(runset, positive_class)
    else:
        if positive_class is not None:
            raise KDAuditError(
                f"{where}: positive_class applies to binary tasks only; this task "
                f"has {k} classes (audited one-vs-rest)"
            )
        mode, positive = "one-vs-rest", None
    names = getattr(runset, "class_names", None)
    if names and len(names) == k:
        class_names = [str(c) for c in names]
    else:
        class_names = [str(i) for i in range(k)]
    labels = np.asarray(runset.label)
    preds = np.asarray(runset.preds)
    results = tuple(
        _audit_attribute(runset, key, comps, mode, positive, labels, preds, class_names)
        for key, comps in specs
    )
    path = getattr(runset, "path", None)
    return FairnessAudit(
        runset=str(runset.name),
        path=None if path is None else str(path),
        num_classes=k,
        seeds=tuple(int(s) for s in runset.seeds),
        results=results,
    )


# --------------------------------------------------------------------------------------------
# Comparing two run sets
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricDiff:
    """``delta = mean(B) - mean(A)`` of a fairness metric with a Welch t-test across seeds.

    ``pvalue`` (and ``statistic``, ``df``) is NaN when it is undefined: fewer than two seeds on
    a side, a NaN value, or zero variance on both sides.
    """

    delta: float
    statistic: float
    df: float
    pvalue: float
    alpha: float

    @property
    def significant(self) -> bool:
        return bool(math.isfinite(self.pvalue) and self.pvalue <= self.alpha)

    def to_dict(self) -> dict[str, Any]:
        return {"delta": self.delta, "pvalue": self.pvalue}


def _welch(a: np.ndarray, b: np.ndarray, alpha: float) -> MetricDiff:
    """Two-sided Welch t-test of ``b`` vs ``a`` (as ``scipy.stats.ttest_ind(equal_var=False)``)."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    nan = math.nan
    if a.size == 0 or b.size == 0 or np.isnan(a).any() or np.isnan(b).any():
        return MetricDiff(nan, nan, nan, nan, alpha)
    delta = float(b.mean() - a.mean())
    if a.size < 2 or b.size < 2:
        return MetricDiff(delta, nan, nan, nan, alpha)
    from .classwise import _welch_core  # the one Welch implementation of the package

    _, _, df, t, p, testable = _welch_core(a[:, None], b[:, None])
    if not testable[0]:
        return MetricDiff(delta, nan, nan, nan, alpha)
    return MetricDiff(delta, float(t[0]), float(df[0]), float(p[0]), alpha)


@dataclass(frozen=True, eq=False)
class AttributeComparison:
    """One attribute in both run sets, with the B - A differences of DPD and EOD."""

    attribute: str
    a: AttributeFairness
    b: AttributeFairness
    dpd_diff: MetricDiff
    eod_diff: MetricDiff

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a.to_dict(),
            "b": self.b.to_dict(),
            "dpd_diff": self.dpd_diff.to_dict(),
            "eod_diff": self.eod_diff.to_dict(),
        }


@dataclass(frozen=True, eq=False)
class FairnessComparison:
    """Fairness of run sets A and B for their shared attributes, with Welch tests on B - A.

    A negative ``delta`` means B is fairer (smaller DPD/EOD) than A.
    """

    a: FairnessAudit
    b: FairnessAudit
    alpha: float
    results: tuple[AttributeComparison, ...]

    @property
    def attributes(self) -> tuple[str, ...]:
        return tuple(r.attribute for r in self.results)

    def __getitem__(self, attribute: str) -> AttributeComparison:
        for r in self.results:
            if r.attribute == attribute:
                return r
        raise KDAuditError(
            f"fairness comparison: no attribute '{attribute}' "
            f"(compared: {', '.join(self.attributes) or 'none'})"
        )

    def to_dict(self) -> dict[str, Any]:
        """``{attr: {"a": {...}, "b": {...}, "dpd_diff": {"delta", "pvalue"}, "eod_diff"}}``."""
        return {r.attribute: r.to_dict() for r in self.results}

    def to_frame(self) -> pd.DataFrame:
        """One row per attribute x metric (fractions): A and B mean/std, delta, p-value."""
        import pandas as pd

        rows = []
        for r in self.results:
            for metric, diff in (("dpd", r.dpd_diff), ("eod", r.eod_diff)):
                rows.append(
                    {
                        "attribute": r.attribute,
                        "metric": metric,
                        "mode": r.a.mode,
                        "a_mean": getattr(r.a, f"{metric}_mean"),
                        "a_std": getattr(r.a, f"{metric}_std"),
                        "b_mean": getattr(r.b, f"{metric}_mean"),
                        "b_std": getattr(r.b, f"{metric}_std"),
                        "delta": diff.delta,
                        "statistic": diff.statistic,
                        "df": diff.df,
                        "pvalue": diff.pvalue,
                        "significant": diff.significant,
                    }
                )
        return pd.DataFrame(
            rows,
            columns=[
                "attribute",
                "metric",
                "mode",
                "a_mean",
                "a_std",
                "b_mean",
                "b_std",
                "delta",
                "statistic",
                "df",
                "pvalue",
                "significant",
            ],
        )

    def display_frame(self) -> pd.DataFrame:
        """As shown in tables: percent with two decimals; p-values with three significant digits."""
        import pandas as pd

        rows = []
        for r in self.results:
            for metric, diff in (("DPD", r.dpd_diff), ("EOD", r.eod_diff)):
                m = metric.lower()
                rows.append(
                    {
                        "attribute": r.attribute,
                        "metric": metric,
                        f"{self.a.runset} (%)": _fmt_pct(
                            getattr(r.a, f"{m}_mean"), getattr(r.a, f"{m}_std")
                        ),
                        f"{self.b.runset} (%)": _fmt_pct(
                            getattr(r.b, f"{m}_mean"), getattr(r.b, f"{m}_std")
                        ),
                        "B - A (%)": "nan"
                        if not math.isfinite(diff.delta)
                        else f"{100 * diff.delta:+.2f}",
                        "p": "" if not math.isfinite(diff.pvalue) else f"{diff.pvalue:.3g}",
                    }
                )
        return pd.DataFrame(rows)

    def _repr_html_(self) -> str:
        title = f"<p><b>Fairness: {self.a.runset} (A) vs {self.b.runset} (B)</b></p>"
        return title + self.display_frame().to_html(index=False)


def compare_fairness(
    a: RunSet,
    b: RunSet,
    *,
    sensitive: Sequence[str] | None = None,
    positive_class: int | None = None,
    alpha: float = 0.05,
) -> FairnessComparison | None:
    """Audit run sets A and B on their shared attributes and test B - A across seeds.

    For DPD and EOD of each attribute: ``delta = mean_s(B) - mean_s(A)`` and a two-sided Welch
    t-test (unequal variances) on the per-seed values; ``pvalue`` is NaN when undefined (e.g.
    zero variance on both sides). A negative delta means B is fairer than A.

    Parameters
    ----------
    a, b : RunSet
    sensitive : sequence of str, optional
        As in :func:`fairness_audit`; default: every attribute the two run sets share.
    positive_class : int, optional
        Binary tasks; default: the metadata ``positive_class`` (which must then agree between
        A and B), else 1.
    alpha : float, default 0.05
        Level for :attr:`MetricDiff.significant`.

    Returns
    -------
    FairnessComparison or None
        None when the run sets share no group attribute (and ``sensitive`` is None).
    """
    if not 0 < alpha < 1:
        raise KDAuditError(f"alpha: expected a value in (0, 1), got {alpha}")
    attrs_a, attrs_b = tuple(a.group_attributes), tuple(b.group_attributes)
    if sensitive is None:
        shared = [x for x in attrs_a if x in attrs_b]
        if not shared:
            return None
        sensitive = shared
    else:
        parse_sensitive(sensitive, attrs_a, where=_where(a))
        parse_sensitive(sensitive, attrs_b, where=_where(b))
    if int(a.num_classes) != int(b.num_classes):
        raise KDAuditError(
            f"{_where(b)}: {b.num_classes} classes, but {_where(a)} has "
            f"{a.num_classes}; fairness of different tasks cannot be compared"
        )
    if positive_class is None and int(a.num_classes) == 2:
        pa, pb = _resolve_positive(a, None), _resolve_positive(b, None)
        if pa != pb:
            raise KDAuditError(
                f"{_where(b)}: positive_class {pb} differs from {pa} in "
                f"{_where(a)}; pass positive_class explicitly"
            )
    audit_a = fairness_audit(a, sensitive=sensitive, positive_class=positive_class)
    audit_b = fairness_audit(b, sensitive=sensitive, positive_class=positive_class)
    results = tuple(
        AttributeComparison(
            attribute=ra.attribute,
            a=ra,
            b=audit_b[ra.attribute],
            dpd_diff=_welch(ra.dpd_per_seed, audit_b[ra.attribute].dpd_per_seed, alpha),
            eod_diff=_welch(ra.eod_per_seed, audit_b[ra.attribute].eod_per_seed, alpha),
        )
        for ra in audit_a.results
    )
    return FairnessComparison(a=audit_a, b=audit_b, alpha=float(alpha), results=results)
