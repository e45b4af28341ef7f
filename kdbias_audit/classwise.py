"""Deprecated import path: the class-wise audit now lives in :mod:`kdbias_audit.stats`.

Import from ``kdbias_audit`` (or ``kdbias_audit.stats.<module>``) instead; this module only
re-exports the names it used to define.
"""

from __future__ import annotations

import warnings

from .stats.classwise import ClasswiseResult, SeedAccuracy, classwise_test, seed_accuracies
from .stats.multitest import benjamini_hochberg
from .stats.permutation import MAX_EXACT_SPLITS, PermutationCountResult, permutation_count_test
from .stats.welch import WelchResult, welch_classwise

__all__ = [
    "SeedAccuracy",
    "WelchResult",
    "ClasswiseResult",
    "seed_accuracies",
    "welch_classwise",
    "benjamini_hochberg",
    "permutation_count_test",
    "PermutationCountResult",
    "classwise_test",
    "MAX_EXACT_SPLITS",
]

warnings.warn(
    "kdbias_audit.classwise is deprecated; import from kdbias_audit or kdbias_audit.stats",
    DeprecationWarning,
    stacklevel=2,
)
