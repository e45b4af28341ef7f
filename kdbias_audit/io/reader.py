"""Reading one prediction file: footer metadata, schema checks, row-group streaming.

Reading streams one file at a time, batch by batch: logits are reduced to ``pred`` (argmax) as
they arrive and are never kept. What remains per seed is a few small integer arrays.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..defaults import MAX_METADATA_BYTES
from ..errors import PredictionFileError
from .runset import SeedRun
from .spec import (
    GROUP_PREFIX,
    METADATA_KEY,
    check_metadata,
    check_range,
    encode_groups,
)

__all__ = ["read_predictions"]


# --------------------------------------------------------------------------------------------
# reader


def open_parquet(path: Path) -> pq.ParquetFile:
    if not path.exists():
        raise PredictionFileError(path, "does not exist")
    if not path.is_file():
        raise PredictionFileError(path, "is not a file")
    try:
        return pq.ParquetFile(path, memory_map=False)
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PredictionFileError(
            path, f"not a readable Parquet file (truncated or another format): {first}"
        ) from None


def file_metadata(pf: pq.ParquetFile, path: Path) -> dict[str, Any]:
    raw = (pf.schema_arrow.metadata or {}).get(METADATA_KEY.encode())
    if raw is None:
        raise PredictionFileError(path, f"has no '{METADATA_KEY}' metadata (see docs/format.md)")
    if len(raw) > MAX_METADATA_BYTES:
        raise PredictionFileError(
            path, f"metadata is {len(raw)} bytes; at most {MAX_METADATA_BYTES} are accepted"
        )
    try:
        meta = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PredictionFileError(
            path, f"metadata '{METADATA_KEY}' is not valid JSON ({exc})"
        ) from None
    return check_metadata(meta, path)


def _is_int(t: pa.DataType) -> bool:
    return pa.types.is_integer(t)


def _check_schema(
    schema: pa.Schema, meta: dict[str, Any], path: Path
) -> tuple[str | None, list[str]]:
    """Check column types before any data is read; returns (logits kind, group columns)."""
    names = schema.names
    if len(set(names)) != len(names):
        raise PredictionFileError(path, "has duplicate column names")
    nc = meta["num_classes"]
    if "label" not in names:
        raise PredictionFileError(path, "has no 'label' column")
    if not _is_int(schema.field("label").type):
        raise PredictionFileError(
            path, f"column 'label' must be integer, got {schema.field('label').type}"
        )
    if "sample_id" not in names:
        raise PredictionFileError(path, "has no 'sample_id' column")
    st = schema.field("sample_id").type
    if not (_is_int(st) or pa.types.is_string(st) or pa.types.is_large_string(st)):
        raise PredictionFileError(path, f"column 'sample_id' must be int64 or string, got {st}")
    kind = None
    if "logits" in names:
        lt = schema.field("logits").type
        if pa.types.is_fixed_size_list(lt):
            if lt.list_size != nc:
                raise PredictionFileError(
                    path, f"logits have length {lt.list_size} but num_classes is {nc}"
                )
            kind = "fixed"
        elif pa.types.is_list(lt) or pa.types.is_large_list(lt):
            kind = "list"
        else:
            raise PredictionFileError(path, f"column 'logits' must be a list of floats, got {lt}")
        vt = lt.value_type
        if not (pa.types.is_float32(vt) or pa.types.is_float16(vt) or pa.types.is_float64(vt)):
            raise PredictionFileError(path, f"logits must be float32 or float16, got {vt}")
    if "pred" in names and not _is_int(schema.field("pred").type):
        raise PredictionFileError(
            path, f"column 'pred' must be integer, got {schema.field('pred').type}"
        )
    if kind is None and "pred" not in names:
        raise PredictionFileError(path, "has neither 'logits' nor 'pred'")
    groups = []
    for name in names:
        if name.startswith(GROUP_PREFIX):
            gt = schema.field(name).type
            if pa.types.is_dictionary(gt):
                gt = gt.value_type
            ok = (
                _is_int(gt)
                or pa.types.is_boolean(gt)
                or pa.types.is_string(gt)
                or pa.types.is_large_string(gt)
            )
            if not ok or len(name) == len(GROUP_PREFIX):
                raise PredictionFileError(
                    path, f"column {name!r} must be string, integer or boolean, got {gt}"
                )
            groups.append(name)
    return kind, groups


def _reduce_logits(col: pa.Array, kind: str, nc: int, path: Path) -> np.ndarray:
    """argmax of one chunk of logits, with the finiteness and length checks.

    Works on blocks of rows so that temporaries (float16 -> float32, row sums) stay small.
    """
    if col.null_count:
        raise PredictionFileError(path, "logits contain null rows")
    if kind == "list":
        lengths = np.diff(_column_to_numpy(col.offsets))
        if lengths.size and (lengths != nc).any():
            bad = int(lengths[lengths != nc][0])
            raise PredictionFileError(path, f"logits have length {bad} but num_classes is {nc}")
    values = col.flatten()
    if values.null_count:
        raise PredictionFileError(path, "logits contain null values")
    z = _column_to_numpy(values).reshape(-1, nc)
    out = np.empty(z.shape[0], dtype=np.int64)
    step = max(1, (1 << 22) // nc)  # about 4 M values per block
    for start in range(0, z.shape[0], step):
        block = z[start : start + step]
        if block.dtype == np.float16:
            block = block.astype(np.float32)
        # One pass for the check: a row sum is finite iff every entry is (an overflow to inf is
        # re-checked entry by entry).
        sums = block.sum(axis=1)
        bad = ~np.isfinite(sums)
        if bad.any() and not np.isfinite(block[bad]).all():
            raise PredictionFileError(path, "logits contain NaN or inf")
        out[start : start + step] = block.argmax(axis=1)
    return out


def _read_row_groups(
    pf: pq.ParquetFile, path: Path, small_cols: list[str], kind: str | None, nc: int
) -> tuple[pa.Table, list[np.ndarray]]:
    """Read ``small_cols`` and reduce the logits (when ``kind``), one row group at a time.

    Row groups are decoded in parallel threads (each with its own file handle): as fast as
    ``pyarrow.parquet.read_table``, which would also import pandas through pyarrow.dataset, and
    without ever holding the whole logits column.
    """
    cols = small_cols + (["logits"] if kind is not None else [])

    def one(i: int, handle: pq.ParquetFile | None = None) -> tuple[pa.Table, list[np.ndarray]]:
        part = (handle or pq.ParquetFile(path, memory_map=False)).read_row_group(
            i, columns=cols, use_threads=False
        )
        if kind is None:
            return part, []
        preds = [_reduce_logits(chunk, kind, nc, path) for chunk in part.column("logits").chunks]
        return part.drop_columns(["logits"]), preds

    n_groups = pf.metadata.num_row_groups
    workers = min(n_groups, os.cpu_count() or 1)
    if workers <= 1:
        parts = [one(i, pf) for i in range(n_groups)]
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(one, range(n_groups)))
    small = pa.concat_tables([t for t, _ in parts]) if n_groups != 1 else parts[0][0]
    return small, [p for _, ps in parts for p in ps]


def _column_to_numpy(arr: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Arrow -> numpy straight from the buffers (``Array.to_numpy`` imports pandas: ~0.3 s)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    t = arr.type
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        dtype = np.dtype(t.to_pandas_dtype())
        return np.frombuffer(
            arr.buffers()[1], dtype=dtype, count=len(arr), offset=arr.offset * dtype.itemsize
        )
    if pa.types.is_boolean(t):
        bits = np.frombuffer(arr.buffers()[1], dtype=np.uint8)
        return np.unpackbits(bits, bitorder="little", count=arr.offset + len(arr))[
            arr.offset :
        ].astype(bool)
    return np.array(arr.to_pylist(), dtype=object)


def read_predictions(path: str | os.PathLike[str]) -> SeedRun:
    """Read and validate one prediction file; rows come back sorted by ``sample_id``.

    Logits are streamed batch by batch and reduced to ``pred`` (argmax) immediately. When the
    file has both ``logits`` and ``pred``, ``pred`` is taken from the file and logits are still
    checked (finite, right length).

    Raises
    ------
    PredictionFileError
        One line, ``"<path>: <problem>"``, for any rule of format v1 the file breaks.
    """
    path = Path(path)
    pf = open_parquet(path)
    meta = file_metadata(pf, path)
    nc = meta["num_classes"]
    schema = pf.schema_arrow
    kind, group_cols = _check_schema(schema, meta, path)
    n = pf.metadata.num_rows
    if n == 0:
        raise PredictionFileError(path, "has no rows")

    small_cols = ["sample_id", "label"] + (["pred"] if "pred" in schema.names else []) + group_cols
    try:
        # row groups decoded in parallel threads, logits reduced to argmax group by group, so at
        # most one row group per thread is ever in memory (pred given: logits still checked)
        small, preds = _read_row_groups(pf, path, small_cols, kind, nc)
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PredictionFileError(
            path, f"cannot be read (truncated or corrupt?): {first}"
        ) from None

    for name in small_cols:
        if small.column(name).null_count:
            raise PredictionFileError(path, f"column {name!r} has missing values")
    sid = _column_to_numpy(small.column("sample_id"))
    if sid.dtype == object:
        sid = sid.astype(str).astype(object)
    else:
        sid = sid.astype(np.int64, copy=False)
    label = _column_to_numpy(small.column("label")).astype(np.int64, copy=False)
    if "pred" in schema.names:
        pred = _column_to_numpy(small.column("pred")).astype(np.int64, copy=False)
    else:
        pred = np.concatenate(preds).astype(np.int64, copy=False)

    order = np.argsort(sid, kind="stable")
    sid = sid[order]
    dup = np.flatnonzero(sid[1:] == sid[:-1])
    if dup.size:
        raise PredictionFileError(path, f"sample_id {sid[dup[0]]} appears more than once")
    label, pred = label[order], pred[order]
    check_range(label, nc, path, "label", sid)
    check_range(pred, nc, path, "pred", sid)

    groups, levels = {}, {}
    for name in group_cols:
        values = _column_to_numpy(small.column(name))[order]
        attr = name[len(GROUP_PREFIX) :]
        groups[attr], levels[attr] = encode_groups(values, path, attr)
    for arr in (sid, label, pred, *groups.values()):
        arr.setflags(write=False)
    return SeedRun(path, int(meta["seed"]), sid, label, pred, groups, levels, meta, nc)
