"""fairlearn-compatible ``demographic_parity_difference`` and ``equalized_odds_difference``."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from ..errors import InvalidArgumentError
from ..frames import columns_of, is_polars
from .counts import GroupCounts, group_counts, intersect_codes
from .rates import (
    combine_eod,
    eod_messages,
    fpr,
    selection_rate,
    spread,
    spread_nan_message,
    to_overall,
    tpr,
    warn_messages,
)

__all__ = ["demographic_parity_difference", "equalized_odds_difference"]


# --------------------------------------------------------------------------------------------
# fairlearn-compatible functions
# --------------------------------------------------------------------------------------------


def _column_values(col: Any, what: str) -> tuple[np.ndarray, list[str]]:
    import pandas as pd

    arr = col.to_numpy() if hasattr(col, "to_numpy") else np.asarray(col)
    if arr.ndim != 1:
        raise InvalidArgumentError(f"{what}: expected a 1-D column, got shape {arr.shape}")
    if pd.isna(arr).any():
        raise InvalidArgumentError(f"{what}: contains missing values (None/NaN)")
    try:
        codes, uniques = pd.factorize(arr, sort=True)
    except TypeError:  # mixed, unorderable values: the group order does not change any value
        codes, uniques = pd.factorize(arr, sort=False)
    return codes.astype(np.int64), [str(u) for u in uniques]


def _encode_sensitive(sensitive_features: Any, n: int) -> tuple[np.ndarray, list[str]]:
    """Codes ``0..G-1`` and names of the (intersectional) groups present in the data."""
    import pandas as pd

    sf = sensitive_features
    by_column = columns_of(sf)  # a pandas or polars DataFrame, or a mapping of columns
    if by_column is not None:
        columns = by_column
    elif isinstance(sf, pd.Series) or (is_polars(sf) and hasattr(sf, "name")):
        columns = [(str(sf.name), sf)]
    else:
        arr = np.asarray(sf, dtype=object) if not isinstance(sf, np.ndarray) else sf
        if arr.ndim == 1:
            columns = [("sensitive_features", arr)]
        elif arr.ndim == 2:
            columns = [(f"sensitive_features[:, {j}]", arr[:, j]) for j in range(arr.shape[1])]
        else:
            raise InvalidArgumentError(
                f"sensitive_features: expected 1-D or 2-D, got shape {arr.shape}"
            )
    if not columns:
        raise InvalidArgumentError("sensitive_features: no columns given")
    code_list: list[np.ndarray] = []
    level_lists = []
    for name, col in columns:
        c, levels = _column_values(col, f"sensitive_features ({name})")
        if c.shape[0] != n:
            raise InvalidArgumentError(
                f"sensitive_features ({name}): expected {n} values, got {c.shape[0]}"
            )
        code_list.append(c)
        level_lists.append(levels)
    if len(columns) == 1:
        return code_list[0], level_lists[0]
    return intersect_codes(code_list, level_lists)


def _1d(values: Any, what: str) -> np.ndarray:
    arr = np.asarray(values.to_numpy() if hasattr(values, "to_numpy") else values)
    if arr.ndim == 2 and 1 in arr.shape:  # a column or row vector, as fairlearn accepts
        arr = arr.reshape(-1)
    if arr.ndim != 1:
        raise InvalidArgumentError(f"{what}: expected a 1-D array, got shape {arr.shape}")
    return arr


def _binary_inputs(
    y_true: Any,
    y_pred: Any,
    sensitive_features: Any,
    sample_weight: Any,
    method: str,
    need_binary_labels: bool,
) -> tuple[GroupCounts, GroupCounts, list[str]]:
    if method not in ("between_groups", "to_overall"):
        raise InvalidArgumentError(
            f"method: expected 'between_groups' or 'to_overall', got {method!r}"
        )
    yt, yp = _1d(y_true, "y_true"), _1d(y_pred, "y_pred")
    if yt.shape != yp.shape:
        raise InvalidArgumentError(
            f"y_true and y_pred differ in length: {yt.shape[0]} vs {yp.shape[0]}"
        )
    if yt.shape[0] == 0:
        raise InvalidArgumentError("y_true: empty input")
    if need_binary_labels:
        try:
            values = set(np.unique(yt).tolist()) | set(np.unique(yp).tolist())
        except TypeError:  # unorderable mixed values: certainly not binary
            values = {"<mixed types>"}
        if not (values <= {0, 1} or values <= {-1, 1}):
            shown = sorted(map(str, values))[:5]
            raise InvalidArgumentError(
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
        value = spread(sr)
    else:
        value = to_overall(sr, selection_rate(overall)[0])
    warn_messages([spread_nan_message(np.asarray(value), "DPD", "")], stacklevel=2)
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
        raise InvalidArgumentError(f"agg: expected 'worst_case' or 'mean', got {agg!r}")
    counts, overall, names = _binary_inputs(
        y_true, y_pred, sensitive_features, sample_weight, method, need_binary_labels=True
    )
    t, f = tpr(counts), fpr(counts)
    if method == "between_groups":
        ts, fs = spread(t), spread(f)
    else:
        ts, fs = to_overall(t, tpr(overall)[0]), to_overall(f, fpr(overall)[0])
    if agg == "worst_case":
        value = float(combine_eod(np.asarray(ts), np.asarray(fs)))
    else:
        value = float((ts + fs) / 2)
    warn_messages(eod_messages(t, f, np.asarray(value), names, None), stacklevel=2)
    return value
