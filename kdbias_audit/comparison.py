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
from .defaults import (
    DEFAULT_ALPHA,
    DEFAULT_CONFIDENCE_LEVEL,
    DEFAULT_RANDOM_STATE,
    DEFAULT_RESAMPLES,
    MIN_RESAMPLES,
)
from .errors import InvalidArgumentError
from .fairness.compare import FairnessComparison, compare_fairness
from .frames import frame_method
from .plainjson import plain
from .stats.classwise import classwise_test
from .stats.disagreement import DisagreementResult, disagreement

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .io.runset import RunSet

__all__ = [
    "RunSetSummary",
    "Comparison",
    "compare",
    "resolve_method",
    "seed_pairs",
    "JSON_FORMAT_VERSION",
]

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
    method : {"seeds", "samples"}
        ``"samples"``: ``classwise`` is a
        :class:`~kdbias_audit.stats.paired.PairedClasswiseResult` (sample-level paired tests)
        and the fairness differences come from the paired bootstrap/permutation.
    pairs : list of (seed A, seed B)
        The seed pairs of a sample-level comparison (empty for ``"seeds"``).
    """

    a: RunSetSummary
    b: RunSetSummary
    alpha: float
    classwise: Any  # ClasswiseResult (seeds) or PairedClasswiseResult (samples)
    disagreement: DisagreementResult
    fairness: FairnessComparison | None = None
    method: str = "seeds"
    pairs: tuple[tuple[int, int], ...] = ()

    @property
    def header(self) -> str | None:
        """What a sample-level comparison tests, and its limit (None for seeds)."""
        if self.method != "samples":
            return None
        pairs = len(self.pairs)
        unit = "one checkpoint per side" if pairs == 1 else f"{pairs} seed pairs pooled by sample"
        return (
            f"Sample-level paired tests ({unit}; test samples are the unit): do these two models "
            "differ on this test set? With one checkpoint per side a difference is not "
            "attributable to distillation rather than to training noise (that needs seeds)."
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of ``kdaudit compare --format json`` (plain values; NaN/inf as
        ``None``). A ``"fairness"`` key is present only when fairness was computed."""
        out: dict[str, Any] = {
            "format_version": JSON_FORMAT_VERSION,
            "method": self.method,
            "a": self.a.to_dict(),
            "b": self.b.to_dict(),
            "alpha": float(self.alpha),
            "classwise": self.classwise.to_dict(),
            "disagreement": self.disagreement.to_dict(),
        }
        if self.fairness is not None:
            out["fairness"] = self.fairness.to_dict()
        return out

    @frame_method
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
    method: Literal["seeds", "samples", "auto"] = "seeds",
    n_resamples: int = DEFAULT_RESAMPLES,
) -> Comparison:
    """Compare run set B (e.g. a distilled student) against run set A (teacher or NDS).

    Runs :func:`kdbias_audit.stats.classwise.classwise_test` (per-class Welch tests on relative class
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
    method : {"seeds", "samples", "auto"}
        ``"seeds"``: the seed-level Welch analysis above (at least 2 seeds per side).
        ``"samples"``: sample-level paired tests (:func:`kdbias_audit.stats.paired.
        paired_classwise_test`, :func:`kdbias_audit.fairness.paired.compare_fairness_samples`),
        usable with one checkpoint per side; seeds are paired by seed value when both sides
        have the same seeds, else by position in seed order (the extra seeds of the larger
        side are left out), and pairs are pooled by sample. ``"auto"``: seeds when both
        sides have at least 2 seeds, else samples (:func:`resolve_method`).
    n_resamples : int
        Sample-level analysis only: paired permutations of the count test and bootstrap /
        permutation draws of the fairness differences (at least 100).

    Returns
    -------
    Comparison
    """
    if pairing not in ("seed", "all"):
        raise InvalidArgumentError(
            f"pairing must be 'seed' or 'all'; got {pairing!r}", parameter="pairing"
        )
    if resolve_method(a, b, method) == "samples":
        return _compare_samples(
            a,
            b,
            alpha=alpha,
            pairing=pairing,
            random_state=random_state,
            sensitive=sensitive,
            positive_class=positive_class,
            confidence_level=confidence_level,
            n_resamples=n_resamples,
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


def resolve_method(a: RunSet, b: RunSet, method: str) -> Literal["seeds", "samples"]:
    """``"auto"`` -> ``"seeds"`` when both sides have at least 2 seeds, else ``"samples"``."""
    if method not in ("seeds", "samples", "auto"):
        raise InvalidArgumentError(
            f"method must be 'seeds', 'samples' or 'auto'; got {method!r}", parameter="method"
        )
    if method == "auto":
        return "seeds" if min(len(a.seeds), len(b.seeds)) >= 2 else "samples"
    return method  # type: ignore[return-value]


def seed_pairs(a: RunSet, b: RunSet) -> list[tuple[int, int]]:
    """Index pairs ``(i_a, i_b)`` of the seeds a sample-level comparison pairs.

    Same seed values on both sides: paired by value. Otherwise by position in seed order,
    ``min(S_a, S_b)`` pairs.
    """
    sa, sb = [int(s) for s in a.seeds], [int(s) for s in b.seeds]
    if sorted(sa) == sorted(sb):
        return [(sa.index(s), sb.index(s)) for s in sorted(sa)]
    oa = sorted(range(len(sa)), key=lambda i: sa[i])
    ob = sorted(range(len(sb)), key=lambda i: sb[i])
    return list(zip(oa, ob, strict=False))


def _compare_samples(
    a: RunSet,
    b: RunSet,
    *,
    alpha: float,
    pairing: Literal["seed", "all"],
    random_state: Any,
    sensitive: Sequence[str] | None,
    positive_class: int | None,
    confidence_level: float,
    n_resamples: int,
) -> Comparison:
    from .fairness.paired import compare_fairness_samples
    from .stats.paired import paired_classwise_test
    from .stats.resample import check_resamples

    check_resamples(n_resamples, name="n_resamples", minimum=MIN_RESAMPLES)
    if a.num_classes != b.num_classes:
        raise InvalidArgumentError(
            f"{b.path}: has {b.num_classes} classes but {a.path} has {a.num_classes}; "
            "compared run sets must have the same classes"
        )
    pairs = seed_pairs(a, b)
    ia, ib = [i for i, _ in pairs], [j for _, j in pairs]
    pa, pb = np.asarray(a.preds), np.asarray(b.preds)
    rng = np.random.default_rng(random_state)
    names = a.class_names or b.class_names
    cw = paired_classwise_test(
        a.label,
        pa[ia],
        pb[ib],
        int(a.num_classes),
        alpha=alpha,
        confidence_level=confidence_level,
        n_resamples=n_resamples,
        random_state=rng,
        class_names=list(names) if names is not None else None,
    )
    if not set(a.seeds) & set(b.seeds):
        pairing = "all"  # e.g. one checkpoint per side with different seed values
    dis = disagreement(a, b, pairing=pairing)
    fair = compare_fairness_samples(
        a,
        b,
        pairs=pairs,
        sensitive=list(sensitive) if sensitive else None,
        positive_class=positive_class,
        alpha=alpha,
        confidence_level=confidence_level,
        n_resamples=n_resamples,
        random_state=rng,
    )
    seeds_a, seeds_b = [int(s) for s in a.seeds], [int(s) for s in b.seeds]
    return Comparison(
        a=RunSetSummary.of(a, np.asarray(a.accuracy, dtype=float)),
        b=RunSetSummary.of(b, np.asarray(b.accuracy, dtype=float)),
        alpha=float(alpha),
        classwise=cw,
        disagreement=dis,
        fairness=fair if fair is not None and fair.results else None,
        method="samples",
        pairs=tuple((seeds_a[i], seeds_b[j]) for i, j in pairs),
    )
