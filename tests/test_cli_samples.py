"""Single checkpoints through the CLI: ``kdaudit compare --method`` and ``kdaudit fairness --ci``.

Exit codes, the JSON contract of the sample-level comparison and of the fairness uncertainty
fields, the auto notice, reproducibility, and one-line errors (typer's CliRunner).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

from kdbias_audit.cli import app
from kdbias_audit.io import write_predictions

runner = CliRunner()
C = 4
CLASS_KEYS = {
    "class",
    "name",
    "acc_a",
    "acc_b",
    "rel_a",
    "rel_b",
    "delta",
    "ci_low",
    "ci_high",
    "pvalue",
    "qvalue",
    "significant",
    "mcnemar_pvalue",
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A teacher and a student, one checkpoint each (different seed values), plus a 3-seed
    pair; class 2 is hurt in the student; two group attributes."""
    root = tmp_path_factory.mktemp("single")
    rng = np.random.default_rng(0)
    n = 1200
    y = rng.integers(0, C, n)
    young = rng.random(n) < 0.6
    male = rng.choice(["f", "m"], n)
    q = rng.beta(1.6, 0.4, n)

    def draw():
        return np.where(rng.random(n) < q, y, (y + 1) % C)

    a, b = draw(), draw()
    b = np.where((y == 2) & (rng.random(n) < 0.25), 3, b)
    groups = {"young": young, "male": male}
    meta = {"class_names": ["w", "x", "y", "z"]}
    write_predictions(
        root / "teacher" / "s0.parquet",
        y_true=y,
        y_pred=a,
        seed=0,
        groups=groups,
        num_classes=C,
        metadata=meta,
    )
    write_predictions(
        root / "student" / "s7.parquet",
        y_true=y,
        y_pred=b,
        seed=7,
        groups=groups,
        num_classes=C,
        metadata=meta,
    )
    for s in range(3):
        write_predictions(
            root / "ta3" / f"s{s}.parquet",
            y_true=y,
            y_pred=draw(),
            seed=s,
            groups=groups,
            num_classes=C,
        )
        write_predictions(
            root / "tb3" / f"s{s}.parquet",
            y_true=y,
            y_pred=draw(),
            seed=s,
            groups=groups,
            num_classes=C,
        )
    return {"root": root, "y": y, "a": a, "b": b, "young": young}


def invoke(*args):
    return runner.invoke(app, [*map(str, args)])


def one_line_error(result, *fragments):
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for f in fragments:
        assert f in lines[0], lines[0]


def test_auto_uses_samples_with_a_notice_and_the_json_contract(runs):
    r = runs["root"]
    res = invoke("compare", r / "teacher", r / "student", "-f", "json", "--resamples", "300")
    assert res.exit_code == 0, res.output
    assert res.stderr.count("\n") == 1 and res.stderr.startswith("notice: ")
    assert "--method samples" in res.stderr
    doc = json.loads(res.stdout)
    assert doc["method"] == "samples"
    assert {"format_version", "method", "a", "b", "alpha", "classwise", "disagreement"} <= set(doc)
    cw = doc["classwise"]
    assert set(cw) == {
        "n_classes",
        "n_significant",
        "n_significant_fdr",
        "n_untestable",
        "count_pvalue",
        "expected_false_positives",
        "n_resamples",
        "classes",
    }
    assert cw["n_resamples"] == 300 and cw["n_classes"] == C
    rows = cw["classes"]
    assert [set(row) for row in rows] == [CLASS_KEYS] * C
    hurt = rows[2]
    assert hurt["name"] == "y" and hurt["significant"] and hurt["delta"] < 0
    assert hurt["ci_low"] <= hurt["delta"] <= hurt["ci_high"]
    # McNemar column = scipy's binomial test on the class's discordant pairs
    y, a, b = runs["y"], runs["a"], runs["b"]
    m = y == 2
    n01 = int(np.sum((a[m] != 2) & (b[m] == 2)))
    n10 = int(np.sum((a[m] == 2) & (b[m] != 2)))
    assert hurt["mcnemar_pvalue"] == pytest.approx(stats.binomtest(n01, n01 + n10).pvalue)
    fair = doc["fairness"]
    assert set(fair) == {"young", "male"}
    for attr in fair.values():
        assert set(attr) == {"a", "b", "dpd_diff", "eod_diff"}
        for key in ("dpd_diff", "eod_diff"):
            assert set(attr[key]) == {"delta", "ci_low", "ci_high", "pvalue"}
            assert attr[key]["ci_low"] <= attr[key]["delta"] <= attr[key]["ci_high"]


