"""Run sets: :class:`SeedRun` / :class:`RunSet` and alignment checks (finding their files:
:mod:`.listing`, re-exported here)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import KDAuditError, PredictionFileError
from .fs import Location
from .listing import candidate_files, check_entry, find_prediction_files, find_runsets
from .spec import FORMAT_VERSION, GROUP_PREFIX, as_int_array, check_range, encode_groups

__all__ = [
    "SeedRun",
    "RunSet",
    "find_prediction_files",
    "find_runsets",
    "candidate_files",
    "check_entry",
    "check_aligned",
    "check_runset_consistency",
]


# --------------------------------------------------------------------------------------------
# result containers


@dataclass(frozen=True, eq=False)
class SeedRun:
    """One prediction file reduced to small arrays, rows sorted by ``sample_id``.

    Attributes
    ----------
    path : Path
    seed : int
    sample_id : ndarray, shape (N,)
        int64, or an object array of str.
    label, pred : ndarray of int64, shape (N,)
    groups : dict of str -> ndarray of int64, shape (N,)
        Group codes per attribute (index into ``group_levels[attr]``).
    group_levels : dict of str -> tuple of str
        Sorted level names per attribute (values written as strings).
    metadata : dict
        The file's ``kdbias_audit`` metadata.
    num_classes : int
    """

    path: Location
    seed: int
    sample_id: np.ndarray
    label: np.ndarray
    pred: np.ndarray
    groups: dict[str, np.ndarray]
    group_levels: dict[str, tuple[str, ...]]
    metadata: dict[str, Any]
    num_classes: int

    @property
    def n_samples(self) -> int:
        return int(self.label.shape[0])

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.label == self.pred))


@dataclass(frozen=True, eq=False)
class RunSet:
    """The runs (one per seed) of one model configuration, aligned by ``sample_id``.

    Every run has the same sample ids in the same order, the same labels and the same group
    values; ``preds`` stacks the per-seed predictions as an array of shape (S, N).
    """

    path: Location
    runs: tuple[SeedRun, ...]
    _preds: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.runs:
            raise KDAuditError(f"{self.path}: a run set needs at least one run")
        runs = sorted(self.runs, key=lambda r: r.seed)
        check_runset_consistency(runs)  # however it was built: aligned, agreeing seeds
        preds = np.stack([r.pred for r in runs])
        preds.setflags(write=False)
        # each run's pred becomes a row of the stack: one copy of the predictions, not two
        runs = [replace(r, pred=preds[k]) for k, r in enumerate(runs)]
        object.__setattr__(self, "runs", tuple(runs))
        object.__setattr__(self, "_preds", preds)

    # -- construction without files ----------------------------------------------------------
    @classmethod
    def from_arrays(
        cls,
        y_true: Any,
        preds: Any,
        *,
        seeds: Sequence[int] | None = None,
        groups: Mapping[str, Any] | None = None,
        num_classes: int | None = None,
        metadata: Mapping[str, Any] | None = None,
        name: str = "runset",
        path: str | os.PathLike[str] | None = None,
        sample_id: Any = None,
    ) -> RunSet:
        """Build a run set from in-memory arrays (tests, notebooks, third-party predictions).

        Parameters
        ----------
        y_true : array-like of int, shape (N,)
        preds : array-like of int, shape (S, N)
            One row of predicted classes per seed.
        seeds : sequence of int, optional
            Defaults to ``0..S-1``.
        groups : mapping of str -> array-like, shape (N,), optional
        num_classes : int, optional
            Defaults to ``max(y_true, preds) + 1``.
        """
        root = Path(path) if path is not None else Path(name)
        y = as_int_array(y_true, root, "y_true")
        p = np.asarray(preds)
        if p.ndim == 1:
            p = p[None, :]
        if p.ndim != 2 or p.shape[1] != y.shape[0]:
            raise KDAuditError(f"{root}: preds must have shape (S, {y.shape[0]}), got {p.shape}")
        p = np.stack([as_int_array(row, root, "preds") for row in p])
        if seeds is None:
            seeds = list(range(p.shape[0]))
        for seed in seeds:
            if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
                raise KDAuditError(f"{root}: seeds must be integers, got {seed!r}")
        if len(seeds) != p.shape[0]:
            raise KDAuditError(f"{root}: {len(seeds)} seeds for {p.shape[0]} rows of preds")
        if num_classes is None:
            num_classes = int(max(y.max(initial=0), p.max(initial=0))) + 1
        check_range(y, num_classes, root, "label")
        check_range(p, num_classes, root, "pred")
        sid = np.arange(y.shape[0], dtype=np.int64) if sample_id is None else np.asarray(sample_id)
        if sid.shape != y.shape:
            raise KDAuditError(f"{root}: sample_id must have shape {y.shape}, got {sid.shape}")
        if np.unique(sid).size != sid.size:
            raise KDAuditError(f"{root}: sample_id values are not unique")
        codes, levels = {}, {}
        for attr, values in (groups or {}).items():
            codes[attr], levels[attr] = encode_groups(np.asarray(values), root, attr)
        meta = dict(metadata or {})
        meta.setdefault("format_version", FORMAT_VERSION)
        meta["num_classes"] = int(num_classes)
        runs = []
        for seed, row in zip(seeds, p, strict=False):
            m = dict(meta, seed=int(seed))
            runs.append(
                SeedRun(
                    root / f"seed{seed}", int(seed), sid, y, row, codes, levels, m, int(num_classes)
                )
            )
        rs = cls(root, tuple(runs))
        check_runset_consistency(rs.runs)
        return rs

    # -- derived views -------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The run set's display name (file-name bytes that are not UTF-8 shown as ``\\xff``)."""
        from ..checks import printable

        return printable(self.path.stem if self.path.suffix == ".parquet" else self.path.name)

    @property
    def seeds(self) -> list[int]:
        return [r.seed for r in self.runs]

    @property
    def num_classes(self) -> int:
        return self.runs[0].num_classes

    @property
    def n_samples(self) -> int:
        return self.runs[0].n_samples

    @property
    def sample_id(self) -> np.ndarray:
        return self.runs[0].sample_id

    @property
    def label(self) -> np.ndarray:
        return self.runs[0].label

    @property
    def preds(self) -> np.ndarray:
        return self._preds

    @property
    def accuracy(self) -> np.ndarray:
        """Overall accuracy per seed, shape (S,)."""
        return (self._preds == self.label[None, :]).mean(axis=1)

    @property
    def metadata(self) -> dict[str, Any]:
        return self.runs[0].metadata

    def _meta(self, key: str) -> Any:
        return self.metadata.get(key)

    @property
    def class_names(self) -> list[str] | None:
        names = self._meta("class_names")
        return list(names) if names is not None else None

    @property
    def role(self) -> str | None:
        return self._meta("role")

    @property
    def temperature(self) -> float | None:
        t = self._meta("temperature")
        return None if t is None else float(t)

    @property
    def alpha(self) -> float | None:
        a = self._meta("alpha")
        return None if a is None else float(a)

    @property
    def model(self) -> str | None:
        return self._meta("model")

    @property
    def dataset(self) -> str | None:
        return self._meta("dataset")

    @property
    def positive_class(self) -> int | None:
        pc = self._meta("positive_class")
        return None if pc is None else int(pc)

    @property
    def group_attributes(self) -> tuple[str, ...]:
        """Attributes present in every run of the set (sorted)."""
        common = set(self.runs[0].groups)
        for r in self.runs[1:]:
            common &= set(r.groups)
        return tuple(sorted(common))

    def require_groups(self, attributes: Iterable[str]) -> None:
        """Raise a one-line error naming the first file that lacks one of ``attributes``."""
        for attr in attributes:
            for r in self.runs:
                if attr not in r.groups:
                    have = ", ".join(sorted(r.groups)) or "none"
                    raise PredictionFileError(
                        r.path,
                        f"has no column {GROUP_PREFIX}{attr} (group attributes here: {have})",
                    )

    def group_codes(self, attr: str) -> np.ndarray:
        self.require_groups([attr])
        return self.runs[0].groups[attr]

    def group_levels(self, attr: str) -> tuple[str, ...]:
        self.require_groups([attr])
        return self.runs[0].group_levels[attr]

    def summary(self) -> dict[str, Any]:
        """A short description (used by ``kdaudit validate``)."""
        acc = self.accuracy
        return {
            "path": str(self.path),
            "model": self.model,
            "role": self.role,
            "temperature": self.temperature,
            "seeds": self.seeds,
            "n_samples": self.n_samples,
            "num_classes": self.num_classes,
            "group_attributes": list(self.group_attributes),
            "accuracy_mean": float(acc.mean()),
        }

    def __repr__(self) -> str:
        return (
            f"RunSet({self.name!r}, seeds={self.seeds}, n_samples={self.n_samples}, "
            f"num_classes={self.num_classes}, groups={list(self.group_attributes)})"
        )


