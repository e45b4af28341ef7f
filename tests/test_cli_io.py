"""`kdaudit validate` and `kdaudit convert` through the CLI; import hygiene of the core."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from kdbias_audit import read_predictions, write_predictions
from kdbias_audit.cli import app

runner = CliRunner()
RNG = np.random.default_rng(3)
N, C = 40, 3


def _runset(root, seeds=(0, 1), y=None, **meta):
    y = RNG.integers(0, C, N) if y is None else y
    for s in seeds:
        write_predictions(
            root / f"seed{s}.parquet",
            y_true=y,
            logits=RNG.normal(size=(N, C)),
            seed=s,
            groups={"young": RNG.integers(0, 2, N) > 0} if False else None,
            metadata=meta,
        )
    return root


def _err_line(result):
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr + result.stdout
    return lines


def test_import_is_torch_and_matplotlib_free():
    code = (
        "import sys, kdbias_audit, kdbias_audit.io, kdbias_audit.cli;"
        "print(' '.join(m for m in ('torch', 'matplotlib', 'timm', 'transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_validate_sweep_summary(tmp_path):
    y = RNG.integers(0, C, N)
    _runset(tmp_path / "sweep" / "teacher", y=y, role="teacher", model="resnet56")
    _runset(tmp_path / "sweep" / "ds_T4", y=y, role="distilled", temperature=4)
    # a sweep root is held to the sweep's rules: without a baseline it is refused
    no_nds = runner.invoke(app, ["validate", str(tmp_path / "sweep")])
    assert no_nds.exit_code == 1 and "no baseline run set" in no_nds.stderr
    _runset(tmp_path / "sweep" / "nds", y=y, role="baseline")
    result = runner.invoke(app, ["validate", str(tmp_path / "sweep"), "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    roles = [r["role"] for r in report["runsets"]]
    assert report["ok"] and roles == ["distilled", "baseline", "teacher"]
    assert report["runsets"][2]["model"] == "resnet56" and report["runsets"][0]["seeds"] == [0, 1]
    table = runner.invoke(app, ["validate", str(tmp_path / "sweep")])
    assert table.exit_code == 0 and "teacher" in table.stdout


def test_validate_reports_every_problem_one_line_each(tmp_path):
    y = RNG.integers(0, C, N)
    good = _runset(tmp_path / "good", y=y)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "seed0.parquet").write_text("not parquet")
    y2 = y.copy()
    y2[0] = (y2[0] + 1) % C
    other = _runset(tmp_path / "other", y=y2)
    result = runner.invoke(
        app, ["validate", str(good), str(bad), str(other), str(tmp_path / "missing")]
    )
    assert result.exit_code == 1
    lines = _err_line(result)
    assert any(str(bad / "seed0.parquet") in line and "Parquet" in line for line in lines)
    assert any("label of sample_id 0" in line for line in lines)
    assert any("missing: does not exist" in line for line in lines)
    assert lines[-1] == "3 problem(s) found"
    assert all(line.startswith("error: ") for line in lines[:-1])
    # --independent skips the cross-run-set check
    ok = runner.invoke(app, ["validate", str(good), str(other), "--independent"])
    assert ok.exit_code == 0


def test_validate_empty_dir(tmp_path):
    result = runner.invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 1
    assert _err_line(result)[0] == f"error: {tmp_path}: contains no prediction files (*.parquet)"


def test_convert_csv_and_npz(tmp_path):
    y = RNG.integers(0, C, N)
    z = RNG.normal(size=(N, C)).astype(np.float32)
    g = RNG.choice(["a", "b"], N)
    csv = tmp_path / "p.csv"
    lines = ["sample_id,label," + ",".join(f"logit_{k}" for k in range(C)) + ",group.site"]
    lines += [
        f"{i},{y[i]}," + ",".join(repr(float(v)) for v in z[i]) + f",{g[i]}" for i in range(N)
    ]
    csv.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out" / "seed0.parquet"
    result = runner.invoke(
        app,
        [
            "convert",
            str(csv),
            str(out),
            "--seed",
            "0",
            "--role",
            "baseline",
            "--class-names",
            "x,y,z",
        ],
    )
    assert result.exit_code == 0, result.output
    run = read_predictions(out)
    np.testing.assert_array_equal(run.pred, z.argmax(1))
    assert run.metadata["role"] == "baseline" and run.metadata["class_names"] == ["x", "y", "z"]
    np.testing.assert_array_equal(np.asarray(run.group_levels["site"])[run.groups["site"]], g)
    # refuses to overwrite
    again = runner.invoke(app, ["convert", str(csv), str(out), "--seed", "0"])
    assert again.exit_code == 1 and "already exists" in again.stderr

    npz = tmp_path / "p.npz"
    np.savez(npz, label=y, pred=z.argmax(1), **{"group.site": g})
    out2 = tmp_path / "out" / "seed1.parquet"
    result = runner.invoke(
        app, ["convert", str(npz), str(out2), "--seed", "1", "--num-classes", str(C)]
    )
    assert result.exit_code == 0, result.output
    assert pq.read_schema(out2).names == ["sample_id", "label", "pred", "group.site"]


@pytest.mark.parametrize(
    "make, message",
    [
        (
            lambda p: np.savez(p, label=np.array([0, 1], dtype=object), pred=np.array([0, 1])),
            "never unpickled",
        ),
        (lambda p: np.savez(p, pred=np.array([0, 1])), "has no 'label'"),
        (lambda p: np.savez(p, label=np.array([0, 1])), "neither 'pred' nor 'logits'"),
        (
            lambda p: np.savez(
                p, label=np.array([0, 1]), pred=np.array([0, 1]), weird=np.array([1, 2])
            ),
            "unexpected column 'weird'",
        ),
        (lambda p: p.write_bytes(b"garbage"), "cannot be read as .npz"),
        (
            lambda p: np.savez(p, label=np.array([0, 5]), pred=np.array([0, 1])),
            "label is 5, outside",
        ),
    ],
)
def test_convert_bad_input(tmp_path, make, message):
    src = tmp_path / "in.npz"
    make(src)
    out = tmp_path / "o.parquet"
    result = runner.invoke(
        app, ["convert", str(src), str(out), "--seed", "0", "--num-classes", "2"]
    )
    assert result.exit_code == 1
    lines = _err_line(result)
    assert len(lines) == 1 and lines[0].startswith(f"error: {src}: ") and message in lines[0], lines
    assert not out.exists()


def test_console_script_installed_runs():
    """`kdaudit --help` works as an installed console script (what the README promises)."""
    import shutil

    exe = shutil.which("kdaudit") or str(
        __import__("pathlib").Path(sys.executable).parent / "kdaudit"
    )
    out = subprocess.run([exe, "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "validate" in out.stdout
