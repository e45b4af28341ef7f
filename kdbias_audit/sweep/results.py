"""Sweep result types: one row per model, frames and JSON."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas as pd

    from ..fairness.audit import FairnessAudit
    from ..io.runset import RunSet
    from ..stats.classwise import ClasswiseResult
    from ..stats.disagreement import DisagreementResult
from .discover import ROLE_LABEL, Role, alpha_key

__all__ = ["SweepRow", "SweepResult"]


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


def _num(x: Any) -> float | None:
    """A plain float, or ``None`` for a missing or non-finite value (JSON ``null``)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


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
    fairness_dict: dict[str, Any] = field(default_factory=dict)

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

    def fairness_mean_std(
        self, attribute: str, metric: Literal["dpd", "eod"]
    ) -> tuple[float, float]:
        entry = self.fairness_dict.get(attribute, {}).get(metric)
        if not entry:
            return float("nan"), float("nan")
        mean, std = entry.get("mean"), entry.get("std")
        return (
            float("nan") if mean is None else float(mean),
            float("nan") if std is None else float(std),
        )

    def fairness_noise_floor(self, attribute: str, metric: Literal["dpd", "eod"]) -> float:
        """Mean over seeds of the noise floor (NaN when it was not computed)."""
        entry = self.fairness_dict.get(attribute, {}).get(metric) or {}
        vals = [v for v in entry.get("per_seed_noise_floor") or [] if v is not None]
        finite = [float(v) for v in vals if np.isfinite(v)]
        return float(np.mean(finite)) if finite else float("nan")

    def fairness_per_seed(self, attribute: str, metric: Literal["dpd", "eod"]) -> np.ndarray:
        entry = self.fairness_dict.get(attribute, {}).get(metric) or {}
        vals = entry.get("per_seed")
        return np.asarray([np.nan if v is None else v for v in (vals or [])], dtype=float)


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

    root: Path
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
    skipped: tuple[tuple[Path, str], ...] = ()

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
            "per_seed_noise_floor" in (entry.get(m) or {})
            for r in self.rows
            for entry in r.fairness_dict.values()
            for m in ("dpd", "eod")
        )

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
                        m, s = r.fairness_mean_std(attr, metric)  # type: ignore[arg-type]
                        rec[f"{attr}_{metric}_mean"] = m
                        rec[f"{attr}_{metric}_std"] = s
                        if self.has_noise_floor:
                            floor = r.fairness_noise_floor(attr, metric)  # type: ignore[arg-type]
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

    def to_frame(self) -> pd.DataFrame:
        """The class-bias frame (the sweep's main table)."""
        return self.class_bias_frame()

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract: ``{"rows": [{"name", "role", "temperature", "accuracy": {"mean",
        "std"}, "n_sc", "n_tc", "n_sc_fdr", "n_tc_fdr", "fairness": {attr: {"dpd": {"mean",
        "std"}, "eod": {"mean", "std"}}}}]}`` - teacher, NDS, then the distilled rows; plain
        Python values, undefined numbers (NaN) as ``None``, ready for ``json.dumps``."""
        rows = []
        for r in self.rows:
            mean, std = r.accuracy_mean_std()
            fair: dict[str, Any] = {}
            for attr in self.attributes:
                fair[attr] = {}
                for metric in ("dpd", "eod"):
                    m, s = r.fairness_mean_std(attr, metric)  # type: ignore[arg-type]
                    fair[attr][metric] = {"mean": _num(m), "std": _num(s)}
                    if self.has_noise_floor:
                        floor = r.fairness_noise_floor(attr, metric)  # type: ignore[arg-type]
                        fair[attr][metric]["noise_floor"] = _num(floor)
            rows.append(
                {
                    "name": r.name,
                    "role": r.role,
                    "temperature": _num(r.temperature),
                    "accuracy": {"mean": _num(mean), "std": _num(std)},
                    "n_sc": None if r.vs_baseline is None else int(r.vs_baseline.n_significant),
                    "n_tc": None if r.vs_teacher is None else int(r.vs_teacher.n_significant),
                    "n_sc_fdr": None
                    if r.vs_baseline is None
                    else int(r.vs_baseline.n_significant_fdr),
                    "n_tc_fdr": None
                    if r.vs_teacher is None
                    else int(r.vs_teacher.n_significant_fdr),
                    "fairness": fair,
                }
            )
        return {"rows": rows}
