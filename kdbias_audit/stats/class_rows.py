"""What the two class-wise result types share: class names, the most affected classes and the
summary counts (:class:`~kdbias_audit.stats.classwise.ClasswiseResult`, seed level, and
:class:`~kdbias_audit.stats.paired.PairedClasswiseResult`, sample level)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["ClassRows"]


class _ClassResult(Protocol):
    @property
    def class_names(self) -> list[str] | None: ...
    @property
    def delta(self) -> np.ndarray: ...
    @property
    def pvalue(self) -> np.ndarray: ...
    @property
    def n_classes(self) -> int: ...
    @property
    def n_significant(self) -> int: ...
    @property
    def n_significant_fdr(self) -> int: ...
    @property
    def n_untestable(self) -> int: ...
    @property
    def count_pvalue(self) -> float: ...
    @property
    def expected_false_positives(self) -> float: ...
    def to_frame(self) -> pd.DataFrame: ...


class ClassRows:
    """Mixin of a result with one row per class; ``draws_field`` names its count of
    permutations or resamples (the last entry of :meth:`summary`)."""

    draws_field: ClassVar[str]

    def class_name(self: _ClassResult, c: int) -> str | None:
        if self.class_names is None or c >= len(self.class_names):
            return None
        return str(self.class_names[c])

    def most_affected(self: _ClassResult, k: int = 10) -> pd.DataFrame:
        """The ``k`` classes with the smallest p-values (ties: larger ``|delta|`` first; NaN last)."""
        df = self.to_frame()
        key = np.where(np.isfinite(self.pvalue), self.pvalue, np.inf)
        order = np.lexsort((-np.abs(np.nan_to_num(self.delta)), key))
        return df.iloc[order[: max(0, int(k))]].reset_index(drop=True)

    def summary(self) -> dict[str, Any]:
        r: _ClassResult = self  # type: ignore[assignment]
        return {
            "n_classes": int(r.n_classes),
            "n_significant": int(r.n_significant),
            "n_significant_fdr": int(r.n_significant_fdr),
            "n_untestable": int(r.n_untestable),
            "count_pvalue": float(r.count_pvalue),
            "expected_false_positives": float(r.expected_false_positives),
            self.draws_field: int(getattr(self, self.draws_field)),
        }
