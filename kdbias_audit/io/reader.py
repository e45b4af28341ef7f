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

from ..defaults import MAX_METADATA_BYTES, MAX_ROW_GROUP_LOGITS
from ..errors import PredictionFileError
from .fs import (
    REMOTE_BLOCK_SIZE,
    Location,
    RemotePath,
    as_location,
    kind,
    open_input,
    remote_error,
)
from .listing import check_entry
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


#: Rows per decoded batch target about this many logits values (1 MB of float32).
BATCH_VALUES = 1 << 18
#: Row groups with at most this many logits values (4 MB of float32) are read in one piece.
WHOLE_GROUP_VALUES = 1 << 20
#: After reading a file with at least this many logits values, freed memory goes back to the OS.
RELEASE_AFTER_VALUES = 1 << 23
#: pyarrow's read buffer: column chunks are streamed in pieces of this size, never read whole.
IO_BUFFER_SIZE = 1 << 20
#: At most this many row groups of one file are decoded at once (one thread each).
MAX_READ_THREADS = 4


def _parquet_file(loc: Location) -> pq.ParquetFile:
    """A streaming ``ParquetFile`` (1 MiB reads, 4 MiB requests remotely; no pre-buffering) that
    verifies page checksums where the file has them.

    Local paths pyarrow cannot encode (a directory name that is not UTF-8) are opened by Python
    and handed over as a file object.
    """
    source: Any = open_input(loc)
    if isinstance(source, str):
        try:
            source.encode("utf-8")
        except UnicodeEncodeError:
            source = open(source, "rb")  # noqa: SIM115 - closed with the ParquetFile
    buffer = REMOTE_BLOCK_SIZE if isinstance(loc, RemotePath) else IO_BUFFER_SIZE
    try:
        return pq.ParquetFile(
            source,
            memory_map=False,
            buffer_size=buffer,
            pre_buffer=False,
            page_checksum_verification=True,
        )
    except BaseException:
        if not isinstance(source, str):
            source.close()
        raise


def _close(pf: pq.ParquetFile) -> None:
    pf.close(force=True)  # also a file object handed in (an fsspec file)


def open_parquet(path: str | os.PathLike[str] | Location) -> pq.ParquetFile:
    """Open one prediction file (a path or a URL) for streaming reads; one-line errors."""
    loc = as_location(path)
    if isinstance(loc, Path):
        if not os.path.lexists(loc):
            raise PredictionFileError(loc, "does not exist")
        if not loc.is_file():
            check_entry(loc)  # a broken link, a loop, a directory: said as such
            raise PredictionFileError(loc, "is not a file")
    else:
        what = kind(loc)
        if what is None:
            raise PredictionFileError(loc, "does not exist")
        if what != "file":
            raise PredictionFileError(loc, "is not a file")
    try:
        return _parquet_file(loc)
    except PredictionFileError:
        raise
    except Exception as exc:  # ArrowInvalid (a ValueError), OSError, network errors of any library
        if isinstance(loc, RemotePath) and not isinstance(exc, ValueError):
            raise remote_error(loc, exc) from None
        if not isinstance(exc, (ValueError, OSError)):
            raise
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PredictionFileError(
            loc, f"not a readable Parquet file (truncated or another format): {first}"
        ) from None


def file_metadata(pf: pq.ParquetFile, path: Location) -> dict[str, Any]:
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
    except RecursionError:
        raise PredictionFileError(
            path, f"metadata '{METADATA_KEY}' is nested too deeply to be read"
        ) from None
    return check_metadata(meta, path)


def _is_int(t: pa.DataType) -> bool:
    return pa.types.is_integer(t)


def _check_schema(
    schema: pa.Schema, meta: dict[str, Any], path: Location
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


def _reduce_logits(col: pa.Array, kind: str, nc: int, path: Location) -> np.ndarray:
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
    # fixed-size lists: the child array sliced to this chunk (zero-copy; flatten() goes
    # through pyarrow.compute); variable lists: flatten() follows the offsets
    values = col.values.slice(col.offset * nc, len(col) * nc) if kind == "fixed" else col.flatten()
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
    pf: pq.ParquetFile,
    path: Location,
    small_cols: list[str],
    kind: str | None,
    nc: int,
    *,
    threads: int | None = None,
) -> tuple[pa.Table, list[np.ndarray]]:
    """Read ``small_cols`` and reduce the logits (when ``kind``), streaming.

    Only the needed columns are read (column projection). Row groups are decoded in parallel
    threads (at most ``threads``, default ``min(cpus, MAX_READ_THREADS)``, each with its own
    file handle), and each row group batch by batch (about ``BATCH_VALUES`` logits, read through
    1 MiB buffers): a batch's logits are reduced to argmax as soon as it is decoded, so memory
    holds a few batches whatever the size of the file or of its row groups.
    """
    batch_rows = max(64, BATCH_VALUES // nc)

    def one(i: int, handle: pq.ParquetFile | None = None) -> tuple[pa.Table, list[np.ndarray]]:
        own = handle is None
        f = handle if handle is not None else _parquet_file(path)
        try:
            if kind is not None and f.metadata.row_group(i).num_rows * nc <= WHOLE_GROUP_VALUES:
                # a small row group: one read, as cheap as it gets, and still small
                part = f.read_row_group(i, columns=[*small_cols, "logits"], use_threads=False)
                chunks = part.column("logits").chunks
                preds = [_reduce_logits(c, kind, nc, path) for c in chunks]
                return part.drop_columns(["logits"]), preds
            # the small columns in one read; the logits streamed batch by batch
            small = f.read_row_group(i, columns=small_cols, use_threads=False)
            preds = []
            if kind is not None:
                for batch in f.iter_batches(
                    batch_size=batch_rows, row_groups=[i], columns=["logits"], use_threads=False
                ):
                    preds.append(_reduce_logits(batch.column(0), kind, nc, path))
            return small, preds
        finally:
            if own:
                _close(f)

    n_groups = pf.metadata.num_row_groups
    if threads is None:
        threads = min(os.cpu_count() or 1, MAX_READ_THREADS)
    workers = min(n_groups, threads)
    if workers <= 1:
        done = [one(i, pf) for i in range(n_groups)]
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=workers) as pool:
            done = list(pool.map(one, range(n_groups)))
    small = pa.concat_tables([t for t, _ in done]) if len(done) > 1 else done[0][0]
    return small, [p for _, ps in done for p in ps]


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


