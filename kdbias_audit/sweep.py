"""Temperature sweeps: find the run sets of a sweep, give each its role, and audit them together.

A *sweep* is a directory of run sets (one directory of per-seed prediction files per model):
one teacher, one non-distilled student (NDS, role ``baseline``) and distilled students (DS,
role ``distilled``), one per softmax temperature ``T`` and, optionally, per distillation weight
``alpha`` (paper Table 7: each ``alpha`` forms its own block). Roles and temperatures come from
the file metadata (``role``, ``temperature``, ``alpha``); ``teacher=`` / ``baseline=``
override the metadata. Anything ambiguous is an error, never a guess.

:func:`analyze_sweep` loads every run set once (aligned by ``sample_id``), then computes per
model: seed accuracies, the class-wise test NDS vs DS (#SC) and teacher vs DS (#TC), the
disagreement teacher vs NDS and teacher vs DS, and group fairness where group columns exist.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ._errors import KDAuditError, PredictionFileError

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas as pd

    from ._disagreement import DisagreementResult
    from .classwise import ClasswiseResult
    from .fairness import FairnessAudit
    from .io import RunSet

__all__ = [
    "Role",
    "DiscoveredRunSet",
    "SweepPlan",
    "SweepRow",
    "SweepResult",
    "discover_sweep",
    "analyze_sweep",
]

Role = Literal["teacher", "baseline", "distilled"]

_ROLE_ALIASES: dict[str, Role] = {
    "teacher": "teacher",
    "baseline": "baseline",
    "nds": "baseline",
    "non-distilled": "baseline",
    "non_distilled": "baseline",
    "distilled": "distilled",
    "ds": "distilled",
}

_ROLE_LABEL = {"teacher": "Teacher", "baseline": "NDS", "distilled": "DS"}


# --------------------------------------------------------------------------------------------
# Discovery (file footers only; nothing is loaded here)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiscoveredRunSet:
    """One run set of a sweep, as found on disk, with the role it will play.

    ``role_source`` says where the role came from: ``"metadata"`` or ``"override"``.
    """

    path: Path
    role: Role
    temperature: float | None
    kd_alpha: float | None
    dataset: str | None
    model: str | None
    role_source: Literal["metadata", "override"] = "metadata"

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class SweepPlan:
    """What :func:`discover_sweep` found: the run sets and their roles, before any loading.

    ``skipped`` lists ``(path, reason)`` for run sets left out (a second teacher or NDS when an
    override picked one).
    """

    root: Path
    teacher: DiscoveredRunSet
    baseline: DiscoveredRunSet
    distilled: tuple[DiscoveredRunSet, ...]
    skipped: tuple[tuple[Path, str], ...] = ()

    @property
    def runsets(self) -> tuple[DiscoveredRunSet, ...]:
        return (self.teacher, self.baseline, *self.distilled)


def _as_float(value: Any, where: Path, key: str) -> float | None:
    if value is None:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise PredictionFileError(where, f"metadata {key}={value!r} is not a number") from None
    if not math.isfinite(out):
        raise PredictionFileError(where, f"metadata {key}={value!r} is not a finite number")
    return out


def _peek_metadata(path: Path) -> dict[str, Any]:
    """The validated ``kdbias_audit`` metadata of one file, from its Parquet footer only."""
    from .io import _file_metadata, _open

    return _file_metadata(_open(path), path)


def find_runset_dirs(root: str | os.PathLike[str]) -> list[Path]:
    """Every directory under ``root`` (recursively, hidden ones skipped) holding ``*.parquet`` files.

    ``root`` itself must not hold prediction files: a sweep is a directory of run sets.
    """
    from .io import find_runsets

    root = Path(root)
    if root.exists() and not root.is_dir():
        raise KDAuditError(f"{root}: is not a directory (a sweep is a directory of run sets)")
    found = find_runsets(root)
    if root in found:
        raise KDAuditError(
            f"{root}: holds prediction files directly; a sweep is a directory of run sets "
            "(one subdirectory of seed files per model)"
        )
    return found


def _runset_metadata(path: Path) -> dict[str, Any]:
    """Role-relevant metadata of a run set, checked to agree across its seed files."""
    files = sorted(
        p for p in path.iterdir() if p.suffix == ".parquet" and not p.name.startswith(".")
    )
    first: dict[str, Any] | None = None
    first_file: Path | None = None
    for f in files:
        meta = _peek_metadata(f)
        picked = {k: meta.get(k) for k in ("role", "temperature", "alpha", "dataset", "model")}
        if first is None:
            first, first_file = picked, f
            continue
        for key in ("role", "temperature", "alpha", "dataset"):
            if picked[key] != first[key]:
                raise PredictionFileError(
                    f, f"metadata {key}={picked[key]!r} here but {first[key]!r} in {first_file}"
                )
    assert first is not None
    return first


def _classify(path: Path, meta: dict[str, Any]) -> DiscoveredRunSet:
    temperature = _as_float(meta.get("temperature"), path, "temperature")
    kd_alpha = _as_float(meta.get("alpha"), path, "alpha")
    raw_role = meta.get("role")
    if raw_role is None:
        if temperature is None:
            raise KDAuditError(
                f"{path}: no role in its metadata and no temperature; set role to teacher, "
                "baseline or distilled, or pass --teacher/--baseline"
            )
        role: Role = "distilled"
    else:
        key = str(raw_role).strip().lower()
        if key not in _ROLE_ALIASES:
            raise KDAuditError(
                f"{path}: metadata role {str(raw_role)!r} is not one of teacher, baseline, distilled"
            )
        role = _ROLE_ALIASES[key]
    dataset = meta.get("dataset")
    model = meta.get("model")
    return DiscoveredRunSet(
        path=path,
        role=role,
        temperature=temperature,
        kd_alpha=kd_alpha,
        dataset=None if dataset is None else str(dataset),
        model=None if model is None else str(model),
    )


def _same_path(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def discover_sweep(
    root: str | os.PathLike[str],
    *,
    teacher: str | os.PathLike[str] | None = None,
    baseline: str | os.PathLike[str] | None = None,
) -> SweepPlan:
    """Find the run sets under ``root`` and decide each one's role, from file footers only.

    Parameters
    ----------
    root
        The sweep directory. Every directory below it that holds ``*.parquet`` files is a run set.
    teacher, baseline
        Run-set directories (inside or outside ``root``) to use as the teacher / the
        non-distilled student whatever their metadata says. Other run sets whose metadata
        claims that role are then skipped (listed in ``SweepPlan.skipped``).

    Raises
    ------
    KDAuditError
        When the roles are ambiguous: no or two teachers, no or two baselines, no distilled run
        set, a distilled run set without a temperature, two distilled run sets with the same
        ``(alpha, temperature)``, or run sets of different datasets.
    """
    root = Path(root)
    dirs = find_runset_dirs(root)
    overrides: dict[str, Path] = {}
    for role_name, value in (("teacher", teacher), ("baseline", baseline)):
        if value is None:
            continue
        p = Path(value)
        if not p.is_dir():
            raise KDAuditError(f"{p}: --{role_name} must be a run-set directory")
        if not any(q.suffix == ".parquet" for q in p.iterdir()):
            raise KDAuditError(f"{p}: --{role_name} directory holds no .parquet files")
        overrides[role_name] = p
    if (
        "teacher" in overrides
        and "baseline" in overrides
        and _same_path(overrides["teacher"], overrides["baseline"])
    ):
        raise KDAuditError(f"{overrides['teacher']}: given as both --teacher and --baseline")

    entries: list[DiscoveredRunSet] = []
    override_entries: dict[str, DiscoveredRunSet] = {}
    for role_name, p in overrides.items():
        meta = _runset_metadata(p)
        base = _classify_lenient(p, meta)
        override_entries[role_name] = DiscoveredRunSet(
            path=p,
            role=role_name,
            temperature=base[0],
            kd_alpha=base[1],  # type: ignore[arg-type]
            dataset=base[2],
            model=base[3],
            role_source="override",
        )
    for d in dirs:
        if any(_same_path(d, p) for p in overrides.values()):
            continue
        entries.append(_classify(d, _runset_metadata(d)))

    skipped: list[tuple[Path, str]] = []
    picked: dict[str, DiscoveredRunSet] = {}
    for role_name in ("teacher", "baseline"):
        claimed = [e for e in entries if e.role == role_name]
        if role_name in override_entries:
            picked[role_name] = override_entries[role_name]
            for e in claimed:
                skipped.append(
                    (
                        e.path,
                        f"metadata role {role_name!r}, but --{role_name} picked {override_entries[role_name].path}",
                    )
                )
            continue
        if not claimed:
            raise KDAuditError(
                f"{root}: no {role_name} run set found (set metadata role={role_name!r} or pass --{role_name} DIR)"
            )
        if len(claimed) > 1:
            names = ", ".join(str(e.path) for e in claimed)
            raise KDAuditError(
                f"{root}: {len(claimed)} {role_name} run sets ({names}); pick one with --{role_name} DIR"
            )
        picked[role_name] = claimed[0]

    distilled = [e for e in entries if e.role == "distilled"]
    if not distilled:
        raise KDAuditError(
            f"{root}: no distilled run set found (metadata role='distilled' with a temperature)"
        )
    seen: dict[tuple[float | None, float], DiscoveredRunSet] = {}
    for e in distilled:
        if e.temperature is None:
            raise KDAuditError(f"{e.path}: distilled run set has no temperature in its metadata")
        key = (e.kd_alpha, e.temperature)
        if key in seen:
            alpha_txt = "" if e.kd_alpha is None else f", alpha {e.kd_alpha:g}"
            raise KDAuditError(
                f"{seen[key].path} and {e.path}: two distilled run sets at temperature {e.temperature:g}{alpha_txt}"
            )
        seen[key] = e

    chosen = [picked["teacher"], picked["baseline"], *distilled]
    datasets = [(e.dataset, e.path) for e in chosen if e.dataset is not None]
    for ds, p in datasets[1:]:
        if ds != datasets[0][0]:
            raise KDAuditError(
                f"mixed datasets: {p} is {ds!r} but {datasets[0][1]} is {datasets[0][0]!r}"
            )

    distilled.sort(key=lambda e: (_alpha_key(e.kd_alpha), e.temperature))
    return SweepPlan(
        root=root,
        teacher=picked["teacher"],
        baseline=picked["baseline"],
        distilled=tuple(distilled),
        skipped=tuple(skipped),
    )


def _classify_lenient(
    path: Path, meta: dict[str, Any]
) -> tuple[float | None, float | None, str | None, str | None]:
    temperature = _as_float(meta.get("temperature"), path, "temperature")
    kd_alpha = _as_float(meta.get("alpha"), path, "alpha")
    ds, model = meta.get("dataset"), meta.get("model")
    return (
        temperature,
        kd_alpha,
        None if ds is None else str(ds),
        None if model is None else str(model),
    )


def _alpha_key(a: float | None) -> tuple[int, float]:
    return (0, 0.0) if a is None else (1, a)


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
        return _ROLE_LABEL[self.role]

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
        return sorted(out, key=_alpha_key)

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


# --------------------------------------------------------------------------------------------
# Analysis
# --------------------------------------------------------------------------------------------


def _common_attributes(runsets: Sequence[RunSet]) -> tuple[str, ...]:
    attrs = [a for a in runsets[0].group_attributes]
    for rs in runsets[1:]:
        present = set(rs.group_attributes)
        attrs = [a for a in attrs if a in present]
    return tuple(attrs)


def analyze_sweep(
    root: str | os.PathLike[str],
    *,
    teacher: str | os.PathLike[str] | None = None,
    baseline: str | os.PathLike[str] | None = None,
    alpha: float = 0.05,
    permutations: int | None = None,
    jobs: int = 1,
    progress: bool = False,
) -> SweepResult:
    """Audit a temperature sweep: class-wise bias, disagreement and fairness of every model.

    For every distilled student (DS) at temperature ``T`` this computes the paper's

    - ``#SC``: classes whose relative accuracy ``r_cs = a_cs / acc_s`` differs between the
      non-distilled student (NDS) and the DS (two-sided Welch test over seeds, ``p <= alpha``),
    - ``#TC``: the same count teacher vs DS,

    with Benjamini-Hochberg counts and the permutation p-value of each count
    (:func:`kdbias_audit.classwise.classwise_test`), the disagreement matrices teacher vs NDS and
    teacher vs DS (:func:`kdbias_audit.disagreement`; runs paired by seed, or every
    pair of runs when the two run sets share no seed) and, where every run set has
    group columns, DPD and EOD per attribute (:func:`kdbias_audit.fairness.fairness_audit`).

    Parameters
    ----------
    root
        Sweep directory (see :func:`discover_sweep`).
    teacher, baseline
        Role overrides (run-set directories).
    alpha
        Significance level of the class-wise tests (``0 < alpha < 1``).
    permutations
        Upper bound on the splits evaluated for each count's permutation p-value: every split
        when there are at most this many (``None``: 10,000), else this many fixed-seed random
        splits; 0 skips the calibration (p-values NaN).
    jobs
        Worker processes that read and reduce files in parallel.
    progress
        Show a rich progress bar while files load.

    Returns
    -------
    SweepResult

    Examples
    --------
    >>> res = analyze_sweep("runs/cifar100")                       # doctest: +SKIP
    >>> res.class_bias_frame()[["model", "temperature", "n_sc", "n_tc"]]  # doctest: +SKIP
    """
    if not (0.0 < float(alpha) < 1.0):
        raise KDAuditError(f"alpha must be in (0, 1), got {alpha}")
    if permutations is not None and int(permutations) < 0:
        raise KDAuditError(
            f"permutations must be 0 (no calibration) or a positive integer, got {permutations}"
        )
    if int(jobs) < 1:
        raise KDAuditError(f"jobs must be a positive integer, got {jobs}")

    from ._disagreement import disagreement
    from .classwise import classwise_test, seed_accuracies
    from .io import load_runsets

    plan = discover_sweep(root, teacher=teacher, baseline=baseline)
    found = plan.runsets
    loaded = load_runsets([e.path for e in found], jobs=int(jobs), progress=progress)
    by_path = dict(zip((e.path for e in found), loaded, strict=False))

    t_rs = by_path[plan.teacher.path]
    b_rs = by_path[plan.baseline.path]
    num_classes = t_rs.num_classes  # load_runsets checked every run set against it
    attributes = _common_attributes(loaded)

    fairness_cache: dict[Path, tuple[Any, dict[str, Any]]] = {}

    def fairness_of(rs: RunSet) -> tuple[Any, dict[str, Any]]:
        if not attributes:
            return None, {}
        if rs.path not in fairness_cache:
            from .fairness import fairness_audit

            audit = fairness_audit(rs, sensitive=list(attributes))
            fairness_cache[rs.path] = (audit, audit.to_dict())
        return fairness_cache[rs.path]

    def base_row(rs: RunSet, e: DiscoveredRunSet, **kw: Any) -> SweepRow:
        acc = seed_accuracies(rs.label, rs.preds, num_classes)
        fa, fd = fairness_of(rs)
        return SweepRow(
            runset=rs,
            role=e.role,
            temperature=e.temperature if e.role == "distilled" else None,
            kd_alpha=e.kd_alpha if e.role == "distilled" else None,
            accuracy=np.asarray(acc.accuracy, dtype=float),
            class_accuracy=np.asarray(acc.class_accuracy, dtype=float),
            fairness=fa,
            fairness_dict=fd,
            **kw,
        )

    def pairing(a: RunSet, b: RunSet) -> Literal["seed", "all"]:
        # pair runs by seed where the run sets share seeds, else every run with every run
        return "seed" if set(a.seeds) & set(b.seeds) else "all"

    t_vs_b = disagreement(t_rs, b_rs, pairing=pairing(t_rs, b_rs))
    teacher_row = base_row(t_rs, plan.teacher)
    baseline_row = base_row(b_rs, plan.baseline, disagreement=t_vs_b)
    distilled_rows = []
    for e in plan.distilled:
        rs = by_path[e.path]
        distilled_rows.append(
            base_row(
                rs,
                e,
                vs_baseline=classwise_test(
                    b_rs, rs, alpha=alpha, permutations=permutations, random_state=0
                ),
                vs_teacher=classwise_test(
                    t_rs, rs, alpha=alpha, permutations=permutations, random_state=0
                ),
                disagreement=disagreement(t_rs, rs, pairing=pairing(t_rs, rs)),
            )
        )

    class_names = next((rs.class_names for rs in (b_rs, t_rs, *loaded) if rs.class_names), None)
    dataset = next((e.dataset for e in found if e.dataset is not None), None)
    return SweepResult(
        root=Path(root),
        teacher=teacher_row,
        baseline=baseline_row,
        distilled=tuple(distilled_rows),
        alpha=float(alpha),
        permutations=None if permutations is None else int(permutations),
        attributes=attributes,
        num_classes=num_classes,
        n_samples=int(t_rs.n_samples),
        class_names=None if class_names is None else tuple(str(c) for c in class_names),
        dataset=dataset,
        skipped=plan.skipped,
    )
