"""Hostile input to the file layer: links, directories, corruption, narrowing, metadata, convert.

Regression tests of issue 17 (classes 3, 4, 5, 6, 7, 11 and "Also"), through the public API.
"""

from __future__ import annotations

import json
import os
import pickle
import zipfile

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kdbias_audit import (
    KDAuditError,
    PredictionFileError,
    convert_file,
    load_runset,
    load_runsets,
    read_predictions,
    validate_paths,
    write_predictions,
)

N, C = 30, 3


def _write(path, *, seed=0, y=None, logits=None, groups=None, **meta):
    rng = np.random.default_rng(seed)
    y = np.arange(N) % C if y is None else y
    z = rng.normal(size=(len(y), C)) if logits is None else logits
    return write_predictions(path, y_true=y, logits=z, seed=seed, groups=groups, metadata=meta)


def _runset(d, seeds=(0, 1), **meta):
    for s in seeds:
        _write(d / f"seed{s}.parquet", seed=s, **meta)
    return d


# -------------------------------------------------------------------------------------------
# 3. files are never skipped


def test_dangling_symlink_in_a_runset_is_an_error(tmp_path):
    rs = _runset(tmp_path / "rs")
    (rs / "seed7.parquet").symlink_to(tmp_path / "gone.parquet")
    with pytest.raises(PredictionFileError, match=r"seed7\.parquet: .*broken symbolic link"):
        load_runset(rs)
    assert not validate_paths([rs]).ok


def test_symlink_loop_in_a_runset_is_an_error(tmp_path):
    rs = _runset(tmp_path / "rs")
    (rs / "seed8.parquet").symlink_to(rs / "seed8.parquet")
    with pytest.raises(PredictionFileError, match=r"seed8\.parquet: .*symbolic link"):
        load_runset(rs)


def test_directory_named_parquet_is_an_error(tmp_path):
    rs = _runset(tmp_path / "rs")
    (rs / "seed3.parquet").mkdir()
    with pytest.raises(PredictionFileError, match=r"seed3\.parquet: is a directory"):
        load_runset(rs)
    report = validate_paths([rs])
    assert not report.ok and any("seed3.parquet" in p for p in report.problems)


def test_valid_symlinks_are_followed(tmp_path):
    real = _runset(tmp_path / "real")
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "seed0.parquet").symlink_to(real / "seed0.parquet")
    (linked / "seed1.parquet").symlink_to(real / "seed1.parquet")
    assert load_runset(linked).seeds == [0, 1]


def test_a_symlinked_runset_is_found_in_a_sweep_root(tmp_path):
    _runset(tmp_path / "elsewhere" / "b")
    root = tmp_path / "root"
    _runset(root / "a")
    (root / "b").symlink_to(tmp_path / "elsewhere" / "b", target_is_directory=True)
    report = validate_paths([root], independent=True)
    names = sorted(os.path.basename(s["path"]) for s in report.summaries)
    assert names == ["a", "b"], report


def test_a_directory_symlink_loop_in_a_sweep_root_terminates(tmp_path):
    root = tmp_path / "root"
    _runset(root / "a")
    (root / "a" / "loop").symlink_to(root, target_is_directory=True)
    report = validate_paths([root], independent=True)
    assert [os.path.basename(s["path"]) for s in report.summaries] == ["a"]


def test_load_runsets_refuses_a_single_string(tmp_path):
    rs = _runset(tmp_path / "rs")
    with pytest.raises(KDAuditError, match="list of paths"):
        load_runsets(str(rs))


# -------------------------------------------------------------------------------------------
# 4. corruption is detected


def test_files_are_written_with_page_checksums(tmp_path):
    path = _write(tmp_path / "seed0.parquet")
    # pyarrow verifies the checksums it finds: flip one byte inside the first data page
    md = pq.ParquetFile(path).metadata
    assert md.num_row_groups >= 1
    data = bytearray(path.read_bytes())
    col = md.row_group(0).column(1)  # label
    start = col.data_page_offset
    size = col.total_compressed_size
    flipped = 0
    for off in range(start + size - 8, start + size - 1):  # the values near the page end
        data[off] ^= 0x5A
        flipped += 1
    path.write_bytes(bytes(data))
    with pytest.raises(PredictionFileError, match=r"seed0\.parquet: "):
        read_predictions(path)