# --------------------------------------------------------------------------------------------
# alignment checks


def _first_difference(a: np.ndarray, b: np.ndarray) -> tuple[Any, Any]:
    only_a = np.setdiff1d(a, b)
    only_b = np.setdiff1d(b, a)
    return (only_a[0] if only_a.size else None, only_b[0] if only_b.size else None)


def check_aligned(run: SeedRun, ref: SeedRun) -> None:
    """Same sample ids (hence same order) and labels as ``ref``; group values too where shared."""
    if (run.sample_id.dtype == object) != (ref.sample_id.dtype == object):
        kinds = {True: "strings", False: "integers"}
        raise PredictionFileError(
            run.path,
            f"sample_id values are {kinds[run.sample_id.dtype == object]} here but "
            f"{kinds[ref.sample_id.dtype == object]} in {ref.path}",
        )
    if run.sample_id.shape != ref.sample_id.shape or not np.array_equal(
        run.sample_id, ref.sample_id
    ):
        here, there = _first_difference(run.sample_id, ref.sample_id)
        detail = []
        if here is not None:
            detail.append(f"sample_id {here} is only here")
        if there is not None:
            detail.append(f"sample_id {there} is only in {ref.path}")
        raise PredictionFileError(
            run.path,
            f"covers a different test set than {ref.path} ({run.n_samples} vs {ref.n_samples} samples; "
            + "; ".join(detail)
            + ")",
        )
    if run.num_classes != ref.num_classes:
        raise PredictionFileError(
            run.path, f"num_classes is {run.num_classes} here but {ref.num_classes} in {ref.path}"
        )
    diff = np.flatnonzero(run.label != ref.label)
    if diff.size:
        i = diff[0]
        raise PredictionFileError(
            run.path,
            f"label of sample_id {run.sample_id[i]} is {run.label[i]} here but {ref.label[i]} in {ref.path}",
        )
    for attr in set(run.groups) & set(ref.groups):
        a = np.asarray(run.group_levels[attr], dtype=object)[run.groups[attr]]
        b = np.asarray(ref.group_levels[attr], dtype=object)[ref.groups[attr]]
        diff = np.flatnonzero(a != b)
        if diff.size:
            i = diff[0]
            raise PredictionFileError(
                run.path,
                f"{GROUP_PREFIX}{attr} of sample_id {run.sample_id[i]} is {a[i]!r} here but {b[i]!r} in {ref.path}",
            )


