"""The fairness audit of a run set: DPD and EOD per sensitive attribute, across seeds."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..defaults import DEFAULT_BOOTSTRAP
from ..errors import KDAuditError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..io.runset import RunSet
from ..checks import where
from ..frames import frame_method
from ..plainjson import plain
from .attributes import attribute_codes, parse_sensitive, resolve_positive
from .audit_uncertainty import uncertainty_fields, with_uncertainty
from .counts import GroupCounts, freeze, group_counts, one_vs_rest_counts
from .rates import (
    combine_eod,
    eod_messages,
    eod_parts,
    fpr,
    listing,
    selection_rate,
    spread,
    tpr,
    undefined_message,
    warn_messages,
)
from .sparse import SPARSE_MIN_CELLS, sparse_one_vs_rest
from .uncertainty import DisparityUncertainty, DPDNull

__all__ = ["AttributeFairness", "FairnessAudit", "fairness_audit", "parse_sensitive"]


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
        Shape ``(n_seeds, n_classes_audited, n_groups)``. With many groups x classes (the
        sparse path, ``fairness/sparse.py``) it is built only when asked for.
    dpd_per_class, eod_per_class : ndarray, shape (n_seeds, n_classes_audited)
    dpd_per_seed, eod_per_seed : ndarray, shape (n_seeds,)
        Mean over classes of the defined per-class values (Algorithm 1); binary: the one class.
    uncertainty : tuple of DisparityUncertainty, or None
        Per seed: bootstrap CIs and noise floors of DPD and EOD (``fairness_audit(...,
        n_resamples=...)``; :mod:`kdbias_audit.fairness.uncertainty`).
    """

    attribute: str
    components: tuple[str, ...]
    mode: Literal["binary", "one-vs-rest"]
    groups: tuple[str, ...]
    classes: tuple[str, ...]
    positive_class: int | None
    seeds: tuple[int, ...]
    _counts: Any  # GroupCounts, or a function building it (sparse path: on demand)
    dpd_per_class: np.ndarray
    eod_per_class: np.ndarray
    dpd_per_seed: np.ndarray
    eod_per_seed: np.ndarray
    uncertainty: tuple[DisparityUncertainty, ...] | None = None

    def __post_init__(self) -> None:
        freeze(self, ("dpd_per_class", "eod_per_class", "dpd_per_seed", "eod_per_seed"))

    @property
    def counts(self) -> GroupCounts:
        if callable(self._counts):
            object.__setattr__(self, "_counts", self._counts())
        return self._counts

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
        """The JSON object of the contract (fractions; plain values, NaN/inf as ``None``)."""
        return plain(
            {
                "mode": self.mode,
                "groups": list(self.groups),
                "dpd": {
                    "mean": self.dpd_mean,
                    "std": self.dpd_std,
                    "per_seed": self.dpd_per_seed,
                    **uncertainty_fields(self.uncertainty, "dpd"),
                },
                "eod": {
                    "mean": self.eod_mean,
                    "std": self.eod_std,
                    "per_seed": self.eod_per_seed,
                    **uncertainty_fields(self.uncertainty, "eod"),
                },
            }
        )

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
    codes, groups = attribute_codes(runset, components)
    n_groups = len(groups)
    classes: tuple[str, ...]
    k = int(runset.num_classes)
    context = f"{runset.name}, attribute '{key}': "
    if mode != "binary" and preds.shape[0] * k * n_groups > SPARSE_MIN_CELLS:
        return _audit_sparse(
            runset, key, components, labels, preds, codes, groups, class_names, context
        )
    if mode == "binary":
        assert positive is not None  # resolved by fairness_audit
        counts = group_counts(labels, preds, codes, n_groups, positive=positive)[:, None, :]
        classes = (class_names[positive],)
    else:
        counts = one_vs_rest_counts(labels, preds, codes, n_groups, k)
        classes = tuple(class_names)
    sr = selection_rate(counts)
    dpd_c = np.asarray(spread(sr))
    t, f, ts, fs = eod_parts(counts)
    eod_c = combine_eod(ts, fs)
    cls = classes if mode == "one-vs-rest" else None
    messages = [
        undefined_message(np.isnan(sr), "selection rate", "no samples", groups, cls, context),
        *eod_messages(t, f, np.zeros(0), groups, cls, context)[:2],
    ]
    messages += _nan_class_messages(dpd_c, eod_c, mode, classes, context)
    warn_messages(messages, stacklevel=4)
    return AttributeFairness(
        attribute=key,
        components=components,
        mode=mode,  # type: ignore[arg-type]
        groups=tuple(groups),
        classes=classes,
        positive_class=positive if mode == "binary" else None,
        seeds=tuple(int(s) for s in runset.seeds),
        _counts=counts,
        dpd_per_class=dpd_c,
        eod_per_class=eod_c,
        dpd_per_seed=_class_mean(dpd_c),
        eod_per_seed=_class_mean(eod_c),
    )


