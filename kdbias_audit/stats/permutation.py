"""Permutation calibration of the number of significant classes."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..checks import check_alpha, check_permutations
from ..defaults import DEFAULT_ALPHA, DEFAULT_PERMUTATIONS, DEFAULT_RANDOM_STATE
from ..errors import InvalidArgumentError
from .welch import as_samples, welch_core

__all__ = ["permutation_count_test", "PermutationCountResult"]

#: Largest number of splits enumerated exactly (``itertools.combinations``) by default.
MAX_EXACT_SPLITS = DEFAULT_PERMUTATIONS

# Work on at most this many float64 elements per permutation batch (about 8 MB; its
# temporaries scale with it, and so would peak memory with the number of seeds).
_BATCH_ELEMENTS = 1_000_000


# ---------------------------------------------------------------------------------------------
# Permutation calibration of the count of significant classes
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PermutationCountResult:
    """Null distribution of the number of classes with ``p <= alpha`` over splits of the pool.

    Attributes
    ----------
    observed : int
        Count for the observed split (A, B).
    pvalue : float
        Share of splits with a count ``>= observed``. Exact enumeration: over all splits (the
        observed one is among them). Random splits: ``(1 + #{null >= observed}) / (1 + P)``.
        NaN when no split was evaluated.
    expected : float
        Mean count over the evaluated splits (the expected number of false positives).
    null_counts : ndarray of int, shape (P,)
    exact : bool
        All splits were enumerated.
    """

    observed: int
    pvalue: float
    expected: float
    null_counts: np.ndarray
    exact: bool

    @property
    def n_permutations(self) -> int:
        return int(self.null_counts.shape[0])


def make_rng(random_state: Any) -> np.random.Generator:
    """``np.random.default_rng(random_state)`` with a one-line error for what it refuses (a
    negative seed, a float, a string)."""
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        if random_state < 0:
            raise InvalidArgumentError(
                f"random_state must be a non-negative integer; got {random_state}",
                parameter="random_state",
            )
    try:
        return np.random.default_rng(random_state)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(
            f"random_state {random_state!r} is not usable: {exc}"[:300], parameter="random_state"
        ) from None


def _n_splits(n_a: int, n_b: int) -> int:
    return math.comb(n_a + n_b, n_a)


def _split_orders(
    n_a: int, n_b: int, permutations: int | None, random_state: Any
) -> tuple[np.ndarray, bool]:
    """Row ``k`` lists pool indices; the first ``n_a`` go to A. Returns (orders, exact)."""
    total = n_a + n_b
    checked = check_permutations(permutations)
    limit = MAX_EXACT_SPLITS if checked is None else checked
    if _n_splits(n_a, n_b) <= limit:
        combos = np.array(list(itertools.combinations(range(total), n_a)), dtype=np.int64)
        in_a = np.zeros((combos.shape[0], total), dtype=bool)
        np.put_along_axis(in_a, combos, True, axis=1)
        return np.argsort(~in_a, axis=1, kind="stable"), True
    rng = make_rng(random_state)
    base = np.broadcast_to(np.arange(total), (limit, total))
    return rng.permuted(base, axis=1), False


def permutation_count_test(
    rel_a: Any,
    rel_b: Any,
    *,
    alpha: float = DEFAULT_ALPHA,
    permutations: int | None = None,
    random_state: Any = DEFAULT_RANDOM_STATE,
    observed: int | None = None,
) -> PermutationCountResult:
    """Is the number of significant classes more than seed noise? A permutation test.

    The ``S_a + S_b`` runs are pooled and split into groups of sizes ``S_a`` and ``S_b`` every
    possible way (``C(S_a+S_b, S_a)`` splits, when that is at most ``permutations`` or, by
    default, 10,000), else ``permutations`` (default 10,000) random splits drawn from
    ``np.random.default_rng(random_state)``. For each split the per-class Welch tests are rerun
    and the classes with ``p <= alpha`` counted; all splits and classes are computed as batched
    ``(P, S, C)`` arrays.

    ``pvalue = #{splits: count >= observed} / #splits`` (exact; the observed split is one of
    them) or ``(1 + #{random splits: count >= observed}) / (1 + P)``; ``expected`` is the mean
    count over the evaluated splits. ``permutations=0`` skips the test (NaN results).
    """
    alpha = check_alpha(alpha)
    xa, xb = as_samples(rel_a, "rel_a"), as_samples(rel_b, "rel_b")
    if xa.shape[1] != xb.shape[1]:
        raise InvalidArgumentError(
            f"rel_a has {xa.shape[1]} classes but rel_b has {xb.shape[1]}; they must match"
        )
    n_a, n_b, n_classes = xa.shape[0], xb.shape[0], xa.shape[1]
    if observed is None:
        *_, p_obs, ok_obs = welch_core(xa, xb)
        with np.errstate(invalid="ignore"):
            observed = int((ok_obs & (p_obs <= alpha)).sum())
    orders, exact = _split_orders(n_a, n_b, permutations, random_state)
    # With equal sides, every split's mirror (A and B swapped) is also a split and has the same
    # count (the Welch test is symmetric): evaluate the first half of the lexicographic
    # enumeration (the splits with run 0 in A) and mirror it (split i <-> split P-1-i).
    mirror = exact and n_a == n_b and orders.shape[0] > 1
    if mirror:
        orders = orders[: orders.shape[0] // 2]
    pool = np.concatenate([xa, xb], axis=0)
    n_splits = orders.shape[0]
    counts = np.empty(n_splits, dtype=np.int64)
    batch = max(1, _BATCH_ELEMENTS // max(1, (n_a + n_b) * n_classes))
    for start in range(0, n_splits, batch):
        block = pool[orders[start : start + batch]]  # (P, S, C)
        *_, p, testable = welch_core(block[:, :n_a], block[:, n_a:])
        with np.errstate(invalid="ignore"):
            counts[start : start + batch] = (testable & (p <= alpha)).sum(axis=1)
    if mirror:
        counts = np.concatenate([counts, counts[::-1]])
        n_splits = counts.shape[0]
    if n_splits == 0:
        return PermutationCountResult(observed, float("nan"), float("nan"), counts, exact)
    at_least = int((counts >= observed).sum())
    pvalue = at_least / n_splits if exact else (1 + at_least) / (1 + n_splits)
    return PermutationCountResult(
        observed=int(observed),
        pvalue=float(pvalue),
        expected=float(counts.mean()),
        null_counts=counts,
        exact=exact,
    )