def test_samples_table_states_the_one_seed_limitation(runs):
    r = runs["root"]
    res = invoke("compare", r / "teacher", r / "student", "--resamples", "200", "-s", "young,male")
    assert res.exit_code == 0, res.output
    text = " ".join(res.stdout.split())
    assert "not attributable to distillation rather than to training noise" in text
    assert "McNemar" in text and "young&male" in text
    md = invoke("compare", r / "teacher", r / "student", "--resamples", "200", "-f", "markdown")
    assert "not attributable to distillation" in md.stdout


def test_random_state_makes_it_reproducible(runs):
    r = runs["root"]
    args = ("compare", r / "teacher", r / "student", "-f", "json", "--resamples", "200")
    one = json.loads(invoke(*args, "--random-state", "5").stdout)
    two = json.loads(invoke(*args, "--random-state", "5").stdout)
    three = json.loads(invoke(*args, "--random-state", "6").stdout)
    assert one == two
    assert one["classwise"]["count_pvalue"] != three["classwise"]["count_pvalue"] or (
        one["fairness"] != three["fairness"]
    )


def test_method_choice_with_several_seeds(runs):
    r = runs["root"]
    seeds = invoke("compare", r / "ta3", r / "tb3", "-f", "json", "--permutations", "20")
    assert seeds.exit_code == 0 and seeds.stderr == ""
    assert json.loads(seeds.stdout)["method"] == "seeds"
    samples = invoke(
        "compare", r / "ta3", r / "tb3", "-f", "json", "--method", "samples", "--resamples", "150"
    )
    assert samples.exit_code == 0, samples.output
    doc = json.loads(samples.stdout)
    assert doc["method"] == "samples" and doc["classwise"]["n_resamples"] == 150


def test_compare_errors(runs):
    r = runs["root"]
    one_line_error(
        invoke("compare", r / "teacher", r / "student", "--method", "seeds"),
        "teacher",
        "has 1 seed",
        "--method samples",
    )
    one_line_error(
        invoke("compare", r / "teacher", r / "student", "--resamples", "50"),
        "--resamples must be at least 100; got 50",
    )
    # an invalid choice is a usage error: one line, exit 1 (the README's promise)
    one_line_error(invoke("compare", r / "teacher", r / "student", "--method", "bogus"), "bogus")


