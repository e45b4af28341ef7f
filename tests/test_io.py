"""Format v1: writer -> reader round trip, every bad-input rule, run set alignment."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kdbias_audit import (
    KDAuditError,
    PredictionFileError,
    RunSet,
    load_runset,
    load_runsets,
    read_predictions,
    write_predictions,
)
from kdbias_audit.io import METADATA_KEY, find_runsets

RNG = np.random.default_rng(7)
N, C = 60, 4


def _arrays(n=N, c=C, rng=RNG):
    y = rng.integers(0, c, n)
    z = rng.normal(size=(n, c)).astype(np.float32)
    return y, z


def _write_raw(path: Path, columns: dict, meta: dict | str | None) -> Path:
    """Write a Parquet file with plain pyarrow, bypassing the writer's checks."""
    table = pa.table(columns)
    if meta is not None:
        raw = meta if isinstance(meta, str) else json.dumps(meta)
        table = table.replace_schema_metadata({METADATA_KEY: raw})
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path


def _meta(**kw):
    m = {"format_version": 1, "num_classes": C, "seed": 0}
    m.update(kw)
    return m


def _logits_col(z):
    return pa.FixedSizeListArray.from_arrays(pa.array(z.reshape(-1), type=pa.float32()), z.shape[1])


# ------------------------------------------------------------------------------------ writer


def test_round_trip_preserves_columns_and_metadata(tmp_path):
    y, z = _arrays()
    sid = RNG.permutation(1000)[:N]
    groups = {
        "young": RNG.integers(0, 2, N) > 0,
        "color": RNG.choice(["red", "blue", "a b"], N),
        "site": RNG.integers(0, 5, N),
    }
    meta = {
        "model": "resnet20",
        "dataset": "cifar10",
        "split": "test",
        "role": "distilled",
        "temperature": 4.0,
        "alpha": 0.8,
        "teacher_model": "resnet56",
        "class_names": ["a", "b", "c", "d"],
        "extra": {"k": [1, 2]},
    }
    path = write_predictions(
        tmp_path / "seed3.parquet",
        y_true=y,
        logits=z,
        sample_id=sid,
        groups=groups,
        seed=3,
        metadata=meta,
    )

    table = pq.read_table(path)
    assert table.column_names == [
        "sample_id",
        "label",
        "logits",
        "group.young",
        "group.color",
        "group.site",
    ]
    assert pa.types.is_fixed_size_list(table.schema.field("logits").type)
    stored = json.loads(table.schema.metadata[METADATA_KEY.encode()])
    assert stored == dict(meta, format_version=1, num_classes=C, seed=3)

    run = read_predictions(path)
    order = np.argsort(sid)
    np.testing.assert_array_equal(run.sample_id, sid[order])
    np.testing.assert_array_equal(run.label, y[order])
    np.testing.assert_array_equal(run.pred, z.argmax(1)[order])
    assert run.seed == 3 and run.num_classes == C and run.metadata == stored
    for attr, values in groups.items():
        decoded = np.asarray(run.group_levels[attr], dtype=object)[run.groups[attr]]
        np.testing.assert_array_equal(decoded, np.asarray(values).astype(str)[order])
    # the raw table holds exactly what was written
    np.testing.assert_array_equal(table.column("sample_id").to_numpy(), sid)
    np.testing.assert_allclose(np.stack(table.column("logits").to_pylist()), z)


def test_pred_only_and_float16(tmp_path):
    y, z = _arrays()
    p1 = write_predictions(
        tmp_path / "p.parquet", y_true=y, y_pred=z.argmax(1), seed=0, num_classes=C
    )
    p2 = write_predictions(
        tmp_path / "h.parquet", y_true=y, logits=z, seed=1, logits_dtype="float16"
    )
    assert pq.read_schema(p2).field("logits").type.value_type == pa.float16()
    np.testing.assert_array_equal(read_predictions(p1).pred, z.argmax(1))
    np.testing.assert_array_equal(
        read_predictions(p2).pred, z.astype(np.float16).astype(np.float32).argmax(1)
    )


