"""A whole tiny sweep: layout, `kdaudit validate`, resume, recipe mismatch, shards, processes."""

import json

import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

from typer.testing import CliRunner  # noqa: E402

from kdbias_audit.cli import app as kdaudit  # noqa: E402
from kdbias_audit.io import load_runset, read_predictions  # noqa: E402
from producers.sweep import (  # noqa: E402
    app as sweep_app,
)
from producers.sweep import (  # noqa: E402
    parse_float_list,
    parse_int_list,
    parse_shard,
    plan_sweep,
    run_sweep,
)

TINY = [
    "--setting",
    "trifeature",
    "--seeds",
    "0-1",
    "--temperatures",
    "2,4",
    "--epochs",
    "1",
    "--image-size",
    "16",
    "--train-size",
    "32",
    "--test-size",
    "20",
    "--batch-size",
    "16",
    "--quiet",
]


def _sweep(root, *extra):
    return CliRunner().invoke(sweep_app, [*TINY, "--out", str(root), *extra])


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep") / "runs"
    res = _sweep(root)
    assert res.exit_code == 0, res.output
    assert "8 trained, 0 skipped, 0 failed" in res.output
    return root


def test_layout_and_kdaudit_validate(swept):
    for d in ("teacher", "nds", "ds_T2", "ds_T4"):
        assert sorted(p.name for p in (swept / d).iterdir()) == ["seed0.parquet", "seed1.parquet"]
    res = CliRunner().invoke(kdaudit, ["validate", str(swept), "--format", "json"])
    assert res.exit_code == 0, res.output
    assert "error" not in res.output.lower().split("{", 1)[0]


def test_metadata_and_teacher_pairing(swept):
    t = load_runset(swept / "teacher")
    assert t.role == "teacher" and t.model == "resnet20" and t.seeds == [0, 1]
    nds = load_runset(swept / "nds")
    assert nds.role == "baseline" and nds.model == "lenet5" and nds.temperature is None
    ds = load_runset(swept / "ds_T4")
    assert ds.role == "distilled" and ds.temperature == 4.0 and ds.alpha == 0.8
    assert ds.metadata["teacher_model"] == "resnet20" and ds.group_attributes == (
        "color",
        "texture",
    )
    plan = plan_sweep(
        setting="trifeature", out=swept, seeds=[0, 1], temperatures=[2.0, 4.0], epochs=1
    )
    for run in plan.runs:
        if run.spec.role == "distilled":  # DS of seed k distilled from the teacher of seed k
            assert run.spec.teacher_checkpoint.endswith(f"teacher_seed{run.spec.seed}.pt")
    assert [r.spec.role for r in plan.runs[:2]] == ["teacher", "teacher"]
    assert (swept / ".producers" / "checkpoints" / "teacher_seed1.pt").is_file()
    assert (swept / ".producers" / "logs" / "ds_T4_seed1.log").is_file()


def test_second_invocation_skips_every_run(swept):
    before = {p: p.stat().st_mtime_ns for p in swept.rglob("*.parquet")}
    res = _sweep(swept)
    assert res.exit_code == 0, res.output
    assert "0 trained, 8 skipped, 0 failed" in res.output
    assert {p: p.stat().st_mtime_ns for p in swept.rglob("*.parquet")} == before


def test_resume_retrains_only_missing_or_broken_runs(swept, tmp_path):
    import shutil

    root = tmp_path / "copy"
    shutil.copytree(swept, root)
    (root / "ds_T4" / "seed1.parquet").unlink()
    (root / "nds" / "seed0.parquet").write_bytes(b"not parquet")
    res = _sweep(root)
    assert res.exit_code == 0, res.output
    assert "2 trained, 6 skipped, 0 failed" in res.output
    read_predictions(root / "nds" / "seed0.parquet")
    # a teacher without its checkpoint is not finished: retrained (its students are kept)
    (root / ".producers" / "checkpoints" / "teacher_seed0.pt").unlink()
    res = _sweep(root)
    assert "1 trained, 7 skipped" in res.output