def test_byte_corruption_never_changes_predictions_silently(tmp_path):
    """Every single-byte corruption of the data region is detected or leaves the data intact."""
    rng = np.random.default_rng(1)
    y = rng.integers(0, C, 200)
    path = _write(tmp_path / "seed0.parquet", y=y, logits=rng.normal(size=(200, C)))
    good = read_predictions(path)
    raw = path.read_bytes()
    footer_start = len(raw) - 8 - int.from_bytes(raw[-8:-4], "little")
    silent = 0
    for i, off in enumerate(np.linspace(4, footer_start - 1, 60).astype(int)):
        bad = bytearray(raw)
        bad[off] ^= 0xFF
        p = tmp_path / f"c{i}.parquet"
        p.write_bytes(bytes(bad))
        try:
            run = read_predictions(p)
        except PredictionFileError:
            continue
        if not (np.array_equal(run.pred, good.pred) and np.array_equal(run.label, good.label)):
            silent += 1
    assert silent == 0


# -------------------------------------------------------------------------------------------
# 5. narrowing logits never changes predictions


def test_float16_narrowing_keeps_the_predictions(tmp_path):
    rng = np.random.default_rng(2)
    z = np.array([[1.0, 1.0004, -1.0]] * N) + rng.normal(0, 1e-4, (N, C))
    path = write_predictions(
        tmp_path / "s.parquet", y_true=np.zeros(N, int), logits=z, seed=0, logits_dtype="float16"
    )
    assert np.array_equal(read_predictions(path).pred, z.argmax(axis=1))


def test_convert_float16_keeps_the_predictions(tmp_path):
    rng = np.random.default_rng(3)
    z = np.array([[1.0, 1.0004, -1.0]] * N) + rng.normal(0, 1e-4, (N, C))
    np.savez(tmp_path / "p.npz", label=np.zeros(N, dtype=np.int64), logits=z)
    out = convert_file(tmp_path / "p.npz", tmp_path / "o.parquet", seed=0, logits_dtype="float16")
    assert np.array_equal(read_predictions(out).pred, z.argmax(axis=1))


def test_float64_to_float32_narrowing_keeps_the_predictions(tmp_path):
    z = np.zeros((N, C))
    z[:, 1] = 1.0
    z[:, 2] = 1.0 + 1e-12  # equal once stored as float32
    path = write_predictions(tmp_path / "s.parquet", y_true=np.zeros(N, int), logits=z, seed=0)
    assert (read_predictions(path).pred == 2).all()


# -------------------------------------------------------------------------------------------
# 6. per-seed metadata must agree


@pytest.mark.parametrize(
    ("key", "v0", "v1"),
    [
        ("positive_class", 0, 1),
        ("class_names", ["a", "b", "c"], ["a", "c", "b"]),
        ("temperature", 2.0, 4.0),
        ("role", "teacher", "distilled"),
    ],
)
def test_seeds_must_agree_on_metadata(tmp_path, key, v0, v1):
    rs = tmp_path / "rs"
    _write(rs / "seed0.parquet", seed=0, **{key: v0})
    _write(rs / "seed1.parquet", seed=1, **{key: v1})
    with pytest.raises(PredictionFileError, match=rf"seed1\.parquet: metadata {key}"):
        load_runset(rs)
    assert not validate_paths([rs]).ok


def test_an_attribute_missing_from_one_seed_is_an_error(tmp_path):
    rs = tmp_path / "rs"
    g = np.arange(N) % 2
    _write(rs / "seed0.parquet", seed=0, groups={"young": g, "male": g})
    _write(rs / "seed1.parquet", seed=1, groups={"young": g})
    with pytest.raises(PredictionFileError, match=r"group\.male"):
        load_runset(rs)


# -------------------------------------------------------------------------------------------
# 7. the smaller ones


def test_csv_ids_with_leading_zeros_stay_strings(tmp_path):
    src = tmp_path / "p.csv"
    src.write_text("sample_id,label,pred\n001,0,0\n002,1,1\n010,1,0\n")
    out = convert_file(src, tmp_path / "o.parquet", seed=0, num_classes=2)
    assert list(read_predictions(out).sample_id) == ["001", "002", "010"]


