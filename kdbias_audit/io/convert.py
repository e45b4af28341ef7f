"""Turn predictions kept elsewhere (CSV, NPZ) into format-v1 files."""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import PredictionFileError
from .spec import GROUP_PREFIX
from .writer import write_predictions

_LOGIT_COL = re.compile(r"^logits?[_.](\d+)$")


def _arrays_from_csv(path: Path) -> dict[str, np.ndarray]:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    try:
        table = pcsv.read_csv(path)
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PredictionFileError(path, f"cannot be read as CSV: {first}") from None
    out: dict[str, np.ndarray] = {}
    logit_cols: dict[int, str] = {}
    for name in table.column_names:
        col = table.column(name)
        if col.null_count:
            raise PredictionFileError(path, f"column {name!r} has empty cells")
        m = _LOGIT_COL.match(name)
        if m:
            logit_cols[int(m.group(1))] = name
            continue
        arr = col.to_numpy(zero_copy_only=False)
        if (
            name.startswith(GROUP_PREFIX)
            and arr.dtype != object
            and not np.issubdtype(arr.dtype, np.floating)
        ):
            out[name] = arr
        elif name.startswith(GROUP_PREFIX):
            out[name] = arr.astype(str)
        else:
            out[name] = arr
    if logit_cols:
        idx = sorted(logit_cols)
        if idx != list(range(len(idx))):
            raise PredictionFileError(
                path, f"logit columns must be logit_0 .. logit_{len(idx) - 1} without gaps"
            )
        try:
            out["logits"] = np.column_stack(
                [
                    table.column(logit_cols[i]).to_numpy(zero_copy_only=False).astype(np.float32)
                    for i in idx
                ]
            )
        except (ValueError, TypeError):
            raise PredictionFileError(path, "logit columns must hold numbers") from None
    return out


def _arrays_from_npz(path: Path) -> dict[str, np.ndarray]:
    if not zipfile.is_zipfile(path):
        raise PredictionFileError(path, "cannot be read as .npz: not a zip archive of arrays")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise PredictionFileError(
                path,
                "holds object arrays, which are never unpickled; save plain numeric/string arrays",
            ) from None
        raise PredictionFileError(path, f"cannot be read as .npz: {exc}") from None
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise PredictionFileError(path, f"cannot be read as .npz: {exc}") from None


def convert_file(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    seed: int,
    num_classes: int | None = None,
    metadata: Mapping[str, Any] | None = None,
    overwrite: bool = False,
    logits_dtype: str = "float32",
) -> Path:
    """Convert a ``.csv`` or ``.npz`` of predictions into one format-v1 file.

    Expected names: ``label``; ``pred`` and/or ``logits`` (NPZ: 2-D array; CSV: columns
    ``logit_0`` .. ``logit_{C-1}``); optional ``sample_id``; optional ``group.<attribute>``.
    NPZ files are read with ``allow_pickle=False``.
    """
    source, output = Path(source), Path(output)
    if not source.exists():
        raise PredictionFileError(source, "does not exist")
    suffix = source.suffix.lower()
    if suffix == ".csv":
        arrays = _arrays_from_csv(source)
    elif suffix == ".npz":
        arrays = _arrays_from_npz(source)
    else:
        raise PredictionFileError(
            source, f"unknown input type {suffix or '(none)'}; expected .csv or .npz"
        )
    known = {"label", "pred", "logits", "sample_id"}
    unexpected = [k for k in arrays if k not in known and not k.startswith(GROUP_PREFIX)]
    if unexpected:
        raise PredictionFileError(
            source,
            f"unexpected column {unexpected[0]!r} (expected label, pred, logits, sample_id, group.<attribute>)",
        )
    if "label" not in arrays:
        raise PredictionFileError(source, "has no 'label'")
    if "pred" not in arrays and "logits" not in arrays:
        raise PredictionFileError(source, "has neither 'pred' nor 'logits'")
    groups = {k[len(GROUP_PREFIX) :]: v for k, v in arrays.items() if k.startswith(GROUP_PREFIX)}
    try:
        return write_predictions(
            output,
            y_true=arrays["label"],
            logits=arrays.get("logits"),
            y_pred=arrays.get("pred"),
            sample_id=arrays.get("sample_id"),
            groups=groups,
            seed=seed,
            num_classes=num_classes,
            metadata=metadata,
            overwrite=overwrite,
            logits_dtype=logits_dtype,
        )
    except PredictionFileError as exc:
        if exc.path == str(output):  # the data is the problem: name the input too
            raise PredictionFileError(source, exc.problem) from None
        raise