def test_writer_refuses_overwrite_and_is_atomic(tmp_path):
    y, z = _arrays()
    path = write_predictions(tmp_path / "s.parquet", y_true=y, logits=z, seed=0)
    before = path.read_bytes()
    with pytest.raises(KDAuditError, match="already exists"):
        write_predictions(path, y_true=y, logits=z, seed=1)
    z_bad = z.copy()
    z_bad[0, 0] = np.nan
    with pytest.raises(PredictionFileError, match="NaN"):
        write_predictions(path, y_true=y, logits=z_bad, seed=1, overwrite=True)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["s.parquet"]  # no temp files left
    write_predictions(path, y_true=y, logits=z, seed=5, overwrite=True)
    assert read_predictions(path).seed == 5


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(logits=None), "give logits or y_pred"),
        (dict(logits=np.zeros((N, C, 1))), "logits must have shape"),
        (dict(num_classes=C + 1), "logits have length 4 but num_classes is 5"),
        (dict(sample_id=np.zeros(N, int)), "not unique"),
        (dict(metadata={"class_names": ["x"]}), "class_names has 1 names"),
        (dict(groups={"g": np.ones(N - 1)}), "must have shape"),
        (dict(groups={"g": np.linspace(0, 1, N)}), "string, integer or boolean"),
    ],
)
def test_writer_rejects_bad_arrays(tmp_path, kwargs, message):
    y, z = _arrays()
    args = dict(y_true=y, logits=z, seed=0) | kwargs
    with pytest.raises(KDAuditError, match=message):
        write_predictions(tmp_path / "x.parquet", **args)
    assert not (tmp_path / "x.parquet").exists()


def test_writer_label_out_of_range(tmp_path):
    y, z = _arrays()
    y[3] = C
    with pytest.raises(PredictionFileError, match=r"label is 4, outside \[0, 4\)"):
        write_predictions(tmp_path / "x.parquet", y_true=y, logits=z, seed=0)


# ------------------------------------------------------------------------- plain pyarrow (docs)


