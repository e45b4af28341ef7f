"""``kdaudit compare`` through typer's CliRunner: formats, --out, and one-line errors."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from kdbias_audit.cli import app
from kdbias_audit.io import write_predictions

runner = CliRunner()
C = 5
NAMES = ["apple", "bee", "cow", "dune", "elm"]


def write_runset(root, y, preds, *, seeds=None, metadata=None):
    seeds = list(range(len(preds))) if seeds is None else seeds
    for s, p in zip(seeds, preds, strict=False):
        write_predictions(
            root / f"seed{s}.parquet", y_true=y, y_pred=p, seed=s, num_classes=C, metadata=metadata
        )
    return root


@pytest.fixture
def runs(tmp_path):
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(C), 60)

    def preds(n_seeds, acc):
        return np.where(
            rng.random((n_seeds, y.size)) < acc, y, rng.integers(0, C, (n_seeds, y.size))
        )

    pa, pb = preds(5, 0.85), preds(5, 0.85)
    pb[:, y == 1] = np.where(
        rng.random((5, 60)) < 0.45, 1, 4
    )  # "bee" hurt in B, confused with "elm"
    a = write_runset(tmp_path / "teacher", y, pa, metadata={"class_names": NAMES})
    b = write_runset(tmp_path / "ds_T6", y, pb, metadata={"class_names": NAMES})
    one = write_runset(tmp_path / "single", y, pa[:1])
    other = write_runset(tmp_path / "other_seeds", y, pb[:3], seeds=[10, 11, 12])
    return {"a": a, "b": b, "one": one, "other": other, "tmp": tmp_path}


def invoke(*args):
    return runner.invoke(app, ["compare", *map(str, args)])


def assert_one_line_error(result, *fragments):
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0]


def test_table(runs):
    result = invoke(runs["a"], runs["b"], "--top", "3")
    assert result.exit_code == 0, result.output
    out = result.stdout
    for text in (
        "accuracy A",
        "accuracy B",
        "significant classes",
        "count p-value",
        "expected false positives",
        "disagreement rate",
        "Most affected classes",
        "Top disagreeing class pairs",
        "bee",
        "elm",
        "252 splits, exact",
    ):
        assert text in out, text
    # percent with mean ± std
    assert " ± " in out and "%" in out


def test_json_contract(runs):
    result = invoke(runs["a"], runs["b"], "--format", "json", "--alpha", "0.1")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert set(doc) == {"format_version", "method", "a", "b", "alpha", "classwise", "disagreement"}
    assert doc["method"] == "seeds"
    assert doc["alpha"] == 0.1 and doc["a"]["seeds"] == [0, 1, 2, 3, 4]
    assert doc["a"]["path"] == str(runs["a"])
    cw = doc["classwise"]
    assert set(cw) == {
        "n_classes",
        "n_significant",
        "n_significant_fdr",
        "n_untestable",
        "count_pvalue",
        "expected_false_positives",
        "n_permutations",
        "classes",
    }
    assert cw["n_permutations"] == 252 and cw["n_classes"] == C
    bee = cw["classes"][1]
    assert bee["name"] == "bee" and bee["significant"] is True and bee["delta"] < 0
    assert set(bee) == {
        "class",
        "name",
        "acc_a",
        "acc_b",
        "rel_a",
        "rel_b",
        "delta",
        "ci_low",
        "ci_high",
        "statistic",
        "df",
        "pvalue",
        "qvalue",
        "significant",
    }
    dis = doc["disagreement"]
    assert dis["pairing"] == "seed" and dis["n_pairs"] == 5
    matrix = np.array(dis["matrix"])
    assert matrix.shape == (C, C) and matrix[1, 4] == matrix.max()
    assert set(dis["rate"]) == {"mean", "std"}


def test_csv_markdown_latex_and_out(runs):
    csv = invoke(runs["a"], runs["b"], "--format", "csv")
    assert csv.exit_code == 0, csv.output
    frame = pd.read_csv(io.StringIO(csv.stdout))
    assert list(frame["class"]) == list(range(C)) and list(frame["name"]) == NAMES
    assert {"delta", "pvalue", "qvalue", "ci_low", "disagreement_rate"} <= set(frame.columns)

    md = invoke(runs["a"], runs["b"], "--format", "markdown")
    assert md.exit_code == 0 and "## Summary" in md.stdout and "## Per-class tests" in md.stdout
    assert "| bee |" in md.stdout

    tex = invoke(runs["a"], runs["b"], "--format", "latex")
    assert tex.exit_code == 0 and "\\begin{tabular}" in tex.stdout

    target = runs["tmp"] / "report" / "cmp.json"
    target.parent.mkdir()
    written = invoke(runs["a"], runs["b"], "--format", "json", "--out", target)
    assert written.exit_code == 0 and written.stdout == ""
    assert json.loads(target.read_text())["classwise"]["n_classes"] == C
    table = runs["tmp"] / "cmp.txt"
    assert invoke(runs["a"], runs["b"], "--out", table).exit_code == 0
    assert "Most affected classes" in table.read_text()


def test_options(runs):
    result = invoke(runs["a"], runs["b"], "-f", "json", "--permutations", "0", "--pairing", "all")
    doc = json.loads(result.stdout)
    assert doc["classwise"]["count_pvalue"] is None and doc["classwise"]["n_permutations"] == 0
    assert doc["disagreement"]["n_pairs"] == 25 and doc["disagreement"]["pairing"] == "all"
    r1 = json.loads(
        invoke(
            runs["a"], runs["b"], "-f", "json", "--permutations", "100", "--seed-random", "3"
        ).stdout
    )
    r2 = json.loads(
        invoke(
            runs["a"], runs["b"], "-f", "json", "--permutations", "100", "--seed-random", "3"
        ).stdout
    )
    assert r1["classwise"]["n_permutations"] == 100
    assert r1["classwise"]["count_pvalue"] == r2["classwise"]["count_pvalue"]


def test_errors(runs):
    assert_one_line_error(
        invoke(runs["one"], runs["b"], "--method", "seeds"),
        "single",
        "has 1 seed",
        "needs at least 2 per side",
        "--method samples",
    )
    assert_one_line_error(invoke(runs["a"], runs["other"]), "no seed in common", "--pairing all")
    assert invoke(runs["a"], runs["other"], "--pairing", "all").exit_code == 0
    assert_one_line_error(invoke(runs["a"], runs["tmp"] / "missing"), "missing")
    assert_one_line_error(invoke(runs["a"], runs["b"], "--alpha", "2"), "alpha")
    assert_one_line_error(invoke(runs["a"], runs["b"], "--permutations", "-5"), "permutations")
    assert_one_line_error(invoke(runs["a"], runs["b"], "--out", runs["a"] / "x.json"), "refusing")
    assert_one_line_error(invoke(runs["a"], runs["b"], "--sensitive", "young"), "young")


def test_different_test_sets_error(runs):
    y = np.repeat(np.arange(C), 50)
    other = write_runset(runs["tmp"] / "small", y, np.tile(y, (2, 1)))
    assert_one_line_error(invoke(runs["a"], other), "different test set")


def test_degenerate_data_is_a_warning_line_not_an_error(runs):
    y = np.repeat(np.arange(C - 1), 20)  # the last class has no test samples
    rng = np.random.default_rng(1)
    preds = np.where(rng.random((3, y.size)) < 0.8, y, rng.integers(0, C, (3, y.size)))
    a = write_runset(runs["tmp"] / "gap_a", y, preds)
    b = write_runset(runs["tmp"] / "gap_b", y, preds[::-1])
    result = invoke(a, b, "-f", "json")
    assert result.exit_code == 0, result.output
    warnings_shown = result.stderr.strip().splitlines()
    assert warnings_shown and all(line.startswith("warning: ") for line in warnings_shown)
    assert any("no test samples" in line for line in warnings_shown)
    assert len(warnings_shown) == len(set(warnings_shown))  # each message once
    doc = json.loads(result.stdout)
    last = doc["classwise"]["classes"][C - 1]
    assert last["pvalue"] is None and last["acc_a"] is None and last["significant"] is False
    assert doc["disagreement"]["per_class_rate"][C - 1] is None
