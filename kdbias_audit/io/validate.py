"""Validation of many paths at once, collecting every problem instead of stopping at the first."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..checks import check_comparable
from ..errors import KDAuditError
from ..frames import frame_method
from ..plainjson import plain
from .fs import Location, as_location, kind

if TYPE_CHECKING:  # pandas is imported by to_frame, not with the module
    import pandas as pd
from .listing import candidate_files, check_entry, find_prediction_files, find_runsets
from .reader import read_predictions
from .runset import RunSet, SeedRun, check_aligned, check_runset_consistency


def _ranges(values: Sequence[int]) -> str:
    """``[0, 1, 2, 4]`` -> ``"0-2,4"``."""
    spans: list[list[int]] = []
    for v in sorted(values):
        if spans and v == spans[-1][1] + 1:
            spans[-1][1] = v
        else:
            spans.append([v, v])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def _display(path: str) -> str:
    """A path as short as it can be shown: relative to the working directory when inside it."""
    from ..checks import printable

    rel = os.path.relpath(path)
    return printable(rel if not rel.startswith("..") else path)


@dataclass(frozen=True)
class ValidationReport:
    """What ``kdaudit validate`` found: one summary per valid run set, one line per problem."""

    summaries: tuple[dict[str, Any], ...]
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    @frame_method
    def to_frame(self) -> pd.DataFrame:
        rows = []
        for s in self.summaries:
            rows.append(
                {
                    "run set": _display(s["path"]),
                    "model": s["model"] or "",
                    "role": s["role"] or "",
                    "T": s["temperature"],
                    "seeds": _ranges(s["seeds"]),
                    "N": s["n_samples"],
                    "C": s["num_classes"],
                    "groups": ",".join(s["group_attributes"]),
                    "acc %": 100 * s["accuracy_mean"],
                }
            )
        import pandas as pd

        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """``{"ok", "runsets": [summary, ...], "problems": [...]}`` (NaN/inf as ``None``)."""
        return plain(
            {"ok": self.ok, "runsets": list(self.summaries), "problems": list(self.problems)}
        )


def validate_paths(
    paths: Sequence[str | os.PathLike[str]], *, independent: bool = False
) -> ValidationReport:
    """Validate files, run sets and sweep roots.

    Each file is read on its own (so every broken file is reported), then each run set is checked
    for consistency (unique seeds, same sample ids and labels), and unless ``independent`` all run
    sets found are checked to cover the same test set, as they would be when compared.

    A directory of run sets whose metadata names sweep roles (``teacher``, ``baseline``,
    ``distilled``) or temperatures is a sweep root: it is also held to the rules of
    ``kdaudit sweep`` (one teacher, one baseline, distilled run sets at distinct temperatures,
    at least 2 seeds per run set), so that ``validate`` passes exactly the sweeps ``sweep``
    accepts.
    """
    problems: list[str] = []
    runsets: list[RunSet] = []
    locations: list[Location] = []
    for p in paths:
        try:
            locations.extend(find_runsets(p))
        except KDAuditError as exc:
            problems.append(str(exc))
    for loc in dict.fromkeys(locations):
        try:
            files: list[Location] = (
                list(candidate_files(loc)) if isinstance(loc, Path) else find_prediction_files(loc)
            )
        except KDAuditError as exc:
            problems.append(str(exc))
            continue
        runs: list[SeedRun] = []
        broken = False
        for f in files:
            try:
                if isinstance(f, Path):
                    check_entry(f)
                runs.append(read_predictions(f))
            except KDAuditError as exc:
                problems.append(str(exc))
                broken = True
        if broken:
            continue
        try:
            check_runset_consistency(runs)
            runsets.append(RunSet(loc, tuple(runs)))
        except KDAuditError as exc:
            problems.append(str(exc))
    if not independent:
        for rs in runsets[1:]:
            try:
                check_aligned(rs.runs[0], runsets[0].runs[0])
                check_comparable(runsets[0], rs)  # and no class_names/positive_class clash
            except KDAuditError as exc:
                problems.append(str(exc))
    for p in paths:
        problems.extend(_sweep_problems(as_location(p), runsets))
    return ValidationReport(tuple(rs.summary() for rs in runsets), tuple(problems))


def _is_sweep_member(rs: RunSet) -> bool:
    from ..sweep.discover import ROLE_ALIASES

    role = rs.role
    return rs.temperature is not None or (
        isinstance(role, str) and role.strip().lower() in ROLE_ALIASES
    )


def _inside(path: Location, root: Location) -> bool:
    if isinstance(path, Path) and isinstance(root, Path):
        return root in path.parents
    return str(path).startswith(str(root).rstrip("/") + "/")


def _sweep_problems(root: Location, runsets: Sequence[RunSet]) -> list[str]:
    """The sweep's rules, when ``root`` is a directory of run sets that name sweep roles."""
    if kind(root) != "directory":
        return []
    members = [rs for rs in runsets if rs.path != root and _inside(rs.path, root)]
    if not members or not any(_is_sweep_member(rs) for rs in members):
        return []
    from ..sweep.discover import discover_sweep

    try:
        plan = discover_sweep(root)
    except KDAuditError as exc:
        return [f"{exc} (sweep rules)"]
    out = []
    chosen = {e.path for e in plan.runsets}
    for rs in members:
        if rs.path in chosen and len(rs.seeds) < 2:
            out.append(
                f"{rs.path}: has {len(rs.seeds)} seed; a sweep needs at least 2 seeds per run set "
                "(class-wise Welch tests)"
            )
    return out