def test_file_written_with_plain_pyarrow_per_docs_validates(tmp_path):
    """The example in docs/format.md, executed as it stands."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "format.md").read_text()
    code = doc.split("```python\n", 1)[1].split("```", 1)[0]
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True)
    rs = load_runset(tmp_path / "my_model")
    assert rs.seeds == [0, 1] and rs.num_classes == 3 and rs.group_attributes == ("young",)


# ------------------------------------------------------------------------------- bad files


def _bad_cases(tmp_path: Path):
    y, z = _arrays()
    sid = np.arange(N)
    base = {"sample_id": sid, "label": y, "logits": _logits_col(z)}
    z_nan = z.copy()
    z_nan[5, 1] = np.nan
    z_inf = z.copy()
    z_inf[7, 2] = np.inf
    y_big = y.copy()
    y_big[9] = 99
    sid_dup = sid.copy()
    sid_dup[10] = sid_dup[11]
    cases = {
        "missing label": (
            {"sample_id": sid, "logits": _logits_col(z)},
            _meta(),
            "has no 'label' column",
        ),
        "no logits or pred": (
            {"sample_id": sid, "label": y},
            _meta(),
            "neither 'logits' nor 'pred'",
        ),
        "nan logits": (base | {"logits": _logits_col(z_nan)}, _meta(), "NaN or inf"),
        "inf logits": (base | {"logits": _logits_col(z_inf)}, _meta(), "NaN or inf"),
        "wrong logits length": (
            base,
            _meta(num_classes=C + 2),
            "logits have length 4 but num_classes is 6",
        ),
        "ragged list logits": (
            base
            | {
                "logits": pa.array(
                    [list(r) for r in z[:-1]] + [[0.0, 1.0]], type=pa.list_(pa.float32())
                )
            },
            _meta(),
            "logits have length 2 but num_classes is 4",
        ),
        "label out of range": (
            base | {"label": y_big},
            _meta(),
            "label of sample_id 9 is 99, outside",
        ),
        "pred out of range": (
            {"sample_id": sid, "label": y, "pred": np.full(N, -1)},
            _meta(),
            "pred of sample_id 0 is -1",
        ),
        "duplicate sample id": (
            base | {"sample_id": sid_dup},
            _meta(),
            "sample_id 11 appears more than once",
        ),
        "metadata missing": (base, None, "has no 'kdbias_audit' metadata"),
        "metadata not json": (base, "{not json", "not valid JSON"),
        "metadata not object": (base, "[1, 2]", "must be a JSON object"),
        "num_classes disagrees with labels": (
            base | {"logits": _logits_col(z[:, :2])},
            _meta(num_classes=2),
            "label of sample_id",
        ),
        "huge num_classes": (
            base,
            _meta(num_classes=10**12),
            "num_classes is 1000000000000; expected 2..100000",
        ),
        "num_classes not int": (base, _meta(num_classes="many"), "num_classes must be an integer"),
        "absurd seed": (base, _meta(seed=[1, 2]), "seed must be an integer"),
        "bad version": (base, _meta(format_version=7), "format_version is 7"),
        "bad temperature": (base, _meta(temperature="hot"), "temperature must be a finite number"),
        "float labels": (
            base | {"label": y.astype(float)},
            _meta(),
            "column 'label' must be integer",
        ),
        "float group": (
            base | {"group.g": np.linspace(0, 1, N)},
            _meta(),
            "must be string, integer or boolean",
        ),
        "null group": (
            base | {"group.g": pa.array([None] + ["a"] * (N - 1))},
            _meta(),
            "'group.g' has missing values",
        ),
        "no sample id": (
            {"label": y, "logits": _logits_col(z)},
            _meta(),
            "has no 'sample_id' column",
        ),
        "no rows": (
            {
                "sample_id": pa.array([], pa.int64()),
                "label": pa.array([], pa.int64()),
                "pred": pa.array([], pa.int64()),
            },
            _meta(),
            "has no rows",
        ),
    }
    out = {}
    for i, (name, (cols, meta, msg)) in enumerate(cases.items()):
        out[name] = (_write_raw(tmp_path / f"case{i}" / "seed0.parquet", cols, meta), msg)
    return out


def test_each_bad_file_gives_one_line_error(tmp_path):
    for name, (path, message) in _bad_cases(tmp_path).items():
        with pytest.raises(PredictionFileError) as info:
            read_predictions(path)
        text = str(info.value)
        assert text.startswith(str(path) + ": "), name
        assert message in text, (name, text)
        assert "\n" not in text, name


def test_not_parquet_and_truncated(tmp_path):
    y, z = _arrays()
    good = write_predictions(tmp_path / "good.parquet", y_true=y, logits=z, seed=0)
    text = tmp_path / "text.parquet"
    text.write_text("sample_id,label\n1,2\n")
    trunc = tmp_path / "trunc.parquet"
    trunc.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    for p in (text, trunc):
        with pytest.raises(
            PredictionFileError, match=r"(not a readable Parquet file|cannot be read)"
        ):
            read_predictions(p)
    with pytest.raises(PredictionFileError, match="does not exist"):
        read_predictions(tmp_path / "nope.parquet")


def test_huge_num_classes_fails_fast(tmp_path):
    """Absurd metadata must be refused from the footer, before reading or allocating anything."""
    import resource

    y, z = _arrays()
    path = _write_raw(
        tmp_path / "h.parquet",
        {"sample_id": np.arange(N), "label": y, "pred": y},
        _meta(num_classes=2**40),
    )
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(PredictionFileError, match="expected 2..100000"):
        read_predictions(path)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KiB


def test_nothing_is_unpickled(tmp_path):
    """A pickle payload in the metadata is JSON-parsed (and refused), never unpickled."""
    import pickle

    y, z = _arrays()
    payload = pickle.dumps({"format_version": 1}).decode("latin1")
    path = _write_raw(
        tmp_path / "p.parquet", {"sample_id": np.arange(N), "label": y, "pred": y}, payload
    )
    with pytest.raises(PredictionFileError, match="not valid JSON"):
        read_predictions(path)


# ------------------------------------------------------------------------------ run sets


def _runset(root: Path, seeds=(0, 1, 2), y=None, n=N, sid=None, groups=None, **meta):
    y = RNG.integers(0, C, n) if y is None else y
    for s in seeds:
        z = RNG.normal(size=(len(y), C)).astype(np.float32)
        write_predictions(
            root / f"seed{s}.parquet",
            y_true=y,
            logits=z,
            seed=s,
            sample_id=sid,
            groups=groups,
            metadata=meta,
        )
    return root


def test_runset_alignment_by_sample_id_not_row_order(tmp_path):
    y = RNG.integers(0, C, N)
    sid = np.arange(N) * 3
    _runset(tmp_path / "a", y=y, sid=sid)
    perm = RNG.permutation(N)
    _runset(tmp_path / "b", y=y[perm], sid=sid[perm])
    a, b = load_runsets([tmp_path / "a", tmp_path / "b"])
    np.testing.assert_array_equal(a.sample_id, b.sample_id)
    np.testing.assert_array_equal(a.label, b.label)
    assert a.preds.shape == (3, N) and a.seeds == [0, 1, 2]


def test_runset_errors(tmp_path):
    y = RNG.integers(0, C, N)
    a = _runset(tmp_path / "a", y=y)
    # two files with the same seed
    dup = _runset(tmp_path / "dup", seeds=(0,), y=y)
    z = RNG.normal(size=(N, C)).astype(np.float32)
    write_predictions(dup / "again.parquet", y_true=y, logits=z, seed=0)
    with pytest.raises(PredictionFileError, match="seed 0 is also the seed of"):
        load_runset(dup)
    # different sample ids
    other = _runset(tmp_path / "other", y=y, sid=np.arange(N) + 1)
    with pytest.raises(
        PredictionFileError, match=r"covers a different test set .*sample_id 60 is only here"
    ):
        load_runsets([a, other])
    # a label differs for one sample id
    y2 = y.copy()
    y2[4] = (y2[4] + 1) % C
    lab = _runset(tmp_path / "lab", y=y2)
    with pytest.raises(
        PredictionFileError, match=f"label of sample_id 4 is {y2[4]} here but {y[4]} in"
    ):
        load_runsets([a, lab])
    # different class counts
    w = tmp_path / "wide"
    write_predictions(w / "seed0.parquet", y_true=y, logits=RNG.normal(size=(N, C + 1)), seed=0)
    with pytest.raises(PredictionFileError, match="num_classes is 5 here but 4"):
        load_runsets([a, w])
    # empty directory, missing path
    (tmp_path / "empty").mkdir()
    with pytest.raises(PredictionFileError, match="contains no prediction files"):
        load_runset(tmp_path / "empty")
    with pytest.raises(PredictionFileError, match="does not exist"):
        load_runset(tmp_path / "missing")


def test_group_values_must_agree_and_exist(tmp_path):
    y = RNG.integers(0, C, N)
    g = RNG.choice(["x", "y"], N)
    a = _runset(tmp_path / "a", y=y, groups={"g": g})
    rs = load_runset(a)
    assert rs.group_attributes == ("g",) and rs.group_levels("g") == ("x", "y")
    g2 = g.copy()
    g2[0] = "y" if g[0] == "x" else "x"
    b = _runset(tmp_path / "b", y=y, groups={"g": g2})
    with pytest.raises(PredictionFileError, match="group.g of sample_id 0"):
        load_runsets([a, b])
    # a file of the run set lacks the attribute: the run set is refused, naming the file (the
    # attribute would otherwise drop out of the default audit unnoticed; issue 17)
    mixed = _runset(tmp_path / "mixed", seeds=(0,), y=y, groups={"g": g})
    write_predictions(mixed / "seed1.parquet", y_true=y, logits=RNG.normal(size=(N, C)), seed=1)
    with pytest.raises(PredictionFileError, match=r"seed1.parquet: column group.g is missing"):
        load_runset(mixed)


def test_parallel_reading_gives_the_same_result(tmp_path):
    a = _runset(tmp_path / "a", seeds=(0, 1, 2, 3))
    serial = load_runset(a)
    parallel = load_runset(a, jobs=2, progress=True)
    np.testing.assert_array_equal(serial.preds, parallel.preds)


def test_from_arrays_matches_files(tmp_path):
    y = RNG.integers(0, C, N)
    root = _runset(tmp_path / "r", y=y, role="teacher", class_names=list("abcd"))
    rs = load_runset(root)
    mem = RunSet.from_arrays(y, rs.preds, seeds=rs.seeds, num_classes=C)
    np.testing.assert_array_equal(mem.preds, rs.preds)
    np.testing.assert_allclose(mem.accuracy, rs.accuracy)
    assert rs.role == "teacher" and rs.class_names == list("abcd") and rs.temperature is None


def test_find_runsets_in_a_sweep(tmp_path):
    y = RNG.integers(0, C, N)
    for name in ("teacher", "nds", "ds_T2"):
        _runset(tmp_path / "sweep" / name, seeds=(0, 1), y=y)
    assert [p.name for p in find_runsets(tmp_path / "sweep")] == ["ds_T2", "nds", "teacher"]


def test_written_files_get_normal_permissions(tmp_path):
    import os
    import stat

    y, z = _arrays()
    path = write_predictions(tmp_path / "perm.parquet", y_true=y, logits=z, seed=0)
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask


def test_reading_does_not_import_pandas(tmp_path):
    y, z = _arrays()
    write_predictions(
        tmp_path / "r" / "seed0.parquet",
        y_true=y,
        logits=z,
        seed=0,
        groups={"g": y > 1, "s": y.astype(str)},
    )
    code = (
        "import sys; from kdbias_audit import load_runset; "
        f"rs = load_runset({str(tmp_path / 'r')!r}); assert rs.group_levels('g') == ('False', 'True'); "
        "assert 'pandas' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_integer_sample_ids_are_delta_encoded(tmp_path):
    import pyarrow.parquet as pq

    n = 20_000
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, n)
    ids = np.arange(n) * 3 + 7
    path = write_predictions(
        tmp_path / "a.parquet", y_true=y, y_pred=y, sample_id=ids, seed=0, num_classes=10
    )
    col = pq.ParquetFile(path).metadata.row_group(0).column(0)
    assert col.path_in_schema == "sample_id" and "DELTA_BINARY_PACKED" in col.encodings
    assert col.total_compressed_size < 4 * n // 10  # not 8 bytes per id
    run = read_predictions(path)
    assert np.array_equal(run.sample_id, ids) and np.array_equal(run.pred, y)
