"""``kdaudit fairness`` through typer's CliRunner: exit codes, JSON contract, formats, errors."""

from __future__ import annotations

import io
import json

import fairlearn.metrics as flm
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from kdbias_audit.cli import app
from kdbias_audit.io import write_predictions

runner = CliRunner()


def _write_runset(
    root, *, n=400, seeds=(0, 1, 2), num_classes=2, seed=0, groups=True, metadata=None
):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, num_classes, n)
    young = rng.random(n) < 0.7
    male = rng.choice(["female", "male"], n)
    preds = {}
    for s in seeds:
        p = np.where(rng.random(n) < 0.8, y, rng.integers(0, num_classes, n))
        preds[s] = p
        write_predictions(
            root / f"seed{s}.parquet",
            y_true=y,
            y_pred=p,
            seed=s,
            num_classes=num_classes,
            groups={"young": young, "male": male} if groups else None,
            metadata=metadata,
        )
    return y, preds, young, male


def _run(*args):
    return runner.invoke(app, ["fairness", *map(str, args)])


def test_json_contract_and_values(tmp_path):
    rs = tmp_path / "nds"
    y, preds, young, male = _write_runset(rs)
    res = _run(rs, "--format", "json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert set(data) == {"male", "young"}
    for attr, sf in (("male", male), ("young", young)):
        obj = data[attr]
        assert set(obj) == {"mode", "groups", "dpd", "eod"}
        assert obj["mode"] == "binary"
        assert set(obj["dpd"]) == {"mean", "std", "per_seed"}
        ref = [flm.equalized_odds_difference(y, preds[s], sensitive_features=sf) for s in (0, 1, 2)]
        np.testing.assert_allclose(obj["eod"]["per_seed"], ref, rtol=0, atol=1e-12)
        assert obj["eod"]["std"] == pytest.approx(np.std(ref, ddof=1), abs=1e-12)
    assert data["young"]["groups"] == ["False", "True"]


def test_intersection_option_forms(tmp_path):
    rs = tmp_path / "nds"
    _write_runset(rs)
    a = json.loads(_run(rs, "--sensitive", "young,male", "--format", "json").stdout)
    b = json.loads(_run(rs, "--sensitive", "young&male", "--format", "json").stdout)
    assert list(a) == ["young&male"] and a == b
    assert len(a["young&male"]["groups"]) == 4
    c = json.loads(_run(rs, "-s", "young", "-s", "male", "--format", "json").stdout)
    assert list(c) == ["young", "male"]


def test_table_shows_percent_two_decimals(tmp_path):
    rs = tmp_path / "ds_T4"
    _write_runset(rs)
    data = json.loads(_run(rs, "--format", "json").stdout)
    res = _run(rs)
    assert res.exit_code == 0, res.output
    d = data["male"]["dpd"]
    assert f"{100 * d['mean']:.2f} ± {100 * d['std']:.2f}" in res.stdout
    assert "ds_T4" in res.stdout
    md = _run(rs, "--format", "markdown").stdout
    assert md.count("\n|") >= 3 and "DPD (%)" in md
    latex = _run(rs, "--format", "latex").stdout
    assert r"\begin{tabular}" in latex and r"$\pm$" in latex
    csv = _run(rs, "--format", "csv").stdout
    assert csv.splitlines()[0] == "attribute,mode,groups,dpd_mean,dpd_std,eod_mean,eod_std"
    frame = pd.read_csv(io.StringIO(csv))
    assert frame.loc[frame.attribute == "male", "dpd_mean"].iloc[0] == pytest.approx(
        d["mean"], rel=1e-12
    )


def test_out_file(tmp_path):
    rs = tmp_path / "nds"
    _write_runset(rs)
    target = tmp_path / "out" / "fair.json"
    res = _run(rs, "--format", "json", "--out", target)
    assert res.exit_code == 0 and res.stdout == ""
    assert set(json.loads(target.read_text())) == {"male", "young"}
    inside = _run(rs, "--out", rs / "x.txt")
    assert inside.exit_code == 1 and "refusing to write" in inside.stderr


def test_multiclass_one_vs_rest(tmp_path):
    rs = tmp_path / "tri"
    _write_runset(rs, num_classes=5, n=1000)
    data = json.loads(_run(rs, "--format", "json").stdout)
    assert data["young"]["mode"] == "one-vs-rest"
    res = _run(rs, "--positive-class", "1")
    assert res.exit_code == 1
    assert res.stderr.startswith("error: ") and "binary tasks only" in res.stderr


def test_positive_class_option_and_metadata(tmp_path):
    rs = tmp_path / "p0"
    y, preds, _, male = _write_runset(rs, metadata={"positive_class": 0})
    data = json.loads(_run(rs, "--format", "json").stdout)
    ref0 = flm.equalized_odds_difference(1 - y, 1 - preds[0], sensitive_features=male)
    assert data["male"]["eod"]["per_seed"][0] == pytest.approx(ref0, abs=1e-12)
    data1 = json.loads(_run(rs, "--positive-class", "1", "--format", "json").stdout)
    ref1 = flm.equalized_odds_difference(y, preds[0], sensitive_features=male)
    assert data1["male"]["eod"]["per_seed"][0] == pytest.approx(ref1, abs=1e-12)


def test_error_one_liners(tmp_path):
    rs = tmp_path / "nds"
    _write_runset(rs)
    res = _run(rs, "--sensitive", "age")
    assert res.exit_code == 1
    assert res.stderr == f"error: {rs}: no group attribute 'age' (group attributes: male, young)\n"
    assert "Traceback" not in res.output
    bare = tmp_path / "bare"
    _write_runset(bare, groups=False)
    res = _run(bare)
    assert res.exit_code == 1 and "no group columns" in res.stderr
    res = _run(tmp_path / "missing")
    assert res.exit_code == 1 and res.stderr.startswith("error: ") and "Traceback" not in res.output
    res = _run(rs, "--format", "yaml")  # usage errors keep the promise too: one line, exit 1
    assert res.exit_code == 1 and res.stderr.startswith("error: ") and res.stderr.count("\n") == 1


def test_degenerate_group_warns_on_stderr_and_json_null(tmp_path):
    rs = tmp_path / "tiny"
    y = np.array([1, 0, 0, 0, 1, 0])
    g = np.array(["a", "a", "b", "b", "a", "a"])  # group b has no positives, a has both
    for s in (0, 1):
        write_predictions(
            rs / f"seed{s}.parquet",
            y_true=y,
            y_pred=np.roll(y, s),
            seed=s,
            num_classes=2,
            groups={"grp": g},
        )
    res = _run(rs, "--format", "json")
    assert res.exit_code == 0, res.output
    assert (
        "warning: tiny, attribute 'grp': TPR undefined for group 'b' (no positives)" in res.stderr
    )
    data = json.loads(res.stdout)
    assert data["grp"]["eod"]["mean"] is None
    assert data["grp"]["eod"]["per_seed"] == [None, None]
