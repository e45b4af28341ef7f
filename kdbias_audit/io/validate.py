"""Validation of many paths at once, collecting every problem instead of stopping at the first."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import KDAuditError
from ..plainjson import plain
from .reader import read_predictions
from .runset import (
    RunSet,
    SeedRun,
    check_aligned,
    check_runset_consistency,
    find_prediction_files,
    find_runsets,
)


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
    rel = os.path.relpath(path)
    return rel if not rel.startswith("..") else path


@dataclass(frozen=True)
class ValidationReport:
    """What ``kdaudit validate`` found: one summary per valid run set, one line per problem."""

    summaries: tuple[dict[str, Any], ...]
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

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
    """
    problems: list[str] = []
    runsets: list[RunSet] = []
    locations: list[Path] = []
    for p in paths:
        try:
            locations.extend(find_runsets(p))
        except KDAuditError as exc:
            problems.append(str(exc))
    for loc in dict.fromkeys(locations):
        try:
            files = find_prediction_files(loc)
        except KDAuditError as exc:
            problems.append(str(exc))
            continue
        runs: list[SeedRun] = []
        broken = False
        for f in files:
            try:
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
            except KDAuditError as exc:
                problems.append(str(exc))
    return ValidationReport(tuple(rs.summary() for rs in runsets), tuple(problems))