def test_a_different_recipe_is_refused_not_mixed(swept):
    res = CliRunner().invoke(sweep_app, [*TINY, "--out", str(swept), "--epochs", "2"])
    assert res.exit_code == 1
    assert "exists but was made with epochs=1 (this sweep: 2)" in res.output


def test_shards_partition_the_runs_teachers_first(tmp_path):
    plan = plan_sweep(
        setting="trifeature", out=tmp_path, seeds=[0, 1, 2], temperatures=[1.0, 2.0, 30.0], epochs=1
    )
    assert len(plan.runs) == 3 + 3 + 9
    names = [r.name for r in plan.runs]
    parts = [plan.shard(i, 4) for i in range(4)]
    got = sorted(r.name for p in parts for r in p.runs)
    assert got == sorted(names) and len(set(got)) == len(got)
    assert all(p.runs[0].spec.role == "teacher" for p in parts[:3])
    assert "ds_T30/seed2" in names


def test_dry_run_lists_runs_without_training(tmp_path):
    res = _sweep(tmp_path / "dry", "--dry-run")
    assert res.exit_code == 0 and res.output.count("would train") == 8
    assert not (tmp_path / "dry" / "teacher").exists()


@pytest.mark.parametrize(
    "text, expected", [("0-4", [0, 1, 2, 3, 4]), ("0,2,5-6", [0, 2, 5, 6]), ("3", [3])]
)
def test_parse_int_list(text, expected):
    assert parse_int_list(text) == expected


def test_parse_float_list_and_shard():
    assert parse_float_list("1-10,20,30,40") == [float(t) for t in [*range(1, 11), 20, 30, 40]]
    assert parse_float_list("0.5,2.5") == [0.5, 2.5]
    assert parse_shard("1/4") == (1, 4)
    from kdbias_audit.errors import KDAuditError

    for bad in ("4/4", "x"):
        with pytest.raises(KDAuditError, match="--shard"):
            parse_shard(bad)
    with pytest.raises(KDAuditError, match="--temperatures"):
        parse_float_list("1-x")


def test_bad_setting_is_one_line_error(tmp_path):
    res = CliRunner().invoke(
        sweep_app, ["--setting", "nope", "--out", str(tmp_path), "--epochs", "1"]
    )
    assert res.exit_code == 1 and "unknown setting 'nope'" in res.output


def test_concurrent_processes_produce_the_same_sweep(tmp_path):
    # two worker processes (spawn); CPU training is deterministic, so the files match in-process ones
    common = dict(
        setting="trifeature",
        seeds=[0],
        temperatures=[3.0],
        epochs=1,
        image_size=16,
        train_size=32,
        test_size=20,
        batch_size=16,
        device="cpu",
    )
    s1 = run_sweep(plan_sweep(out=tmp_path / "a", **common), concurrent=2, show_progress=False)
    assert len(s1.trained) == 3 and not s1.failed, s1.failed
    s2 = run_sweep(plan_sweep(out=tmp_path / "b", **common), concurrent=1, show_progress=False)
    assert len(s2.trained) == 3
    for rs in ("teacher", "nds", "ds_T3"):
        a = read_predictions(tmp_path / "a" / rs / "seed0.parquet")
        b = read_predictions(tmp_path / "b" / rs / "seed0.parquet")
        assert (a.pred == b.pred).all(), rs
    assert json.dumps(s1.to_dict())


def test_student_learning_rate_is_separate_and_recorded(tmp_path):
    plan = plan_sweep(
        setting="trifeature", out=tmp_path, seeds=[0], temperatures=[2.0], epochs=1, student_lr=0.03
    )
    assert {r.spec.role: r.spec.lr for r in plan.runs} == {
        "teacher": 0.1,
        "baseline": 0.03,
        "distilled": 0.03,
    }
    assert plan.runs[-1].spec.expected_metadata()["lr"] == 0.03
