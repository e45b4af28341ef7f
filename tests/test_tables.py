"""Sweep tables: every format parses, and shows the numbers of the result (checked independently
in test_sweep.py); the JSON contract of ``kdaudit sweep``."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pandas as pd
import pytest
from _sweepgen import make_sweep

from kdbias_audit.render.tables import (
    class_bias_display_frame,
    fairness_display_frame,
    render_sweep,
    sweep_numeric_frame,
)
from kdbias_audit.sweep import analyze_sweep

ROW_KEYS = {
    "name",
    "role",
    "model",
    "temperature",
    "kd_alpha",
    "path",
    "seeds",
    "n_seeds",
    "accuracy",
    "n_sc",
    "n_tc",
    "n_sc_fdr",
    "n_tc_fdr",
    "p_sc",
    "p_tc",
    "efp_sc",
    "efp_tc",
    "n_permutations_sc",
    "n_permutations_tc",
    "untestable_sc",
    "untestable_tc",
    "disagreement",
    "fairness",
}
TOP_KEYS = {
    "format_version",
    "dataset",
    "num_classes",
    "n_samples",
    "class_names",
    "alpha",
    "permutations",
    "random_state",
    "attributes",
    "kd_alphas",
    "skipped",
    "rows",
}


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    root = make_sweep(tmp_path_factory.mktemp("t") / "sw", temperatures=(2.0, 4.0, 8.0))
    return analyze_sweep(root)


@pytest.fixture(scope="module")
def blocks_result(tmp_path_factory):
    root = make_sweep(
        tmp_path_factory.mktemp("b") / "sw",
        temperatures=(2.0, 4.0),
        kd_alphas=(0.6, 0.8),
        with_groups=False,
    )
    return analyze_sweep(root)


def pm(mean, std):
    return f"{100 * mean:.2f} ± {100 * std:.2f}"


def test_class_bias_display_frame(result):
    df = class_bias_display_frame(result)
    assert list(df.columns) == [
        "Run set",
        "Model",
        "T",
        "Test Acc. (%)",
        "#SC",
        "#TC",
        "#SC (BH)",
        "#TC (BH)",
        "p(#SC)",
        "p(#TC)",
    ]
    assert list(df["Model"]) == ["Teacher", "NDS", "DS", "DS", "DS"]
    assert list(df["T"]) == ["-", "-", "2", "4", "8"]
    for r, row in zip(result.rows, df.itertuples(index=False), strict=False):
        acc = r.accuracy
        assert row[3] == pm(acc.mean(), acc.std(ddof=1))
    for r, (_, row) in zip(result.distilled, df.iloc[2:].iterrows(), strict=False):
        assert row["#SC"] == str(r.vs_baseline.n_significant)
        assert row["#TC"] == str(r.vs_teacher.n_significant)
        assert row["#SC (BH)"] == str(r.vs_baseline.n_significant_fdr)
        assert row["#TC (BH)"] == str(r.vs_teacher.n_significant_fdr)
        assert float(row["p(#SC)"]) == pytest.approx(r.vs_baseline.count_pvalue, rel=1e-2)
    assert (df.iloc[:2][["#SC", "#TC", "p(#SC)"]] == "-").all().all()


def test_fairness_display_frame(result):
    df = fairness_display_frame(result)
    assert list(df.columns) == [
        "Run set",
        "Model",
        "T",
        "Test Acc. (%)",
        "EOD color (%)",
        "DPD color (%)",
        "EOD young (%)",
        "DPD young (%)",
    ]
    for r, (_, row) in zip(result.rows, df.iterrows(), strict=False):
        f = r.fairness.to_dict()["young"]
        assert row["DPD young (%)"] == pm(f["dpd"]["mean"], f["dpd"]["std"])
        assert row["EOD young (%)"] == pm(f["eod"]["mean"], f["eod"]["std"])


def test_json_contract(result):
    doc = json.loads(render_sweep(result, "json"))
    # the contract grew (issue 16): JSON is the most complete format; the old keys keep
    # their meaning
    assert set(doc) == TOP_KEYS
    assert doc["alpha"] == result.alpha and doc["attributes"] == list(result.attributes)
    rows = doc["rows"]
    assert [r["name"] for r in rows] == ["teacher", "nds", "ds_T2", "ds_T4", "ds_T8"]
    assert [r["role"] for r in rows] == [
        "teacher",
        "baseline",
        "distilled",
        "distilled",
        "distilled",
    ]
    assert [r["temperature"] for r in rows] == [None, None, 2.0, 4.0, 8.0]
    for rec, r in zip(rows, result.rows, strict=False):
        assert set(rec) == ROW_KEYS
        assert set(rec["accuracy"]) == {"mean", "std", "per_seed"}
        assert rec["accuracy"]["per_seed"] == pytest.approx(list(r.accuracy), abs=1e-15)
        assert rec["accuracy"]["mean"] == pytest.approx(float(np.mean(r.accuracy)), abs=1e-15)
        assert rec["accuracy"]["std"] == pytest.approx(float(np.std(r.accuracy, ddof=1)), abs=1e-15)
        assert set(rec["fairness"]) == {"young", "color"}
        for attr, v in rec["fairness"].items():
            assert set(v) == {"mode", "groups", "dpd", "eod"}
            for metric in ("dpd", "eod"):
                assert set(v[metric]) == {"mean", "std", "per_seed"}
                assert v[metric]["mean"] == pytest.approx(
                    r.fairness.to_dict()[attr][metric]["mean"]
                )
    for rec in rows[:2]:
        assert (
            rec["n_sc"] is None
            and rec["n_tc"] is None
            and rec["n_sc_fdr"] is None
            and rec["n_tc_fdr"] is None
        )
    for rec, r in zip(rows[2:], result.distilled, strict=False):
        assert isinstance(rec["n_sc"], int) and rec["n_sc"] == r.vs_baseline.n_significant
        assert isinstance(rec["n_tc"], int) and rec["n_tc"] == r.vs_teacher.n_significant
        assert rec["n_sc_fdr"] == r.vs_baseline.n_significant_fdr
        assert rec["n_tc_fdr"] == r.vs_teacher.n_significant_fdr


def test_json_has_no_nan_tokens(blocks_result):
    text = render_sweep(blocks_result, "json")
    assert "NaN" not in text
    json.loads(text)


def test_csv_parses_with_pandas(result):
    df = pd.read_csv(io.StringIO(render_sweep(result, "csv")))
    ref = sweep_numeric_frame(result)
    assert list(df.columns) == list(ref.columns)
    assert len(df) == 5
    np.testing.assert_allclose(df["accuracy_mean"], [np.mean(r.accuracy) for r in result.rows])
    assert df["n_sc"].iloc[:2].isna().all()
    assert list(df["n_sc"].iloc[2:].astype(int)) == [
        r.vs_baseline.n_significant for r in result.distilled
    ]
    assert list(df["n_tc"].iloc[2:].astype(int)) == [
        r.vs_teacher.n_significant for r in result.distilled
    ]
    np.testing.assert_allclose(
        df["p_sc"].iloc[2:], [r.vs_baseline.count_pvalue for r in result.distilled]
    )
    np.testing.assert_allclose(
        df["young_dpd_mean"], [r.fairness_mean_std("young", "dpd")[0] for r in result.rows]
    )


def test_markdown(result):
    md = render_sweep(result, "markdown")
    tables = [ln for ln in md.splitlines() if ln.startswith("| Run set")]
    assert len(tables) == 2  # class bias and fairness
    assert "|---|" in md
    for r in result.rows:
        assert f"| {r.name} |" in md


def test_latex(result):
    tex = render_sweep(result, "latex")
    assert tex.count("\\begin{tabular}") == 2 and tex.count("\\end{tabular}") == 2
    assert "\\toprule" in tex and "\\midrule" in tex and "\\bottomrule" in tex
    assert "\\#SC" in tex and "ds\\_T2" in tex  # escaped
    assert tex.count("\\caption{") == 2
    # every row has as many cells as the header
    for block in re.findall(r"\\midrule\n(.*?)\\bottomrule", tex, re.S):
        widths = {ln.count(" & ") for ln in block.strip().splitlines()}
        assert len(widths) == 1


def test_terminal_table(result):
    text = render_sweep(result, "table")
    assert "#SC" in text and "#TC" in text and "EOD young (%)" in text
    for r in result.rows:
        assert r.name in text


def test_unknown_format(result):
    with pytest.raises(ValueError, match="unknown format"):
        render_sweep(result, "xml")


def test_alpha_blocks_in_tables(blocks_result):
    df = class_bias_display_frame(blocks_result)
    assert df.columns[0] == "α"
    assert list(df["α"]) == ["0.6"] * 4 + ["0.8"] * 4
    assert list(df["Model"]) == ["Teacher", "NDS", "DS", "DS"] * 2
    assert fairness_display_frame(blocks_result) is None
    md = render_sweep(blocks_result, "markdown")
    assert md.count("| α | Run set |") == 1 and "\n| Run set" not in md
    assert "Fairness" not in md
    csv = pd.read_csv(io.StringIO(render_sweep(blocks_result, "csv")))
    assert list(csv["kd_alpha"]) == [0.6] * 4 + [0.8] * 4


def _flat(doc, prefix=""):
    """``{"a": {"b": 1}}`` -> ``{"a_b": 1}`` (how the CSV names nested quantities)."""
    out = {}
    for k, v in doc.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}_"))
        else:
            out[f"{prefix}{k}"] = v
    return out


def test_json_holds_everything_the_csv_and_tables_show(result):
    """JSON is the most complete format: every CSV column (which carries every number of the
    display tables: accuracy, #SC/#TC, their BH counts and count p-values, EOD/DPD) is in each
    JSON row with the same value."""
    doc = json.loads(render_sweep(result, "json"))
    by_name = {r["name"]: _flat(r) for r in doc["rows"]}
    csv = pd.read_csv(io.StringIO(render_sweep(result, "csv")))
    for _, row in csv.iterrows():
        rec = by_name[row["name"]]
        for col in csv.columns:
            key = {"n_seeds": "n_seeds"}.get(col, col)
            if key not in rec:  # fairness columns: young_dpd_mean -> fairness_young_dpd_mean
                key = f"fairness_{col}"
            assert key in rec, col
            want, got = row[col], rec[key]
            if isinstance(want, str):
                assert got == want, col
            elif pd.isna(want):
                assert got is None, col
            else:
                assert got == pytest.approx(float(want), rel=1e-12, abs=1e-15), col
    # the display tables' quantities map to CSV columns
    display = class_bias_display_frame(result).columns
    assert {"#SC", "#TC", "#SC (BH)", "#TC (BH)", "p(#SC)", "p(#TC)"} <= set(display)
    assert {"n_sc", "n_tc", "n_sc_fdr", "n_tc_fdr", "p_sc", "p_tc", "efp_sc"} <= set(csv.columns)
