"""Group counts: one ``np.bincount`` turns ``(y_true, y_pred, groups)`` into per-group counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InvalidArgumentError
from ..frames import frame_method

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


__all__ = ["GroupCounts", "group_counts", "one_vs_rest_counts"]

INTERSECTION_SEP = "&"


# --------------------------------------------------------------------------------------------
# Counts
# --------------------------------------------------------------------------------------------


def freeze(obj: Any, fields: Sequence[str]) -> None:
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
        freeze(self, ("n", "positives", "predicted_positives", "true_positives"))

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

    @frame_method
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


def as_codes(group_codes: Any, n_groups: int, n: int, what: str = "group_codes") -> np.ndarray:
    codes = np.asarray(group_codes)
    if codes.ndim != 1 or codes.shape[0] != n:
        raise InvalidArgumentError(f"{what}: expected shape ({n},), got {codes.shape}")
    if codes.dtype.kind not in "iub":
        raise InvalidArgumentError(f"{what}: expected integer codes, got dtype {codes.dtype}")
    codes = codes.astype(np.int64, copy=False)
    if n and (codes.min() < 0 or codes.max() >= n_groups):
        raise InvalidArgumentError(
            f"{what}: codes must lie in [0, {n_groups}), found "
            f"{int(codes.min())}..{int(codes.max())}"
        )
    return codes


def _label_arrays(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray, int]:
    """``y_true`` (1-D) and ``y_pred`` (``(N,)`` or ``(n_seeds, N)``) as arrays, and ``N``."""
    y = np.asarray(y_true)
    pred = np.asarray(y_pred)
    if y.ndim != 1:
        raise InvalidArgumentError(f"y_true: expected a 1-D array, got shape {y.shape}")
    n = y.shape[0]
    if pred.shape[-1:] != (n,) or pred.ndim not in (1, 2):
        raise InvalidArgumentError(
            f"y_pred: expected shape ({n},) or (n_seeds, {n}), got {pred.shape}"
        )
    return y, pred, n


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
    y, pred, n = _label_arrays(y_true, y_pred)
    codes = as_codes(group_codes, n_groups, n)
    base = codes * 4 + 2 * (y == positive)
    cell = base + (pred == positive)  # broadcasts over seeds
    n_seeds = 1 if pred.ndim == 1 else pred.shape[0]
    if pred.ndim == 2:
        cell = cell + (np.arange(n_seeds, dtype=np.int64) * (4 * n_groups))[:, None]
    weights = None
    if sample_weight is not None:
        w = np.asarray(sample_weight, dtype=float)
        if w.shape != (n,):
            raise InvalidArgumentError(f"sample_weight: expected shape ({n},), got {w.shape}")
        if not np.isfinite(w).all() or (w < 0).any():
            bad = int(np.flatnonzero(~np.isfinite(w) | (w < 0))[0])
            raise InvalidArgumentError(
                f"sample_weight: weights must be finite and non-negative; "
                f"sample_weight[{bad}] is {w[bad]}",
                parameter="sample_weight",
            )
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
    y, pred, n = _label_arrays(y_true, y_pred)
    for name, arr in (("y_true", y), ("y_pred", pred)):
        if arr.dtype.kind not in "iub":
            raise InvalidArgumentError(
                f"{name}: expected integer class indices, got dtype {arr.dtype}"
            )
        if arr.size and (arr.min() < 0 or arr.max() >= n_classes):
            raise InvalidArgumentError(f"{name}: class indices must lie in [0, {n_classes})")
    codes = as_codes(group_codes, n_groups, n)
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


def intersect_codes(
    codes: Sequence[np.ndarray], levels: Sequence[Sequence[str]]
) -> tuple[np.ndarray, list[str]]:
    """Codes and names of the intersectional groups present in the data.

    Groups are the level combinations that occur, sorted by the first attribute's level, then
    the second's...; names join the levels with ``&``. Combinations are found with one
    ``np.unique`` over the stacked code columns, never as a mixed-radix number (which
    overflows int64 with a few attributes of many levels and would merge groups silently).
    """
    stacked = np.stack([np.asarray(c, dtype=np.int64) for c in codes], axis=1)
    combos, inverse = np.unique(stacked, axis=0, return_inverse=True)
    names = [
        INTERSECTION_SEP.join(str(levels[j][row[j]]) for j in range(len(levels)))
        for row in combos.tolist()
    ]
    return inverse.reshape(-1).astype(np.int64), names