def _nan_class_messages(
    dpd_c: np.ndarray, eod_c: np.ndarray, mode: str, classes: tuple[str, ...], context: str
) -> list[str]:
    messages = []
    for name, values in (("DPD", dpd_c), ("EOD", eod_c)):
        bad = np.isnan(values).any(axis=0)
        if bad.any():
            if mode == "one-vs-rest" and not bad.all():
                listed = listing([f"'{classes[j]}'" for j in np.flatnonzero(bad)])
                messages.append(
                    f"{context}{name} undefined for class {listed} (fewer than two "
                    "groups with a defined rate); excluded from the class average"
                )
            else:
                messages.append(
                    f"{context}{name} is NaN: fewer than two groups have a defined rate"
                )
    return messages


def _audit_sparse(
    runset: Any,
    key: str,
    components: tuple[str, ...],
    labels: np.ndarray,
    preds: np.ndarray,
    codes: np.ndarray,
    groups: list[str],
    class_names: list[str],
    context: str,
) -> AttributeFairness:
    """One-vs-rest over many groups x classes: memory follows the samples, not ``K * G``."""
    k, n_groups = int(runset.num_classes), len(groups)
    dpd_c, eod_c, tpr_undef, fpr_undef = sparse_one_vs_rest(labels, preds, codes, n_groups, k)
    classes = tuple(class_names)
    messages: list[str] = []
    if tpr_undef:
        messages.append(
            f"{context}TPR undefined for {tpr_undef:,} of {n_groups * k:,} (group, class) cells "
            "(no positives); excluded from the TPR spread"
        )
    if fpr_undef:
        messages.append(
            f"{context}FPR undefined for {fpr_undef:,} (seed, group, class) cells (no "
            "negatives); excluded from the FPR spread"
        )
    messages += _nan_class_messages(dpd_c, eod_c, "one-vs-rest", classes, context)
    warn_messages(messages, stacklevel=5)
    return AttributeFairness(
        attribute=key,
        components=components,
        mode="one-vs-rest",
        groups=tuple(groups),
        classes=classes,
        positive_class=None,
        seeds=tuple(int(s) for s in runset.seeds),
        _counts=lambda: one_vs_rest_counts(labels, preds, codes, n_groups, k),
        dpd_per_class=dpd_c,
        eod_per_class=eod_c,
        dpd_per_seed=_class_mean(dpd_c),
        eod_per_seed=_class_mean(eod_c),
    )


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

    @frame_method
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
        from ..render.views import fairness_audit_frame

        return fairness_audit_frame(self)

    def group_rates(self, attribute: str) -> pd.DataFrame:
        """Per seed x class x group counts and rates of one attribute (see
        :meth:`AttributeFairness.group_rates`)."""
        return self[attribute].group_rates()

    def per_class(self, attribute: str) -> pd.DataFrame:
        return self[attribute].per_class()

    def _repr_html_(self) -> str:
        from ..render.views import result_html

        return result_html(self)


def fairness_audit(
    runset: RunSet,
    *,
    sensitive: Sequence[str] | None = None,
    positive_class: int | None = None,
    confidence_level: float | None = None,
    n_resamples: int | None = None,
    random_state: Any = 0,
    dpd_null: DPDNull = "pooled",
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
    confidence_level, n_resamples : optional
        Either one asks for the noise floor of every per-seed value with its p-value, from
        ``n_resamples`` (default 1,000, at least 100) counts-based draws;
        ``confidence_level`` also asks for a stratified bootstrap CI at that level
        (:func:`kdbias_audit.fairness.uncertainty.disparity_uncertainty`).
    random_state : int or numpy seed
        Seed of those resamples.
    dpd_null : {"pooled", "labels"}, default "pooled"
        The DPD noise floor's null: groups at the pooled selection rate (a random-sample test
        set) or each group's labels kept with its errors at the pooled TPR/FPR (a test set
        whose label mix per group is designed, as Trifeature's).

    Returns
    -------
    FairnessAudit

    Raises
    ------
    KDAuditError
        No group attributes, an unknown attribute, or an invalid positive class.
    """
    label = where(runset)
    available = tuple(runset.group_attributes)
    if not available:
        raise KDAuditError(f"{label}: no group columns (group.<attribute>) to audit fairness on")
    specs = parse_sensitive(sensitive, available, where=label)
    k = int(runset.num_classes)
    if k == 2:
        mode, positive = "binary", resolve_positive(runset, positive_class)
    else:
        if positive_class is not None:
            raise KDAuditError(
                f"{label}: positive_class applies to binary tasks only; this task "
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
    if confidence_level is not None or n_resamples is not None:
        results = with_uncertainty(
            runset,
            results,
            confidence_level=confidence_level,
            n_resamples=DEFAULT_BOOTSTRAP if n_resamples is None else n_resamples,
            random_state=random_state,
            dpd_null=dpd_null,
        )
    path = getattr(runset, "path", None)
    return FairnessAudit(
        runset=str(runset.name),
        path=None if path is None else str(path),
        num_classes=k,
        seeds=tuple(int(s) for s in runset.seeds),
        results=results,
    )
