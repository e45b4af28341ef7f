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

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .defaults import DEFAULT_ALPHA, DEFAULT_CONFIDENCE_LEVEL
from .errors import KDAuditError
from .fairness.compare import compare_fairness
from .render.formats import pm
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
            path=str(rs.path),
            name=str(rs.name),
            seeds=[int(s) for s in rs.seeds],
            accuracy=acc,
            role=rs.role,
            model=rs.model,
            temperature=rs.temperature,
        )

    def to_dict(self) -> dict[str, Any]:
        """``{"path", "seeds", "accuracy": {"mean", "std"}}`` (fractions)."""
        return {
            "path": self.path,
            "seeds": list(self.seeds),
            "accuracy": {"mean": self.accuracy_mean, "std": self.accuracy_std},
        }


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
    fairness: Any = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of ``kdaudit compare --format json`` (NaN kept; ``render.formats.to_json``
        writes it as null). A ``"fairness"`` key is present only when fairness was computed."""
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
        import pandas as pd

        cw, dis = self.classwise, self.disagreement

        def pct(mean: float, std: float) -> str:
            return f"{pm(mean, std)} %"

        def seeds(s: RunSetSummary) -> str:
            return f"{s.path} (seeds {', '.join(map(str, s.seeds))})"

        perm = (
            f"{cw.count_pvalue:.4g} ({cw.n_permutations} {'splits, exact' if cw.permutations_exact else 'random splits'})"
            if cw.n_permutations
            else "not computed"
        )
        rows = [
            ("A", seeds(self.a)),
            ("B", seeds(self.b)),
            ("accuracy A", pct(self.a.accuracy_mean, self.a.accuracy_std)),
            ("accuracy B", pct(self.b.accuracy_mean, self.b.accuracy_std)),
            (f"significant classes (p ≤ {self.alpha:g})", f"{cw.n_significant} / {cw.n_classes}"),
            (
                f"significant classes (BH q ≤ {self.alpha:g})",
                f"{cw.n_significant_fdr} / {cw.n_classes}",
            ),
            ("untestable classes", str(cw.n_untestable)),
            ("count p-value (permutation)", perm),
            ("expected false positives", f"{cw.expected_false_positives:.2f}"),
            (
                f"disagreement rate ({dis.pairing} pairing, {dis.n_pairs} pairs)",
                pct(dis.rate_mean, dis.rate_std),
            ),
        ]
        return pd.DataFrame(rows, columns=["quantity", "value"])

    def most_affected_frame(self, k: int = 10) -> pd.DataFrame:
        """The ``k`` classes with the smallest p-values, formatted for display."""
        import pandas as pd

        top = self.classwise.most_affected(k)
        frame = pd.DataFrame(
            {
                "class": top["class"],
                "name": top["name"].map(lambda v: "" if v is None else str(v)),
                "acc A %": 100 * top["acc_a"],
                "acc B %": 100 * top["acc_b"],
                "rel A": top["rel_a"],
                "rel B": top["rel_b"],
                "delta": top["delta"],
                "CI low": top["ci_low"],
                "CI high": top["ci_high"],
                "p": top["pvalue"],
                "q": top["qvalue"],
                "sig": top["significant"].map(lambda v: "*" if v else ""),
            }
        )
        return frame if self.classwise.class_names is not None else frame.drop(columns=["name"])

    def top_pairs_frame(self, k: int = 10) -> pd.DataFrame:
        return self.disagreement.top_pairs_frame(k)

    def _repr_html_(self) -> str:
        title = f"<h4>{html.escape(self.b.name)} vs {html.escape(self.a.name)}</h4>"
        parts = [
            title,
            self.summary_frame().to_html(index=False),
            "<p><b>Most affected classes</b></p>",
            self.most_affected_frame(10).to_html(index=False, float_format=lambda v: f"{v:.4g}"),
            "<p><b>Top disagreeing class pairs (A-pred, B-pred)</b></p>",
            self.top_pairs_frame(10).to_html(index=False, float_format=lambda v: f"{v:.4g}"),
        ]
        if self.fairness is not None:
            parts += [
                "<p><b>Fairness</b></p>",
                self.fairness.to_frame().to_html(index=False, float_format=lambda v: f"{v:.4g}"),
            ]
        return "\n".join(parts)


def compare(
    a: RunSet,
    b: RunSet,
    *,
    alpha: float = DEFAULT_ALPHA,
    permutations: int | None = None,
    pairing: Literal["seed", "all"] = "seed",
    random_state: Any = 0,
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
        raise KDAuditError(f"pairing must be 'seed' or 'all'; got {pairing!r}")
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
    return Comparison(
        a=RunSetSummary.of(a, cw.seed_accuracy_a),
        b=RunSetSummary.of(b, cw.seed_accuracy_b),
        alpha=cw.alpha,
        classwise=cw,
        disagreement=dis,
        fairness=fair,
    )
