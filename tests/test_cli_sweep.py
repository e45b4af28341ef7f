"""``kdaudit sweep``, ``kdaudit plot``, ``kdaudit report``: exit codes, formats, one-line errors."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from _sweepgen import make_sweep
from typer.testing import CliRunner

from kdbias_audit.cli import app
from kdbias_audit.io import write_predictions
from kdbias_audit.render.tables import render_sweep
from kdbias_audit.sweep import analyze_sweep

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return make_sweep(tmp_path_factory.mktemp("c") / "sw", temperatures=(2.0, 4.0))


def assert_one_line_error(res, *fragments):
    assert res.exit_code == 1, res.output
    err = res.stderr.strip()
    assert err.startswith("error: ") and "\n" not in err, err
    assert "Traceback" not in res.output
    for f in fragments:
        assert f in err, err


@pytest.mark.parametrize("fmt", ["json", "csv", "markdown", "latex", "table"])
def test_sweep_formats(root, fmt):
    res = invoke("sweep", root, "--format", fmt)
    assert res.exit_code == 0, res.output
    assert res.stdout == render_sweep(analyze_sweep(root), fmt)
    if fmt == "json":
        assert [r["name"] for r in json.loads(res.stdout)["rows"]] == [
            "teacher",
            "nds",
            "ds_T2",
            "ds_T4",
        ]
    elif fmt == "csv":
        assert len(pd.read_csv(io.StringIO(res.stdout))) == 4
    elif fmt == "latex":
        assert "\\begin{tabular}" in res.stdout


def test_sweep_out_file_and_options(root, tmp_path):
    out = tmp_path / "res.json"
    res = invoke(
        "sweep",
        root,
        "-f",
        "json",
        "--out",
        out,
        "--alpha",
        "0.1",
        "--permutations",
        "3",
        "--jobs",
        "2",
    )
    assert res.exit_code == 0, res.output
    assert res.stdout == ""
    doc = json.loads(out.read_text())
    ref = analyze_sweep(root, alpha=0.1, permutations=3).to_dict()
    assert doc == json.loads(json.dumps(ref))


def test_sweep_refuses_to_write_into_the_sweep(root):
    res = invoke("sweep", root, "-f", "json", "--out", root / "teacher" / "x.json")
    assert_one_line_error(res, "refusing to write the output over or inside an input")


def test_teacher_and_baseline_overrides(tmp_path):
    root = make_sweep(tmp_path / "sw", temperatures=(2.0, 3.0), with_groups=False)
    y = np.repeat(np.arange(6), 300)
    for s in (0, 1, 2):  # a second teacher makes the roles ambiguous
        write_predictions(
            root / "teacher2" / f"seed{s}.parquet",
            y_true=y,
            y_pred=y,
            seed=s,
            num_classes=6,
            metadata={"role": "teacher", "dataset": "synthetic"},
        )
    res = invoke("sweep", root, "-f", "json")
    assert_one_line_error(res, "2 teacher run sets", "--teacher")
    res = invoke(
        "sweep", root, "-f", "json", "--teacher", root / "teacher2", "--baseline", root / "nds"
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["rows"][0]["name"] == "teacher2"


def test_errors_exit_1_with_one_line(root, tmp_path):
    assert_one_line_error(invoke("sweep", tmp_path / "missing"), "does not exist")
    assert_one_line_error(invoke("sweep", root, "--alpha", "2"), "alpha must be in (0, 1)")
    assert_one_line_error(invoke("sweep", root, "--jobs", "0"), "jobs")
    bad = tmp_path / "bad"
    write_predictions(
        bad / "t" / "seed0.parquet",
        y_true=[0, 1],
        y_pred=[0, 1],
        seed=0,
        num_classes=2,
        metadata={"role": "teacher"},
    )
    write_predictions(
        bad / "n" / "seed0.parquet",
        y_true=[0, 1],
        y_pred=[0, 1],
        seed=0,
        num_classes=2,
        metadata={"role": "baseline"},
    )
    write_predictions(
        bad / "d" / "seed0.parquet",
        y_true=[0, 1],
        y_pred=[0, 1],
        seed=0,
        num_classes=2,
        metadata={"role": "distilled"},
    )
    assert_one_line_error(invoke("sweep", bad), "distilled run set has no temperature")


def test_usage_errors_exit_1(root):
    # usage errors: one line, exit 1, like every other error
    assert invoke("sweep").exit_code == 1
    assert invoke("plot", root).exit_code == 1  # -o is required
    assert invoke("sweep", root, "--format", "xml").exit_code == 1


def test_plot_command(root, tmp_path):
    out = tmp_path / "figs"
    res = invoke("plot", root, "-o", out, "--dpi", "40")
    assert res.exit_code == 0, res.output
    files = sorted(p.name for p in out.iterdir())
    assert "fig1_classwise.png" in files and "fig1_classwise.pdf" in files
    assert "fig3_significance.pdf" in files and "fig4_fairness_young.png" in files
    assert len(files) == 2 * 6
    assert all((out / f).stat().st_size > 0 for f in files)
    assert f"wrote 12 files to {out}" in res.stderr


def test_plot_refuses_a_runset_dir_and_a_file(root, tmp_path):
    assert_one_line_error(
        invoke("plot", root, "-o", root / "teacher"), "refusing to write outputs into a run set"
    )
    f = tmp_path / "f"
    f.write_text("x")
    assert_one_line_error(invoke("report", root, "-o", f), "is not a directory")


def test_report_command(root, tmp_path):
    out = tmp_path / "rep"
    res = invoke("report", root, "-o", out, "--permutations", "10")
    assert res.exit_code == 0, res.output
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "kdaudit report" in page and "--permutations 10" in page
    assert page.count("<img") == 6
    assert "ds_T4" in page