def check_runset_consistency(runs: Sequence[SeedRun]) -> None:
    seen: dict[int, Location] = {}
    for r in runs:
        if r.seed in seen:
            raise PredictionFileError(
                r.path,
                f"seed {r.seed} is also the seed of {seen[r.seed]} (seeds must be unique in a run set)",
            )
        seen[r.seed] = r.path
    for r in runs[1:]:
        check_aligned(r, runs[0])
        check_same_metadata(r, runs[0], SEED_AGREEING_KEYS)
        if set(r.groups) != set(runs[0].groups):
            extra = sorted(set(r.groups) ^ set(runs[0].groups))[0]
            here = extra in r.groups
            raise PredictionFileError(
                r.path,
                f"column {GROUP_PREFIX}{extra} is {'here' if here else 'missing here'} but "
                f"{'missing' if here else 'present'} in {runs[0].path} (every seed file of a run "
                "set has the same group attributes)",
            )


#: Metadata every seed file of one run set must agree on (absent counts as a value).
SEED_AGREEING_KEYS = (
    "class_names",
    "positive_class",
    "role",
    "temperature",
    "alpha",
    "dataset",
    "split",
)


def check_same_metadata(run: SeedRun, ref: SeedRun, keys: Sequence[str]) -> None:
    """``run`` and ``ref`` give the same value (absent counts as a value) for each of ``keys``."""
    for key in keys:
        a, b = run.metadata.get(key), ref.metadata.get(key)
        if a != b:
            raise PredictionFileError(
                run.path, f"metadata {key} is {a!r} here but {b!r} in {ref.path}"[:400]
            )
