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
_CANONICAL_INT = re.compile(r"^(0|-?[1-9][0-9]{0,17})$")
#: Largest total size (bytes) the arrays of one ``.npz`` may declare; checked from the headers
#: before any array is loaded (a few kB of compressed zeros can declare gigabytes).
MAX_NPZ_BYTES = 4 << 30


def _header_names(path: Path) -> list[str]:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    try:
        with pcsv.open_csv(path) as reader:
            return list(reader.schema.names)
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError, StopIteration):
        return []


def _sample_ids(arr: Any) -> np.ndarray:
    """CSV ``sample_id`` text: integers when every id is written as a canonical integer
    (``12``, not ``012``), else the strings exactly as written (``001`` stays ``001``)."""
    values = np.asarray(arr, dtype=object).astype(str)
    if values.size and all(_CANONICAL_INT.match(v) for v in values):
        return values.astype(np.int64)
    return values


def _arrays_from_csv(path: Path) -> dict[str, np.ndarray]:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    # ids and group values are text in a CSV: read them as written, never re-typed
    # (``001`` -> 1 would merge ids, ``01`` and ``1`` would merge groups)
    text_cols = [n for n in _header_names(path) if n == "sample_id" or n.startswith(GROUP_PREFIX)]
    try:
        table = pcsv.read_csv(
            path,
            convert_options=pcsv.ConvertOptions(
                column_types={n: pa.string() for n in text_cols},
                null_values=[""],
                strings_can_be_null=True,
            ),
        )
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
        if name == "sample_id":
            out[name] = _sample_ids(arr)
        elif name.startswith(GROUP_PREFIX):
            out[name] = np.asarray(arr, dtype=object).astype(str).astype(object)
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
                    table.column(logit_cols[i]).to_numpy(zero_copy_only=False).astype(np.float64)
                    for i in idx
                ]
            )
        except (ValueError, TypeError):
            raise PredictionFileError(path, "logit columns must hold numbers") from None
    return out


def _check_npz_sizes(path: Path) -> None:
    """Read every member's ``.npy`` header and refuse, before loading anything, an archive whose
    arrays declare more than :data:`MAX_NPZ_BYTES` or more bytes than the member holds."""
    total = 0
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                with zf.open(info) as fh:
                    version = np.lib.format.read_magic(fh)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
                    else:
                        shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
                    header_end = fh.tell()
                if dtype.hasobject:
                    raise PredictionFileError(
                        path,
                        f"array {info.filename[:-4]!r} holds objects, which are never "
                        "unpickled; save plain numeric/string arrays",
                    )
                declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
                held = info.file_size - header_end
                if declared != held:
                    raise PredictionFileError(
                        path,
                        f"array {info.filename[:-4]!r} declares {declared:,} bytes "
                        f"(shape {tuple(shape)}) but holds {held:,}: corrupt or crafted archive",
                    )
                total += declared
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise PredictionFileError(path, f"cannot be read as .npz: {exc}") from None
    if total > MAX_NPZ_BYTES:
        raise PredictionFileError(
            path,
            f"arrays declare {total:,} bytes in all; at most {MAX_NPZ_BYTES:,} are converted "
            "(split the predictions into several files, or write Parquet with pyarrow)",
        )


def _arrays_from_npz(path: Path) -> dict[str, np.ndarray]:
    if not zipfile.is_zipfile(path):
        raise PredictionFileError(path, "cannot be read as .npz: not a zip archive of arrays")
    _check_npz_sizes(path)
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
