"""Sweep result types: one row per model, frames and JSON."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas as pd

    from ..fairness.audit import AttributeFairness, FairnessAudit
    from ..io.fs import Location
    from ..io.runset import RunSet
    from ..stats.classwise import ClasswiseResult
    from ..stats.disagreement import DisagreementResult
from ..defaults import DEFAULT_RANDOM_STATE
from ..frames import frame_method
from ..plainjson import plain
from .discover import ROLE_LABEL, Role, alpha_key

__all__ = ["SweepRow", "SweepResult", "JSON_FORMAT_VERSION"]

#: Version of the ``kdaudit sweep --format json`` document.
JSON_FORMAT_VERSION = 1


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


def _mean_std(values: np.ndarray) -> tuple[float, float]:
    arr = np.asarray(values, dtype=float)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return float("nan"), float("nan")
    return float(arr.mean()), float(arr.std(ddof=1)) if arr.size > 1 else float("nan")


@dataclass(frozen=True, eq=False)
class SweepRow:
    """One model of a sweep and everything computed for it.

    Attributes
    ----------
    runset
        The loaded, aligned run set.
    role, temperature, kd_alpha
        Its role (``teacher``/``baseline``/``distilled``), softmax temperature and distillation
        weight (``None`` where not applicable / not recorded).
    accuracy
        Overall test accuracy per seed, shape ``(S,)``, fractions.
    class_accuracy
        Per-seed class accuracy ``a_cs``, shape ``(S, C)``.
    vs_baseline, vs_teacher
        Class-wise test NDS vs this model (#SC) and teacher vs this model (#TC); ``None`` for the
        teacher and the NDS rows.
    disagreement
        Disagreement teacher vs this model (``None`` for the teacher row).
    fairness
        Group-fairness audit (``None`` when the sweep has no group attributes).
    """

    runset: RunSet
    role: Role
    temperature: float | None
    kd_alpha: float | None
    accuracy: np.ndarray
    class_accuracy: np.ndarray
    vs_baseline: ClasswiseResult | None = None
    vs_teacher: ClasswiseResult | None = None
    disagreement: DisagreementResult | None = None
    fairness: FairnessAudit | None = None

    @property
    def name(self) -> str:
        return self.runset.name

    @property
    def label(self) -> str:
        """``Teacher``, ``NDS`` or ``DS`` (the paper's Model column)."""
        return ROLE_LABEL[self.role]

    @property
    def seeds(self) -> list[int]:
        return list(self.runset.seeds)

    @property
    def class_accuracy_mean(self) -> np.ndarray:
        """Mean class accuracy over seeds, ``(C,)`` (NaN for a class absent from the labels)."""
        ca = np.asarray(self.class_accuracy, dtype=float)
        out = np.full(ca.shape[1], np.nan)
        ok = np.isfinite(ca).any(axis=0)
        out[ok] = np.nanmean(ca[:, ok], axis=0)
        return out

    def accuracy_mean_std(self) -> tuple[float, float]:
        return _mean_std(self.accuracy)

    def fairness_of(self, attribute: str) -> AttributeFairness | None:
        """The fairness audit of one attribute (``None`` when not audited)."""
        if self.fairness is None or attribute not in self.fairness:
            return None
        return self.fairness[attribute]

    def fairness_mean_std(
        self, attribute: str, metric: Literal["dpd", "eod"]
    ) -> tuple[float, float]:
        """Mean and sample std over seeds of ``metric`` (NaN, NaN when not audited)."""
        audit = self.fairness_of(attribute)
        if audit is None:
            return float("nan"), float("nan")
        if metric == "dpd":
            return audit.dpd_mean, audit.dpd_std
        return audit.eod_mean, audit.eod_std

    def fairness_noise_floor(self, attribute: str, metric: Literal["dpd", "eod"]) -> float:
        """Mean over seeds of the noise floor (NaN when it was not computed)."""
        audit = self.fairness_of(attribute)
        if audit is None or not audit.uncertainty:
            return float("nan")
        floors = [getattr(u, metric).noise_floor for u in audit.uncertainty]
        finite = [float(v) for v in floors if np.isfinite(v)]
        return float(np.mean(finite)) if finite else float("nan")

    def fairness_per_seed(self, attribute: str, metric: Literal["dpd", "eod"]) -> np.ndarray:
        """``metric`` per seed (empty when not audited)."""
        audit = self.fairness_of(attribute)
        if audit is None:
            return np.zeros(0)
        return np.asarray(audit.dpd_per_seed if metric == "dpd" else audit.eod_per_seed)

    @property
    def fairness_dict(self) -> dict[str, Any]:
        """The fairness audit as its JSON object (``{}`` without group attributes)."""
        return {} if self.fairness is None else self.fairness.to_dict()


def _row_head(kd_alpha: float | None, r: SweepRow) -> dict[str, Any]:
    """The columns that identify a row in the numeric frames."""
    return {
        "kd_alpha": np.nan if kd_alpha is None else kd_alpha,
        "name": r.name,
        "role": r.role,
        "model": r.label,
        "temperature": np.nan if r.temperature is None else r.temperature,
    }


@dataclass(frozen=True, eq=False)
class SweepResult:
    """The audit of a whole temperature sweep (see :func:`analyze_sweep`).

    ``teacher`` and ``baseline`` are the reference rows; ``distilled`` holds one row per
    distilled run set, sorted by ``(kd_alpha, temperature)``. ``alpha`` is the significance
    level of the class-wise tests; ``attributes`` the group attributes audited for fairness.
    """

    root: Location
    teacher: SweepRow
    baseline: SweepRow
    distilled: tuple[SweepRow, ...]
    alpha: float
    permutations: int | None
    attributes: tuple[str, ...]
    num_classes: int
    n_samples: int
    class_names: tuple[str, ...] | None
    dataset: str | None
    skipped: tuple[tuple[Location, str], ...] = ()
    random_state: Any = DEFAULT_RANDOM_STATE

    # -- structure -------------------------------------------------------------------------
    @property
    def rows(self) -> tuple[SweepRow, ...]:
        """Teacher, NDS, then every distilled row (sorted by ``(kd_alpha, temperature)``)."""
        return (self.teacher, self.baseline, *self.distilled)

    @property
    def kd_alphas(self) -> list[float | None]:
        """The distinct distillation weights of the distilled rows (``None`` = not recorded), sorted."""
        out: list[float | None] = []
        for r in self.distilled:
            if r.kd_alpha not in out:
                out.append(r.kd_alpha)
        return sorted(out, key=alpha_key)

    def blocks(self) -> list[tuple[float | None, tuple[SweepRow, ...]]]:
        """``[(kd_alpha, (teacher, NDS, DS at ascending T...)), ...]`` - one block per ``alpha``
        (paper Table 7)."""
        return [
            (a, (self.teacher, self.baseline, *(r for r in self.distilled if r.kd_alpha == a)))
            for a in self.kd_alphas
        ]

    def class_labels(self) -> list[str]:
        if self.class_names is not None:
            return [str(c) for c in self.class_names]
        return [str(i) for i in range(self.num_classes)]

    # -- frames ----------------------------------------------------------------------------
    def class_bias_frame(self) -> pd.DataFrame:
        """One row per model per ``alpha`` block (teacher and NDS repeated in every block).

        Accuracies are fractions (mean and sample std over seeds); ``n_sc``/``n_tc`` are the
        uncorrected significant-class counts (``p <= alpha``), ``*_fdr`` the Benjamini-Hochberg
        counts (``q <= alpha``), ``p_sc``/``p_tc`` the permutation p-values of the counts and
        ``efp_sc``/``efp_tc`` the mean null counts (expected false positives).
        """
        import pandas as pd

        records = []
        for a, rows in self.blocks():
            for r in rows:
                rec = _row_head(a, r)
                rec["n_seeds"] = len(r.seeds)
                rec["accuracy_mean"], rec["accuracy_std"] = r.accuracy_mean_std()
                for tag, res in (("sc", r.vs_baseline), ("tc", r.vs_teacher)):
                    rec[f"n_{tag}"] = None if res is None else int(res.n_significant)
                    rec[f"n_{tag}_fdr"] = None if res is None else int(res.n_significant_fdr)
                    rec[f"p_{tag}"] = np.nan if res is None else float(res.count_pvalue)
                    rec[f"efp_{tag}"] = (
                        np.nan if res is None else float(res.expected_false_positives)
                    )
                    rec[f"untestable_{tag}"] = None if res is None else int(res.n_untestable)
                records.append(rec)
        df = pd.DataFrame.from_records(records)
        for col in ("n_sc", "n_tc", "n_sc_fdr", "n_tc_fdr", "untestable_sc", "untestable_tc"):
            df[col] = df[col].astype("Int64")
        return df

    @property
    def has_noise_floor(self) -> bool:
        """Whether the fairness audits carry noise floors (``analyze_sweep(noise_floor=...)``)."""
        return any(
            r.fairness is not None and any(a.uncertainty for a in r.fairness.results)
            for r in self.rows
        )

    @property
    def dpd_null(self) -> str | None:
        """The null of the DPD noise floors (``"pooled"`` or ``"labels"``; None without them)."""
        for r in self.rows:
            for a in r.fairness.results if r.fairness is not None else ():
                if a.uncertainty:
                    return str(a.uncertainty[0].dpd_null)
        return None

    def fairness_frame(self) -> pd.DataFrame:
        """One row per model per ``alpha`` block: accuracy and, per attribute, EOD and DPD
        (fractions; mean and sample std over seeds). Empty attributes give an empty frame."""
        import pandas as pd

        records = []
        for a, rows in self.blocks():
            for r in rows:
                rec = _row_head(a, r)
                rec["accuracy_mean"], rec["accuracy_std"] = r.accuracy_mean_std()
                for attr in self.attributes:
                    for metric in ("eod", "dpd"):
                        m, s = r.fairness_mean_std(attr, metric)
                        rec[f"{attr}_{metric}_mean"] = m
                        rec[f"{attr}_{metric}_std"] = s
                        if self.has_noise_floor:
                            floor = r.fairness_noise_floor(attr, metric)
                            rec[f"{attr}_{metric}_noise_floor"] = floor
                records.append(rec)
        return pd.DataFrame.from_records(records)

    def runsets_frame(self) -> pd.DataFrame:
        """Provenance: every run set used, with its path, role, temperature, alpha and seeds."""
        import pandas as pd

        return pd.DataFrame.from_records(
            [
                {
                    "name": r.name,
                    "role": r.role,
                    "temperature": np.nan if r.temperature is None else r.temperature,
                    "kd_alpha": np.nan if r.kd_alpha is None else r.kd_alpha,
                    "model": r.runset.model,
                    "dataset": r.runset.dataset,
                    "seeds": " ".join(str(s) for s in r.seeds),
                    "path": str(r.runset.path),
                }
                for r in self.rows
            ]
        )

    @frame_method
    def to_frame(self) -> pd.DataFrame:
        """The class-bias frame (the sweep's main table)."""
        return self.class_bias_frame()

    def _repr_html_(self) -> str:
        from ..render.views import result_html

        return result_html(self)

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of ``kdaudit sweep --format json`` (``docs/sweep.md``): everything
        the table, Markdown, LaTeX and CSV outputs show, and more.

        ``{"format_version", "dataset", "num_classes", "n_samples", "class_names", "alpha",
        "permutations", "random_state", "attributes", "kd_alphas", "skipped": [{"path",
        "reason"}], "rows": [...]}``; one row per model (teacher, NDS, then the distilled rows
        by ``(kd_alpha, temperature)``): ``{"name", "role", "model", "temperature", "kd_alpha",
        "path", "seeds", "n_seeds", "accuracy": {"mean", "std", "per_seed"}, "n_sc", "n_tc",
        "n_sc_fdr", "n_tc_fdr", "p_sc", "p_tc", "efp_sc", "efp_tc", "n_permutations_sc",
        "n_permutations_tc", "untestable_sc", "untestable_tc", "disagreement": {"mean", "std",
        "n_pairs", "pairing"} | None, "fairness": {attr: {"mode", "groups", "dpd": {"mean",
        "std", "per_seed"}, "eod": {...}}}}``. Plain Python values; an undefined number (NaN)
        is ``None``, as is every count that does not apply (``n_sc`` of the teacher row).
        """
        rows = []
        for r in self.rows:
            mean, std = r.accuracy_mean_std()
            rec: dict[str, Any] = {
                "name": r.name,
                "role": r.role,
                "model": r.label,
                "temperature": r.temperature,
                "kd_alpha": r.kd_alpha,
                "path": None if r.runset.path is None else str(r.runset.path),
                "seeds": r.seeds,
                "n_seeds": len(r.seeds),
                "accuracy": {"mean": mean, "std": std, "per_seed": r.accuracy},
            }
            for tag, res in (("sc", r.vs_baseline), ("tc", r.vs_teacher)):
                rec[f"n_{tag}"] = None if res is None else res.n_significant
            for tag, res in (("sc", r.vs_baseline), ("tc", r.vs_teacher)):
                rec[f"n_{tag}_fdr"] = None if res is None else res.n_significant_fdr
            for tag, res in (("sc", r.vs_baseline), ("tc", r.vs_teacher)):
                rec[f"p_{tag}"] = None if res is None else res.count_pvalue
                rec[f"efp_{tag}"] = None if res is None else res.expected_false_positives
                rec[f"n_permutations_{tag}"] = None if res is None else res.n_permutations
                rec[f"untestable_{tag}"] = None if res is None else res.n_untestable
            d = r.disagreement
            rec["disagreement"] = (
                None
                if d is None
                else {
                    "mean": d.rate_mean,
                    "std": d.rate_std,
                    "n_pairs": d.n_pairs,
                    "pairing": d.pairing,
                }
            )
            rec["fairness"] = {
                attr: (r.fairness[attr].to_dict() if r.fairness is not None else None)
                for attr in self.attributes
            }
            rows.append(rec)
        return plain(
            {
                "format_version": JSON_FORMAT_VERSION,
                "dataset": self.dataset,
                "num_classes": self.num_classes,
                "n_samples": self.n_samples,
                "class_names": self.class_names,
                "alpha": self.alpha,
                "permutations": self.permutations,
                "random_state": self.random_state
                if isinstance(self.random_state, (int, np.integer))
                else None,
                "attributes": self.attributes,
                "kd_alphas": self.kd_alphas,
                "skipped": [{"path": str(p), "reason": why} for p, why in self.skipped],
                "rows": rows,
            }
        )
