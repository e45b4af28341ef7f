"""Analysing a sweep: load every run set once and audit them together."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..checks import check_alpha, check_jobs, check_permutations
from ..defaults import DEFAULT_ALPHA, DEFAULT_RANDOM_STATE
from ..errors import DegenerateDataWarning
from ..io.fs import as_location

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ..fairness.audit import FairnessAudit
    from ..io.runset import RunSet
from .discover import DiscoveredRunSet, discover_sweep
from .results import SweepResult, SweepRow

__all__ = ["analyze_sweep"]


# --------------------------------------------------------------------------------------------
# Analysis
# --------------------------------------------------------------------------------------------


def _common_attributes(runsets: Sequence[RunSet]) -> tuple[str, ...]:
    """Attributes every run set has; one missing from some run sets is named in a warning
    (it cannot enter the fairness table, and must not drop out of it unnoticed)."""
    attrs = [a for a in runsets[0].group_attributes]
    for rs in runsets[1:]:
        present = set(rs.group_attributes)
        attrs = [a for a in attrs if a in present]
    every = sorted({a for rs in runsets for a in rs.group_attributes} - set(attrs))
    for a in every:
        lacking = [rs.name for rs in runsets if a not in rs.group_attributes]
        warnings.warn(
            f"attribute '{a}' is missing from run set {', '.join(lacking[:5])}"
            f"{' and more' if len(lacking) > 5 else ''}; left out of the sweep's fairness table",
            DegenerateDataWarning,
            stacklevel=3,
        )
    return tuple(attrs)


def analyze_sweep(
    root: str | os.PathLike[str],
    *,
    teacher: str | os.PathLike[str] | None = None,
    baseline: str | os.PathLike[str] | None = None,
    alpha: float = DEFAULT_ALPHA,
    permutations: int | None = None,
    random_state: Any = DEFAULT_RANDOM_STATE,
    jobs: int = 1,
    progress: bool = False,
    noise_floor: int | None = None,
    dpd_null: str = "pooled",
) -> SweepResult:
    """Audit a temperature sweep: class-wise bias, disagreement and fairness of every model.

    For every distilled student (DS) at temperature ``T`` this computes the paper's

    - ``#SC``: classes whose relative accuracy ``r_cs = a_cs / acc_s`` differs between the
      non-distilled student (NDS) and the DS (two-sided Welch test over seeds, ``p <= alpha``),
    - ``#TC``: the same count teacher vs DS,

    with Benjamini-Hochberg counts and the permutation p-value of each count
    (:func:`kdbias_audit.stats.classwise.classwise_test`), the disagreement matrices teacher vs NDS and
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
    noise_floor
        When set, every per-seed DPD/EOD also gets its noise floor (no bootstrap CI) from
        this many counts-based draws (:mod:`kdbias_audit.fairness.uncertainty`); the fairness
        tables then show the floor beside each value. ``random_state`` seeds the draws.
    dpd_null
        ``"pooled"`` or ``"labels"``: the DPD floor's null (see
        :func:`kdbias_audit.fairness.fairness_audit`; ``"labels"`` for test sets whose
        label mix per group is designed).
    permutations
        Upper bound on the splits evaluated for each count's permutation p-value: every split
        when there are at most this many (``None``: 10,000), else this many fixed-seed random
        splits; 0 skips the calibration (p-values NaN).
    random_state : int or numpy Generator seed
        Seed of the random splits (the same for every count, so the sweep is reproducible).
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
    alpha = check_alpha(alpha)
    permutations = check_permutations(permutations)
    jobs = check_jobs(jobs)
    from ..fairness.uncertainty import check_dpd_null

    dpd_null = check_dpd_null(dpd_null)

    from ..io.loading import load_runsets
    from ..stats.classwise import classwise_test, seed_accuracies
    from ..stats.disagreement import disagreement

    plan = discover_sweep(root, teacher=teacher, baseline=baseline)
    found = plan.runsets
    loaded = load_runsets([e.path for e in found], jobs=int(jobs), progress=progress)
    by_path = dict(zip((e.path for e in found), loaded, strict=False))

    t_rs = by_path[plan.teacher.path]
    b_rs = by_path[plan.baseline.path]
    num_classes = t_rs.num_classes  # load_runsets checked every run set against it
    attributes = _common_attributes(loaded)

    def fairness_of(rs: RunSet) -> FairnessAudit | None:
        if not attributes:
            return None
        from ..fairness.audit import fairness_audit

        return fairness_audit(
            rs,
            sensitive=list(attributes),
            n_resamples=noise_floor,
            random_state=random_state,
            dpd_null=dpd_null,
        )

    def base_row(rs: RunSet, e: DiscoveredRunSet, **kw: Any) -> SweepRow:
        acc = seed_accuracies(rs.label, rs.preds, num_classes)
        return SweepRow(
            runset=rs,
            role=e.role,
            temperature=e.temperature if e.role == "distilled" else None,
            kd_alpha=e.kd_alpha if e.role == "distilled" else None,
            accuracy=np.asarray(acc.accuracy, dtype=float),
            class_accuracy=np.asarray(acc.class_accuracy, dtype=float),
            fairness=fairness_of(rs),
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
                    b_rs, rs, alpha=alpha, permutations=permutations, random_state=random_state
                ),
                vs_teacher=classwise_test(
                    t_rs, rs, alpha=alpha, permutations=permutations, random_state=random_state
                ),
                disagreement=disagreement(t_rs, rs, pairing=pairing(t_rs, rs)),
            )
        )

    class_names = next((rs.class_names for rs in (b_rs, t_rs, *loaded) if rs.class_names), None)
    dataset = next((e.dataset for e in found if e.dataset is not None), None)
    return SweepResult(
        root=as_location(root),
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
        random_state=random_state,
    )
