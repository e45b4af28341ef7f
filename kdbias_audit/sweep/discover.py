"""Sweep discovery: find the run sets of a sweep and give each its role (file footers only).

Roles and temperatures come from the file metadata (``role``, ``temperature``, ``alpha``);
``teacher=`` / ``baseline=`` override the metadata. Anything ambiguous is an error, never a guess.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import InvalidArgumentError, KDAuditError, PredictionFileError
from ..io.fs import Location, RemotePath, as_location, kind

__all__ = ["Role", "DiscoveredRunSet", "SweepPlan", "discover_sweep"]

Role = Literal["teacher", "baseline", "distilled"]

ROLE_ALIASES: dict[str, Role] = {
    "teacher": "teacher",
    "baseline": "baseline",
    "nds": "baseline",
    "non-distilled": "baseline",
    "non_distilled": "baseline",
    "distilled": "distilled",
    "ds": "distilled",
}

ROLE_LABEL = {"teacher": "Teacher", "baseline": "NDS", "distilled": "DS"}


def alpha_key(a: float | None) -> tuple[int, float]:
    return (0, 0.0) if a is None else (1, a)


# --------------------------------------------------------------------------------------------
# Discovery (file footers only; nothing is loaded here)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiscoveredRunSet:
    """One run set of a sweep, as found on disk, with the role it will play.

    ``role_source`` says where the role came from: ``"metadata"`` or ``"override"``.
    """

    path: Location
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

    root: Location
    teacher: DiscoveredRunSet
    baseline: DiscoveredRunSet
    distilled: tuple[DiscoveredRunSet, ...]
    skipped: tuple[tuple[Location, str], ...] = ()

    @property
    def runsets(self) -> tuple[DiscoveredRunSet, ...]:
        return (self.teacher, self.baseline, *self.distilled)


def _as_float(value: Any, where: Location, key: str) -> float | None:
    if value is None:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise PredictionFileError(where, f"metadata {key}={value!r} is not a number") from None
    if not math.isfinite(out):
        raise PredictionFileError(where, f"metadata {key}={value!r} is not a finite number")
    return out


def _peek_metadata(path: Location) -> dict[str, Any]:
    """The validated ``kdbias_audit`` metadata of one file, from its Parquet footer only."""
    from ..io.reader import file_metadata, open_parquet

    pf = open_parquet(path)
    try:
        return file_metadata(pf, path)
    finally:
        pf.close(force=True)


def find_runset_dirs(root: str | os.PathLike[str] | Location) -> list[Location]:
    """Every directory under ``root`` (recursively, hidden ones skipped) holding ``*.parquet`` files.

    ``root`` itself must not hold prediction files: a sweep is a directory of run sets.
    """
    from ..io.listing import find_runsets

    root = as_location(root)
    if kind(root) == "file":
        raise KDAuditError(f"{root}: is not a directory (a sweep is a directory of run sets)")
    found = find_runsets(root)
    if root in found:
        raise KDAuditError(
            f"{root}: holds prediction files directly; a sweep is a directory of run sets "
            "(one subdirectory of seed files per model)"
        )
    return found


def _runset_metadata(path: Location) -> dict[str, Any]:
    """Role-relevant metadata of a run set, checked to agree across its seed files."""
    from ..io.listing import find_prediction_files

    files = find_prediction_files(path)  # the one listing: links followed, nothing skipped
    if isinstance(path, RemotePath) and len(files) > 1:
        # remote footers: round trips dominate, so they are fetched several at once
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(8, len(files))) as pool:
            metas = list(pool.map(_peek_metadata, files))
    else:
        metas = [_peek_metadata(f) for f in files]
    first: dict[str, Any] | None = None
    first_file: Location | None = None
    for f, meta in zip(files, metas, strict=True):
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


def _classify(path: Location, meta: dict[str, Any]) -> DiscoveredRunSet:
    temperature = _as_float(meta.get("temperature"), path, "temperature")
    kd_alpha = _as_float(meta.get("alpha"), path, "alpha")
    raw_role = meta.get("role")
    if raw_role is None:
        if temperature is None:
            raise KDAuditError(
                f"{path}: no role in its metadata and no temperature; set role to teacher, "
                "baseline or distilled, or pass teacher= or baseline="
            )
        role: Role = "distilled"
    else:
        key = str(raw_role).strip().lower()
        if key not in ROLE_ALIASES:
            raise KDAuditError(
                f"{path}: metadata role {str(raw_role)!r} is not one of teacher, baseline, distilled"
            )
        role = ROLE_ALIASES[key]
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


def _same_path(a: Location, b: Location) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def discover_sweep(
    root: str | os.PathLike[str] | Location,
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
    where = as_location(root)
    dirs = find_runset_dirs(where)
    overrides: dict[Role, Location] = {}
    candidates: tuple[tuple[Role, Any], ...] = (("teacher", teacher), ("baseline", baseline))
    for role_name, value in candidates:
        if value is None:
            continue
        p = as_location(value)
        if kind(p) != "directory":
            raise InvalidArgumentError(
                f"{role_name}={p}: must be a run-set directory", parameter=role_name
            )
        from ..io.listing import find_prediction_files

        find_prediction_files(p)  # the one listing: none, or a broken entry, is an error
        overrides[role_name] = p
    if (
        "teacher" in overrides
        and "baseline" in overrides
        and _same_path(overrides["teacher"], overrides["baseline"])
    ):
        raise InvalidArgumentError(
            f"{overrides['teacher']}: given as both teacher= and baseline=", parameter="teacher"
        )

    entries: list[DiscoveredRunSet] = []
    override_entries: dict[str, DiscoveredRunSet] = {}
    for role_name, p in overrides.items():
        meta = _runset_metadata(p)
        base = _classify_lenient(p, meta)
        override_entries[role_name] = DiscoveredRunSet(
            path=p,
            role=role_name,
            temperature=base[0],
            kd_alpha=base[1],
            dataset=base[2],
            model=base[3],
            role_source="override",
        )
    for d in dirs:
        if any(_same_path(d, p) for p in overrides.values()):
            continue
        entries.append(_classify(d, _runset_metadata(d)))

    skipped: list[tuple[Location, str]] = []
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
                f"{where}: no {role_name} run set found (set metadata role={role_name!r} or pass {role_name}=DIR)"
            )
        if len(claimed) > 1:
            names = ", ".join(str(e.path) for e in claimed)
            raise KDAuditError(
                f"{where}: {len(claimed)} {role_name} run sets ({names}); pick one with {role_name}=DIR"
            )
        picked[role_name] = claimed[0]

    distilled = [e for e in entries if e.role == "distilled"]
    if not distilled:
        raise KDAuditError(
            f"{where}: no distilled run set found (metadata role='distilled' with a temperature)"
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

    distilled.sort(key=lambda e: (alpha_key(e.kd_alpha), e.temperature))
    return SweepPlan(
        root=where,
        teacher=picked["teacher"],
        baseline=picked["baseline"],
        distilled=tuple(distilled),
        skipped=tuple(skipped),
    )


def _classify_lenient(
    path: Location, meta: dict[str, Any]
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