def test_fairness_ci_json_fields(runs):
    r = runs["root"]
    res = invoke(
        "fairness",
        r / "ta3",
        "--ci",
        "0.9",
        "--bootstrap",
        "200",
        "--random-state",
        "1",
        "-f",
        "json",
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    for attr in doc.values():
        for metric in ("dpd", "eod"):
            obj = attr[metric]
            assert set(obj) == {
                "mean",
                "std",
                "per_seed",
                "per_seed_ci_low",
                "per_seed_ci_high",
                "per_seed_noise_floor",
                "per_seed_noise_pvalue",
            } | ({"noise_floor_null"} if metric == "dpd" else set())
            if metric == "dpd":
                assert obj["noise_floor_null"] == "pooled"
            for key in set(obj) - {"mean", "std", "noise_floor_null"}:
                assert len(obj[key]) == 3
            for lo, v, hi in zip(
                obj["per_seed_ci_low"], obj["per_seed"], obj["per_seed_ci_high"], strict=True
            ):
                assert lo <= hi and lo - 0.2 <= v <= hi + 0.2
            assert all(0 < p <= 1 for p in obj["per_seed_noise_pvalue"])
    again = invoke(
        "fairness",
        r / "ta3",
        "--ci",
        "0.9",
        "--bootstrap",
        "200",
        "--random-state",
        "1",
        "-f",
        "json",
    )
    assert json.loads(again.stdout) == doc
    plain = json.loads(invoke("fairness", r / "ta3", "-f", "json").stdout)
    assert set(plain["young"]["dpd"]) == {"mean", "std", "per_seed"}
    table = invoke("fairness", r / "teacher", "--ci", "0.95", "-f", "markdown")
    assert table.exit_code == 0 and "DPD noise floor (%)" in table.stdout


def test_fairness_bad_resampling_options(runs):
    r = runs["root"]
    one_line_error(invoke("fairness", r / "ta3", "--ci", "1.5"), "--ci must be in (0, 1)")
    one_line_error(invoke("fairness", r / "ta3", "--ci", "0"), "--ci must be in (0, 1)")
    one_line_error(
        invoke("fairness", r / "ta3", "--bootstrap", "99"), "--bootstrap must be at least 100"
    )


def test_dpd_null_option(runs, tmp_path):
    """--dpd-null labels: the JSON names the null, the floor differs from the pooled one only
    for DPD; without a noise floor to apply to, the option is a one-line error."""
    r = runs["root"]
    docs = {
        null: json.loads(
            invoke(
                "fairness", r / "ta3", "--bootstrap", "200", "--dpd-null", null, "-f", "json"
            ).stdout
        )
        for null in ("pooled", "labels")
    }
    for attr in docs["labels"]:
        lab, pool = docs["labels"][attr], docs["pooled"][attr]
        assert lab["dpd"]["noise_floor_null"] == "labels"
        assert pool["dpd"]["noise_floor_null"] == "pooled"
        assert lab["eod"]["per_seed_noise_floor"] == pool["eod"]["per_seed_noise_floor"]
        assert lab["dpd"]["per_seed_noise_floor"] != pool["dpd"]["per_seed_noise_floor"]
    # the markdown table says what its floor columns are, under which null; none without floors
    for null, words in (("labels", "TPR/FPR with its own labels"), ("pooled", "pooled rates")):
        md = invoke(
            "fairness", r / "ta3", "--bootstrap", "200", "--dpd-null", null, "-f", "markdown"
        ).stdout
        assert words in md.splitlines()[0]
    assert "floor" not in invoke("fairness", r / "ta3", "-f", "markdown").stdout.splitlines()[0]
    one_line_error(
        invoke("fairness", r / "ta3", "--dpd-null", "labels"), "--dpd-null", "--ci or --bootstrap"
    )
    one_line_error(invoke("fairness", r / "ta3", "--dpd-null", "bogus", "--ci", "0.9"), "bogus")
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from _sweepgen import make_sweep

    root = make_sweep(tmp_path / "sw", temperatures=(2.0,))
    one_line_error(
        invoke("sweep", root, "--permutations", "20", "--dpd-null", "labels"), "add --noise-floor"
    )
    res = invoke(
        "sweep", root, "-f", "json", "--permutations", "20", "--noise-floor", "--dpd-null", "labels"
    )
    assert res.exit_code == 0, res.output
    assert '"noise_floor_null": "labels"' in res.stdout
    md = invoke(
        "sweep",
        root,
        "-f",
        "markdown",
        "--permutations",
        "20",
        "--noise-floor",
        "--dpd-null",
        "labels",
    )
    assert "pooled TPR/FPR with its own labels" in md.stdout
    out = tmp_path / "report"
    rep = invoke(
        "report", root, "-o", out, "--permutations", "20", "--noise-floor", "--dpd-null", "labels"
    )
    assert rep.exit_code == 0, rep.output
    html = (out / "report.html").read_text()
    assert "Floor: the value expected from sampling noise alone" in html
    assert "TPR/FPR with its own labels" in html and "--dpd-null labels" in html


def test_sweep_and_report_show_noise_floors(tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from _sweepgen import make_sweep

    root = make_sweep(tmp_path / "sw", temperatures=(2.0,))
    plain = invoke("sweep", root, "-f", "markdown", "--permutations", "20")
    assert plain.exit_code == 0 and "floor" not in plain.stdout
    res = invoke("sweep", root, "-f", "markdown", "--permutations", "20", "--noise-floor")
    assert res.exit_code == 0, res.output
    assert "floor (%)" in res.stdout and "sampling noise" in res.stdout
    doc = json.loads(
        invoke("sweep", root, "-f", "json", "--permutations", "20", "--noise-floor").stdout
    )
    assert '"per_seed_noise_floor"' in json.dumps(doc)
    csv = invoke("sweep", root, "-f", "csv", "--permutations", "20", "--noise-floor").stdout
    assert "_dpd_noise_floor" in csv.splitlines()[0]
    out = tmp_path / "report"
    rep = invoke("report", root, "-o", out, "--permutations", "20", "--noise-floor")
    assert rep.exit_code == 0, rep.output
    assert "floor (%)" in (out / "report.html").read_text()


def test_samples_with_disjoint_seed_values_pairs_by_position(tmp_path):
    rng = np.random.default_rng(5)
    n = 400
    y = rng.integers(0, 3, n)
    for side, seeds in (("a", (0, 1)), ("b", (10, 11, 12))):
        for s in seeds:
            p = np.where(rng.random(n) < 0.8, y, (y + 1) % 3)
            write_predictions(
                tmp_path / side / f"s{s}.parquet", y_true=y, y_pred=p, seed=s, num_classes=3
            )
    res = invoke(
        "compare",
        tmp_path / "a",
        tmp_path / "b",
        "--method",
        "samples",
        "--resamples",
        "100",
        "-f",
        "json",
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["method"] == "samples" and doc["disagreement"]["pairing"] == "all"
