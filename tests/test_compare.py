"""compare(): the Comparison object and the exact JSON contract of ``kdaudit compare``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kdbias_audit import classwise_test
from kdbias_audit.comparison import Comparison, compare
from kdbias_audit.errors import KDAuditError
from kdbias_audit.io import RunSet, load_runsets, write_predictions
from kdbias_audit.render.formats import jsonable, to_json
from kdbias_audit.stats.disagreement import disagreement

TOP_KEYS = {"format_version", "method", "a", "b", "alpha", "classwise", "disagreement"}
SIDE_KEYS = {"path", "seeds", "accuracy"}
CLASSWISE_KEYS = {
    "n_classes",
    "n_significant",
    "n_significant_fdr",
    "n_untestable",
    "count_pvalue",
    "expected_false_positives",
    "n_permutations",
    "classes",
}
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
    "statistic",
    "df",
    "pvalue",
    "qvalue",
    "significant",
}
DISAGREEMENT_KEYS = {"pairing", "n_pairs", "rate", "matrix", "per_class_rate"}


def write_runset(root, y, preds, *, seeds=None, groups=None, metadata=None, num_classes=None):
    seeds = list(range(len(preds))) if seeds is None else seeds
    for s, p in zip(seeds, preds, strict=False):
        write_predictions(
            root / f"seed{s}.parquet",
            y_true=y,
            y_pred=p,
            seed=s,
            groups=groups,
            num_classes=num_classes,
            metadata=metadata,
        )
    return root


def noisy_preds(rng, y, acc, n_seeds, c):
    return np.where(rng.random((n_seeds, y.size)) < acc, y, rng.integers(0, c, (n_seeds, y.size)))


@pytest.fixture
def pair(tmp_path):
    rng = np.random.default_rng(0)
    c = 6
    y = np.repeat(np.arange(c), 40)
    names = [f"class-{k}" for k in range(c)]
    pa = noisy_preds(rng, y, 0.8, 4, c)
    pb = noisy_preds(rng, y, 0.8, 4, c)
    pb[:, y == 2] = np.where(rng.random((4, 40)) < 0.5, 2, 3)  # class 2 hurt in B
    write_runset(tmp_path / "A", y, pa, metadata={"class_names": names}, num_classes=c)
    write_runset(tmp_path / "B", y, pb, num_classes=c)
    return load_runsets([tmp_path / "A", tmp_path / "B"])


def test_compare_combines_parts(pair):
    a, b = pair
    res = compare(a, b)
    assert isinstance(res, Comparison)
    ref_cw = classwise_test(a, b)
    ref_dis = disagreement(a, b)
    np.testing.assert_array_equal(res.classwise.pvalue, ref_cw.pvalue)
    np.testing.assert_array_equal(res.disagreement.matrix, ref_dis.matrix)
    assert res.a.seeds == [0, 1, 2, 3] and res.a.path == str(a.path)
    acc = (a.preds == a.label).mean(axis=1)
    assert res.a.accuracy_mean == pytest.approx(acc.mean())
    assert res.a.accuracy_std == pytest.approx(acc.std(ddof=1))
    assert res.classwise.significant[2] and res.classwise.delta[2] < 0
    assert res.classwise.class_names[2] == "class-2"
    frame = res.to_frame()
    assert frame.shape[0] == 6 and "disagreement_rate" in frame
    assert res.most_affected_frame(3)["class"].iloc[0] == 2
    assert "class-2" in res._repr_html_()


def test_json_contract_exact_keys(pair):
    a, b = pair
    res = compare(a, b, alpha=0.1, pairing="all")
    doc = json.loads(to_json(res.to_dict()))
    assert set(doc) == TOP_KEYS  # no group columns: no fairness key
    assert doc["format_version"] == 1 and doc["alpha"] == 0.1
    for side in ("a", "b"):
        assert set(doc[side]) == SIDE_KEYS and set(doc[side]["accuracy"]) == {"mean", "std"}
    assert set(doc["classwise"]) == CLASSWISE_KEYS
    classes = doc["classwise"]["classes"]
    assert [row["class"] for row in classes] == list(range(6))
    assert all(set(row) == CLASS_KEYS for row in classes)
    assert classes[2]["name"] == "class-2" and isinstance(classes[2]["significant"], bool)
    assert doc["classwise"]["n_permutations"] == 70
    assert set(doc["disagreement"]) == DISAGREEMENT_KEYS
    assert doc["disagreement"]["pairing"] == "all" and doc["disagreement"]["n_pairs"] == 16
    assert np.array(doc["disagreement"]["matrix"]).shape == (6, 6)
    assert len(doc["disagreement"]["per_class_rate"]) == 6
    assert doc["classwise"]["n_significant"] == sum(r["significant"] for r in classes)


def test_json_nan_is_null():
    y = np.array([0, 0, 1, 1, 2, 2])
    # class 2 never right anywhere: relative accuracy 0 on both sides, untestable
    a = RunSet.from_arrays(y, [[0, 0, 1, 0, 0, 1], [0, 1, 1, 1, 1, 0]], num_classes=3)
    b = RunSet.from_arrays(y, [[0, 1, 1, 1, 0, 0], [0, 0, 0, 1, 1, 1]], num_classes=3)
    doc = json.loads(to_json(compare(a, b).to_dict()))
    row = doc["classwise"]["classes"][2]
    assert row["pvalue"] is None and row["qvalue"] is None and row["statistic"] is None
    assert row["ci_low"] is None and row["significant"] is False
    assert doc["classwise"]["n_untestable"] == 1
    assert doc["classwise"]["classes"][0]["name"] is None


def test_errors():
    y = np.array([0, 1, 0, 1])
    one = RunSet.from_arrays(y, [[0, 1, 1, 1]], path="runs/teacher")
    two = RunSet.from_arrays(y, [[0, 1, 1, 1], [0, 0, 0, 1]], path="runs/nds")
    with pytest.raises(
        KDAuditError, match="runs/teacher: has 1 seed; a Welch test needs at least 2 per side"
    ):
        compare(one, two)
    other = RunSet.from_arrays(y, [[0, 1, 1, 1], [0, 0, 0, 1]], seeds=[8, 9], path="runs/ds")
    with pytest.raises(KDAuditError, match="pairing='all'"):
        compare(two, other)
    assert compare(two, other, pairing="all").disagreement.n_pairs == 4
    with pytest.raises(KDAuditError, match="pairing"):
        compare(two, other, pairing="some")  # type: ignore[arg-type]
    with pytest.raises(KDAuditError, match="alpha"):
        compare(two, other, alpha=0.0, pairing="all")


def test_fairness_section(tmp_path):
    rng = np.random.default_rng(3)
    n = 400
    y = rng.integers(0, 2, n)
    young = np.where(rng.random(n) < 0.5, "yes", "no")
    pa = noisy_preds(rng, y, 0.85, 3, 2)
    pb = noisy_preds(rng, y, 0.85, 3, 2)
    pb[:, young == "no"] = np.where(
        rng.random((3, int((young == "no").sum()))) < 0.4, 1, pb[:, young == "no"]
    )
    write_runset(tmp_path / "A", y, pa, groups={"young": young}, num_classes=2)
    write_runset(tmp_path / "B", y, pb, groups={"young": young}, num_classes=2)
    a, b = load_runsets([tmp_path / "A", tmp_path / "B"])
    res = compare(a, b)
    assert res.fairness is not None
    doc = res.to_dict()
    assert set(doc) == TOP_KEYS | {"fairness"}
    assert doc["fairness"] == res.fairness.to_dict()
    assert set(doc["fairness"]["young"]) == {"a", "b", "dpd_diff", "eod_diff"}
    json.loads(to_json(doc))  # serialisable
    from kdbias_audit.cli.compare import render_markdown, render_table

    assert "Group fairness" in render_table(res)
    assert "Group fairness" in render_markdown(res)
    explicit = compare(a, b, sensitive=["young"], positive_class=1)
    assert jsonable(explicit.to_dict()["fairness"]) == jsonable(doc["fairness"])


def test_no_groups_no_fairness(pair):
    a, b = pair
    res = compare(a, b)
    assert res.fairness is None and "fairness" not in res.to_dict()
