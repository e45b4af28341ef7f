"""Compare two run sets: class-wise Welch tests, disagreement and (when groups exist) fairness.

This is the computation behind ``kdaudit compare A B``; the command only loads, calls
:func:`compare` and formats the :class:`Comparison` it returns. In a notebook::

    from kdbias_audit import load_runsets
    from kdbias_audit.comparison import compare

    teacher, student = load_runsets(["runs/teacher", "runs/ds_T6"])
    result = compare(teacher, student)
    result.classwise.to_frame()            # one row per class
    result.disagreement.top_pairs(10)      # most frequent (A-pred, B-pred) disagreements
    result                                  # renders as HTML tables in Jupyter
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .checks import printable
from .defaults import DEFAULT_ALPHA, DEFAULT_CONFIDENCE_LEVEL, DEFAULT_RANDOM_STATE
from .errors import InvalidArgumentError
from .fairness.compare import FairnessComparison, compare_fairness
from .plainjson import plain
from .stats.classwise import ClasswiseResult, classwise_test
from .stats.disagreement import DisagreementResult, disagreement

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .io.runset import RunSet

__all__ = ["RunSetSummary", "Comparison", "compare", "JSON_FORMAT_VERSION"]

#: Version of the ``kdaudit compare --format json`` document.
JSON_FORMAT_VERSION = 1


@dataclass(frozen=True, eq=False)
class RunSetSummary:
    """Who was compared: a run set's path, seeds and overall accuracy per seed.

    ``accuracy_std`` is the sample standard deviation over seeds (ddof=1; NaN for one seed).
    """

    path: str
    name: str
    seeds: list[int]
    accuracy: np.ndarray
    role: str | None = None
    model: str | None = None
    temperature: float | None = None

    @property
    def accuracy_mean(self) -> float:
        return float(np.mean(self.accuracy))

    @property
    def accuracy_std(self) -> float:
        return float(np.std(self.accuracy, ddof=1)) if self.accuracy.size > 1 else float("nan")

    @classmethod
    def of(cls, rs: RunSet, accuracy: np.ndarray | None = None) -> RunSetSummary:
        acc = np.asarray(rs.accuracy if accuracy is None else accuracy, dtype=float)
        return cls(
            path=printable(rs.path),
            name=str(rs.name),
            seeds=[int(s) for s in rs.seeds],
            accuracy=acc,
            role=rs.role,
            model=rs.model,
            temperature=rs.temperature,
        )

    def to_dict(self) -> dict[str, Any]:
        """``{"path", "seeds", "accuracy": {"mean", "std"}}`` (fractions; NaN/inf as ``None``)."""
        return plain(
            {
                "path": self.path,
                "seeds": list(self.seeds),
                "accuracy": {"mean": self.accuracy_mean, "std": self.accuracy_std},
            }
        )


@dataclass(frozen=True, eq=False)
class Comparison:
    """Everything ``kdaudit compare A B`` reports.

    Attributes
    ----------
    a, b : RunSetSummary
    alpha : float
    classwise : ClasswiseResult
        Per-class Welch tests of B's relative class accuracy against A's, BH q-values and the
        permutation calibration of the significant-class count.
    disagreement : DisagreementResult
    fairness : FairnessComparison or None
        From ``kdbias_audit.fairness.compare_fairness``; None when the run sets share no group
        attribute.
    """

    a: RunSetSummary
    b: RunSetSummary
    alpha: float
    classwise: ClasswiseResult
    disagreement: DisagreementResult
    fairness: FairnessComparison | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of ``kdaudit compare --format json`` (plain values; NaN/inf as
        ``None``). A ``"fairness"`` key is present only when fairness was computed."""
        out: dict[str, Any] = {
            "format_version": JSON_FORMAT_VERSION,
            "a": self.a.to_dict(),
            "b": self.b.to_dict(),
            "alpha": float(self.alpha),
            "classwise": self.classwise.to_dict(),
            "disagreement": self.disagreement.to_dict(),
        }
        if self.fairness is not None:
            out["fairness"] = self.fairness.to_dict()
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row per class: the class-wise test columns plus the per-class disagreement rate."""
        df = self.classwise.to_frame()
        df["disagreement_rate"] = self.disagreement.per_class_rate
        return df

    def summary_frame(self) -> pd.DataFrame:
        """Headline numbers as a two-column (``quantity``, ``value``) table of strings."""
        from .render.views import comparison_summary_frame

        return comparison_summary_frame(self)

    def most_affected_frame(self, k: int = 10) -> pd.DataFrame:
        """The ``k`` classes with the smallest p-values, formatted for display."""
        from .render.views import most_affected_frame

        return most_affected_frame(self, k)

    def top_pairs_frame(self, k: int = 10) -> pd.DataFrame:
        return self.disagreement.top_pairs_frame(k)

    def _repr_html_(self) -> str:
        from .render.views import result_html

        return result_html(self)


def compare(
    a: RunSet,
    b: RunSet,
    *,
    alpha: float = DEFAULT_ALPHA,
    permutations: int | None = None,
    pairing: Literal["seed", "all"] = "seed",
    random_state: Any = DEFAULT_RANDOM_STATE,
    sensitive: Sequence[str] | None = None,
    positive_class: int | None = None,
    confidence_level: float = DEFAULT_CONFIDENCE_LEVEL,
) -> Comparison:
    """Compare run set B (e.g. a distilled student) against run set A (teacher or NDS).

    Runs :func:`kdbias_audit.classwise.classwise_test` (per-class Welch tests on relative class
    accuracy, BH q-values, permutation calibration of the significant-class count),
    :func:`kdbias_audit.disagreement` and, when the run sets share group
    attributes, ``kdbias_audit.fairness.compare_fairness``.

    Parameters
    ----------
    a, b : RunSet
        Aligned run sets (``load_runsets([A, B])``), at least 2 seeds each.
    alpha : float
        Significance level of the class-wise tests (and of the fairness comparison).
    permutations : int or None
        Splits for the permutation calibration: all when there are at most this many
        (None: 10,000), else this many random splits; 0 skips it.
    pairing : {"seed", "all"}
        How runs are paired for disagreement.
    random_state : int
        Seed of the random permutation splits.
    sensitive : sequence of str, optional
        Group attributes for fairness (default: all shared ones).
    positive_class : int, optional
        Positive class of a binary task for fairness (default: metadata, else 1).

    Returns
    -------
    Comparison
    """
    if pairing not in ("seed", "all"):
        raise InvalidArgumentError(
            f"pairing must be 'seed' or 'all'; got {pairing!r}", parameter="pairing"
        )
    cw = classwise_test(
        a,
        b,
        alpha=alpha,
        permutations=permutations,
        random_state=random_state,
        confidence_level=confidence_level,
    )
    dis = disagreement(a, b, pairing=pairing)
    fair = compare_fairness(
        a,
        b,
        sensitive=list(sensitive) if sensitive else None,
        positive_class=positive_class,
        alpha=cw.alpha,
    )
    # ``fairness`` is None when nothing was compared (no shared group attribute)
    return Comparison(
        a=RunSetSummary.of(a, cw.seed_accuracy_a),
        b=RunSetSummary.of(b, cw.seed_accuracy_b),
        alpha=cw.alpha,
        classwise=cw,
        disagreement=dis,
        fairness=fair if fair.results else None,
    )