def test_csv_plain_integer_ids_stay_integers(tmp_path):
    src = tmp_path / "p.csv"
    src.write_text("sample_id,label,pred\n1,0,0\n2,1,1\n10,1,0\n")
    out = convert_file(src, tmp_path / "o.parquet", seed=0, num_classes=2)
    assert read_predictions(out).sample_id.tolist() == [1, 2, 10]


def test_csv_group_values_are_kept_as_written(tmp_path):
    src = tmp_path / "p.csv"
    src.write_text("label,pred,group.g\n0,0,01\n1,1,1\n1,0,1\n")
    out = convert_file(src, tmp_path / "o.parquet", seed=0, num_classes=2)
    assert read_predictions(out).group_levels["g"] == ("01", "1")


def test_group_values_differing_by_a_trailing_nul_stay_apart(tmp_path):
    g = np.array(["x", "x\0"] * (N // 2), dtype=object)
    path = _write(tmp_path / "s.parquet", groups={"g": g})
    assert len(read_predictions(path).group_levels["g"]) == 2


@pytest.mark.parametrize("version", [True, 1.0, "1"])
def test_format_version_must_be_the_integer_1(tmp_path, version):
    path = _write(tmp_path / "s.parquet")
    table = pq.read_table(path)
    meta = json.loads(table.schema.metadata[b"kdbias_audit"])
    meta["format_version"] = version
    pq.write_table(table.replace_schema_metadata({"kdbias_audit": json.dumps(meta)}), path)
    with pytest.raises(PredictionFileError, match="format_version"):
        read_predictions(path)


@pytest.mark.parametrize("temperature", [0, -3, 0.0])
def test_temperature_must_be_positive(tmp_path, temperature):
    with pytest.raises(PredictionFileError, match="temperature"):
        _write(tmp_path / "s.parquet", temperature=temperature)


def test_write_predictions_refuses_datetime_groups(tmp_path):
    g = np.array(["2020-01-01"] * N, dtype="datetime64[D]")
    with pytest.raises(PredictionFileError, match="string, integer or boolean"):
        _write(tmp_path / "s.parquet", groups={"when": g})
    assert not (tmp_path / "s.parquet").exists()


def test_write_predictions_accepts_numpy_integer_seed(tmp_path):
    path = write_predictions(
        tmp_path / "s.parquet", y_true=[0, 1], y_pred=[0, 1], num_classes=2, seed=np.int64(4)
    )
    assert read_predictions(path).seed == 4


def test_deeply_nested_metadata_is_one_line_error(tmp_path):
    path = _write(tmp_path / "s.parquet")
    table = pq.read_table(path)
    meta = json.loads(table.schema.metadata[b"kdbias_audit"])
    text = json.dumps(meta)[:-1] + ', "deep": ' + "[" * 100_000 + "]" * 100_000 + "}"
    pq.write_table(table.replace_schema_metadata({"kdbias_audit": text}), path)
    with pytest.raises(PredictionFileError, match="nested"):
        read_predictions(path)


def test_error_classes_survive_pickling():
    err = PredictionFileError("a/seed0.parquet", "is broken")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is PredictionFileError and str(back) == str(err)
    assert back.path == "a/seed0.parquet" and back.problem == "is broken"


def test_parallel_read_reports_the_broken_file(tmp_path):
    rs = _runset(tmp_path / "rs", seeds=(0, 1, 2))
    (rs / "seed1.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(PredictionFileError, match=r"seed1\.parquet"):
        load_runset(rs, jobs=2)


def test_non_utf8_directory_name_is_read(tmp_path):
    raw = os.fsencode(tmp_path) + b"/r\xffs"
    try:
        os.mkdir(raw)
    except (OSError, UnicodeError):
        pytest.skip("file system refuses non-UTF-8 names")
    rs = os.fsdecode(raw)
    from pathlib import Path

    _runset(Path(rs))
    assert load_runset(rs).seeds == [0, 1]


# -------------------------------------------------------------------------------------------
# 11. declared sizes are checked before loading


def test_npz_declaring_a_huge_array_is_refused_before_loading(tmp_path):
    path = tmp_path / "bomb.npz"
    header = {"descr": "<f8", "fortran_order": False, "shape": (400_000_000,)}
    with zipfile.ZipFile(path, "w") as zf:
        with zf.open("logits.npy", "w") as f:
            np.lib.format.write_array_header_1_0(f, header)
            f.write(b"\0" * 64)
        buf = np.lib.format  # label array, small and honest
        import io

        b = io.BytesIO()
        buf.write_array(b, np.zeros(3, dtype=np.int64))
        zf.writestr("label.npy", b.getvalue())
    with pytest.raises(PredictionFileError, match=r"bomb\.npz: .*(declares|size)"):
        convert_file(path, tmp_path / "o.parquet", seed=0)
    assert not (tmp_path / "o.parquet").exists()


def test_npz_with_an_honest_size_converts(tmp_path):
    np.savez_compressed(tmp_path / "ok.npz", label=np.arange(6) % 2, pred=np.arange(6) % 2)
    out = convert_file(tmp_path / "ok.npz", tmp_path / "o.parquet", seed=0, num_classes=2)
    assert read_predictions(out).n_samples == 6


def test_pyarrow_written_file_without_checksums_still_reads(tmp_path):
    path = _write(tmp_path / "s.parquet")
    table = pq.read_table(path)
    pq.write_table(table, path, write_page_checksum=False)
    assert read_predictions(path).n_samples == N
    assert isinstance(table.column("label").type, pa.DataType)


# -------------------------------------------------------------------------------------------
# siblings found after the pass


def test_csv_logits_keep_their_precision_until_the_writer(tmp_path):
    src = tmp_path / "p.csv"
    src.write_text("label,logit_0,logit_1\n0,1.0,1.00000001\n1,0.0,1.0\n")
    out = convert_file(src, tmp_path / "o.parquet", seed=0)
    assert read_predictions(out).pred.tolist() == [1, 1]


@pytest.mark.parametrize("k", [2.7, 3.0, True])
def test_num_classes_must_be_an_integer(tmp_path, k):
    with pytest.raises(KDAuditError, match="num_classes"):
        write_predictions(
            tmp_path / "s.parquet", y_true=[0, 1], y_pred=[0, 1], num_classes=k, seed=0
        )


def test_runset_constructor_checks_its_runs(tmp_path):
    from kdbias_audit import RunSet

    a = read_predictions(_write(tmp_path / "a.parquet", seed=0))
    b = read_predictions(_write(tmp_path / "b.parquet", seed=1, y=(np.arange(N) + 1) % C))
    with pytest.raises(PredictionFileError, match="label of sample_id"):
        RunSet(tmp_path, (a, b))


def test_from_arrays_refuses_fractional_seeds():
    from kdbias_audit import RunSet

    with pytest.raises(KDAuditError, match="seeds must be integers"):
        RunSet.from_arrays([0, 1], [[0, 1]], seeds=[0.5])


def test_sweep_override_with_a_broken_link_is_an_error(tmp_path):
    from kdbias_audit import discover_sweep

    t = _runset(tmp_path / "t", role="teacher")
    (t / "seed5.parquet").symlink_to(tmp_path / "nowhere.parquet")
    with pytest.raises(PredictionFileError, match=r"seed5\.parquet: is a broken symbolic link"):
        discover_sweep(tmp_path, teacher=t)


def test_a_row_group_declaring_too_many_logits_is_refused(tmp_path, monkeypatch):
    from kdbias_audit.io import reader

    path = _write(tmp_path / "s.parquet")
    monkeypatch.setattr(reader, "MAX_ROW_GROUP_LOGITS", N * C - 1)
    with pytest.raises(PredictionFileError, match="row group 0 declares"):
        read_predictions(path)


def test_validate_reports_class_names_disagreeing_between_runsets(tmp_path):
    a = _runset(tmp_path / "a", class_names=["x", "y", "z"])
    b = _runset(tmp_path / "b", class_names=["x", "z", "y"])
    report = validate_paths([a, b])
    assert not report.ok and any("class_names" in p for p in report.problems)
    assert validate_paths([a, b], independent=True).ok