def read_predictions(
    path: str | os.PathLike[str] | Location, *, threads: int | None = None
) -> SeedRun:
    """Read and validate one prediction file; rows come back sorted by ``sample_id``.

    ``path`` is a local path or a URL (``s3://...``, ``gs://...``, ``hf://...``, ``file://...``;
    see ``docs/remote.md``). Only the needed columns are read; logits are streamed batch by
    batch and reduced to ``pred`` (argmax) immediately. When the file has both ``logits`` and
    ``pred``, ``pred`` is taken from the file and logits are still checked (finite, right
    length). ``threads`` caps the row groups decoded at once (default: up to 4, one per CPU).

    Raises
    ------
    PredictionFileError
        One line, ``"<path>: <problem>"``, for any rule of format v1 the file breaks.
    """
    loc = as_location(path)
    pf = open_parquet(loc)
    n_values = 0
    try:
        meta = file_metadata(pf, loc)
        nc = meta["num_classes"]
        n_values = pf.metadata.num_rows * nc
        schema = pf.schema_arrow
        kind, group_cols = _check_schema(schema, meta, loc)
        n = pf.metadata.num_rows
        if n == 0:
            raise PredictionFileError(loc, "has no rows")
        if kind is not None:  # declared sizes checked before any page is decoded
            for i in range(pf.metadata.num_row_groups):
                rows = pf.metadata.row_group(i).num_rows
                if rows * nc > MAX_ROW_GROUP_LOGITS:
                    raise PredictionFileError(
                        loc,
                        f"row group {i} declares {rows:,} rows x {nc:,} logits; at most "
                        f"{MAX_ROW_GROUP_LOGITS:,} logits per row group are read (write smaller "
                        "row groups: pq.write_table(..., row_group_size=...))",
                    )
        small_cols = (
            ["sample_id", "label"] + (["pred"] if "pred" in schema.names else []) + group_cols
        )
        # row groups decoded in parallel threads, batch by batch, logits reduced to argmax as
        # they arrive (pred given: logits still checked)
        small, preds = _read_row_groups(pf, loc, small_cols, kind, nc, threads=threads)
    except PredictionFileError:
        raise
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError) as exc:
        if isinstance(loc, RemotePath) and not isinstance(exc, pa.ArrowInvalid):
            raise remote_error(loc, exc) from None
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PredictionFileError(loc, f"cannot be read (truncated or corrupt?): {first}") from None
    except Exception as exc:  # network errors of a remote filesystem, whatever their type
        if isinstance(loc, RemotePath):
            raise remote_error(loc, exc) from None
        raise
    finally:
        _close(pf)
        if n_values >= RELEASE_AFTER_VALUES:
            # hand freed decode buffers back to the OS: without it the allocator keeps each
            # stream's high-water mark, and fragmentation makes that several times the data.
            # (After small files it would only cost page faults on the next file.)
            pa.default_memory_pool().release_unused()

    for name in small_cols:
        if small.column(name).null_count:
            raise PredictionFileError(loc, f"column {name!r} has missing values")
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
        raise PredictionFileError(loc, f"sample_id {sid[dup[0]]} appears more than once")
    label, pred = label[order], pred[order]
    check_range(label, nc, loc, "label", sid)
    check_range(pred, nc, loc, "pred", sid)

    groups, levels = {}, {}
    for name in group_cols:
        values = _column_to_numpy(small.column(name))[order]
        attr = name[len(GROUP_PREFIX) :]
        groups[attr], levels[attr] = encode_groups(values, loc, attr)
    for arr in (sid, label, pred, *groups.values()):
        arr.setflags(write=False)
    return SeedRun(loc, int(meta["seed"]), sid, label, pred, groups, levels, meta, nc)
