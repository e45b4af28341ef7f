"""The streaming reader: any row-group layout and batch size give the same arrays, checks still
fire in late batches, and files read several at a time in threads load like files read one by
one."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kdbias_audit import load_runsets, read_predictions
from kdbias_audit.errors import PredictionFileError
from kdbias_audit.io import reader

C = 7


def _write(path, z, y, *, row_group_size, seed=0, extra=False):
    n = y.shape[0]
    cols = {
        "sample_id": pa.array(np.arange(n)[::-1].copy()),
        "label": pa.array(y.astype(np.int32)),
        "logits": pa.FixedSizeListArray.from_arrays(pa.array(z.reshape(-1)), C),
        "group.g": pa.array(np.where(np.arange(n) % 3 == 0, "a", "b")),
    }
    if extra:  # a column the audit never needs
        cols["embedding"] = pa.FixedSizeListArray.from_arrays(
            pa.array(np.ones(n * 16, dtype=np.float32)), 16
        )
    meta = {"format_version": 1, "num_classes": C, "seed": seed}
    table = pa.table(cols).replace_schema_metadata({"kdbias_audit": json.dumps(meta)})
    pq.write_table(table, path, row_group_size=row_group_size)
    return path


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    n = 2_500
    return rng.standard_normal((n, C)).astype(np.float32), rng.integers(0, C, n)


@pytest.mark.parametrize("row_group_size", [999, 2_500])
@pytest.mark.parametrize("batch_values", [C * 64, 1 << 18])
@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize("whole_group_values", [0, 1 << 20], ids=["streamed", "whole"])
def test_any_layout_gives_the_same_arrays(
    tmp_path, data, monkeypatch, row_group_size, batch_values, threads, whole_group_values
):
    z, y = data
    f = _write(tmp_path / "s.parquet", z, y, row_group_size=row_group_size, extra=True)
    monkeypatch.setattr(reader, "BATCH_VALUES", batch_values)
    monkeypatch.setattr(reader, "WHOLE_GROUP_VALUES", whole_group_values)
    run = read_predictions(f, threads=threads)
    order = np.argsort(np.arange(y.size)[::-1])  # rows come back sorted by sample_id
    np.testing.assert_array_equal(run.sample_id, np.arange(y.size))
    np.testing.assert_array_equal(run.label, y[order])
    np.testing.assert_array_equal(run.pred, z.argmax(axis=1)[order])
    assert run.group_levels["g"] == ("a", "b")


def test_checks_fire_in_a_late_batch_of_a_late_row_group(tmp_path, data, monkeypatch):
    z, y = data
    z = z.copy()
    z[2_400, 3] = np.nan
    f = _write(tmp_path / "s.parquet", z, y, row_group_size=500)
    monkeypatch.setattr(reader, "BATCH_VALUES", C * 64)
    monkeypatch.setattr(reader, "WHOLE_GROUP_VALUES", 0)
    with pytest.raises(PredictionFileError, match="s.parquet: logits contain NaN or inf"):
        read_predictions(f)


def test_row_groups_in_threads_equal_serial_reads_and_arrays_are_shared(
    tmp_path, data, monkeypatch
):
    z, y = data
    rng = np.random.default_rng(1)
    for side in ("A", "B"):
        (tmp_path / side).mkdir()
        for s in range(4):
            noisy = z + rng.random(z.shape, dtype=np.float32)
            _write(tmp_path / side / f"seed{s}.parquet", noisy, y, row_group_size=700, seed=s)
    monkeypatch.setattr(reader.os, "cpu_count", lambda: 4)
    monkeypatch.setattr(reader, "WHOLE_GROUP_VALUES", 0)
    threaded = load_runsets([tmp_path / "A", tmp_path / "B"])
    monkeypatch.setattr(reader, "MAX_READ_THREADS", 1)
    serial = load_runsets([tmp_path / "A", tmp_path / "B"])
    for t, s in zip(threaded, serial, strict=True):
        np.testing.assert_array_equal(t.preds, s.preds)
        assert t.seeds == s.seeds == [0, 1, 2, 3]
    # one copy of the sample ids and labels for every run; per-run preds are rows of the stack
    a, b = threaded
    assert all(r.sample_id is a.runs[0].sample_id for r in (*a.runs, *b.runs))
    assert all(r.label is a.runs[0].label for r in (*a.runs, *b.runs))
    assert all(np.shares_memory(r.pred, a.preds) for r in a.runs)
    assert not a.runs[0].pred.flags.writeable


def test_locations():
    import pickle
    from pathlib import Path

    from kdbias_audit.io.fs import RemotePath, as_location, is_url

    loc = as_location("s3://Bucket/sweep/ds_T4/")
    assert isinstance(loc, RemotePath) and str(loc) == "s3://Bucket/sweep/ds_T4"
    assert (loc.name, loc.parent, loc / "seed0.parquet") == (
        "ds_T4",
        RemotePath("s3://Bucket/sweep"),
        RemotePath("s3://Bucket/sweep/ds_T4/seed0.parquet"),
    )
    assert (loc / "seed0.parquet").stem == "seed0"
    assert pickle.loads(pickle.dumps(loc)) == loc
    assert as_location("file:///tmp/a%20b/x") == Path("/tmp/a b/x")
    assert as_location("runs/teacher") == Path("runs/teacher")
    assert is_url("hf://datasets/org/repo") and not is_url("C:/data") and not is_url(Path("x"))
