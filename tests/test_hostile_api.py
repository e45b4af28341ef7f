"""Hostile input to the Python API: literal attribute names, alignment on every path, metadata
disagreements between run sets, HTML escaping, argument checks, large class counts.

Regression tests of issue 17 (classes 1, 2, 6, 7, 8, 9, 12).
"""

from __future__ import annotations

import numpy as np
import pytest

from kdbias_audit import (
    DegenerateDataWarning,
    KDAuditError,
    RunSet,
    analyze_sweep,
    classwise_test,
    compare,
    compare_fairness,
    demographic_parity_difference,
    disagreement,
    fairness_audit,
    load_runset,
    permutation_count_test,
    write_predictions,
)

N, C = 60, 3


def _files(d, *, sample_id=None, seeds=(0, 1, 2), groups=None, num_classes=C, **meta):
    n = N if sample_id is None else len(sample_id)
    y = np.arange(n) % num_classes
    for s in seeds:
        rng = np.random.default_rng(s)
        pred = np.where(rng.random(n) < 0.7, y, rng.integers(0, num_classes, n))
        write_predictions(
            d / f"seed{s}.parquet",
            y_true=y,
            y_pred=pred,
            num_classes=num_classes,
            sample_id=sample_id,
            seed=s,
            groups=groups,
            metadata=meta,
        )
    return d


# -------------------------------------------------------------------------------------------
# 1. real attribute names are literal


@pytest.mark.parametrize("name", ["a&b", "a,b", "group.x", " padded "])
def test_attribute_names_are_taken_literally(tmp_path, name):
    g = np.arange(N) % 2
    rs = load_runset(_files(tmp_path / "rs", groups={name: g, "a": g, "b": 1 - g}))
    audit = fairness_audit(rs)
    assert name in audit.attributes
    assert audit[name].components == (name,) and audit[name].groups == ("0", "1")
    # the user may also name it: the exact name wins over the --sensitive syntax
    assert fairness_audit(rs, sensitive=[name]).attributes == (name,)


def test_prefixed_literal_name_resolves(tmp_path):
    g = np.arange(N) % 2
    rs = load_runset(_files(tmp_path / "rs", groups={"group.x": g}))
    assert fairness_audit(rs, sensitive=["group.group.x"]).attributes == ("group.x",)


def test_intersection_syntax_still_parses_user_text(tmp_path):
    g = np.arange(N) % 2
    rs = load_runset(_files(tmp_path / "rs", groups={"a": g, "b": (np.arange(N) // 2) % 2}))
    audit = fairness_audit(rs, sensitive=["a,b"])
    assert audit.attributes == ("a&b",) and audit["a&b"].components == ("a", "b")


# -------------------------------------------------------------------------------------------
# 2. alignment by sample_id on every path


@pytest.fixture
def misaligned(tmp_path):
    a = load_runset(_files(tmp_path / "a", sample_id=np.arange(N)))
    b = load_runset(_files(tmp_path / "b", sample_id=np.arange(N) + 1000))
    return a, b


@pytest.mark.parametrize(
    "call",
    [
        lambda a, b: compare(a, b, permutations=0),
        lambda a, b: classwise_test(a, b, permutations=0),
        lambda a, b: disagreement(a, b),
        lambda a, b: compare_fairness(a, b),
    ],
    ids=["compare", "classwise", "disagreement", "fairness"],
)
def test_misaligned_runsets_are_refused_on_every_path(misaligned, call):
    a, b = misaligned
    with pytest.raises(KDAuditError, match="sample_id"):
        call(a, b)


def test_same_ids_different_labels_are_refused(tmp_path):
    a = RunSet.from_arrays([0, 1, 2, 0], [[0, 1, 2, 0], [0, 1, 1, 0]], name="a")
    b = RunSet.from_arrays([0, 1, 2, 1], [[0, 1, 2, 1], [0, 1, 1, 0]], name="b")
    with pytest.raises(KDAuditError, match="label"):
        classwise_test(a, b, permutations=0)


def test_group_values_must_agree_between_runsets(tmp_path):
    g = np.arange(N) % 2
    a = load_runset(_files(tmp_path / "a", groups={"s": g}))
    b = load_runset(_files(tmp_path / "b", groups={"s": 1 - g}))
    with pytest.raises(KDAuditError, match=r"group\.s"):
        compare_fairness(a, b)


# -------------------------------------------------------------------------------------------
# 6. metadata between A and B


def test_positive_class_must_agree_between_runsets(tmp_path):
    g = np.arange(N) % 2
    a = load_runset(_files(tmp_path / "a", groups={"s": g}, num_classes=2, positive_class=0))
    b = load_runset(_files(tmp_path / "b", groups={"s": g}, num_classes=2, positive_class=1))
    with pytest.raises(KDAuditError, match="positive_class"):
        compare(a, b, permutations=0)


def test_class_names_must_agree_between_runsets(tmp_path):
    a = load_runset(_files(tmp_path / "a", class_names=["x", "y", "z"]))
    b = load_runset(_files(tmp_path / "b", class_names=["x", "z", "y"]))
    with pytest.raises(KDAuditError, match="class_names"):
        compare(a, b, permutations=0)


# -------------------------------------------------------------------------------------------
# 7 / 8. argument checks


def test_fractional_permutations_are_refused():
    rel = np.random.default_rng(0).random((3, 4))
    with pytest.raises(KDAuditError, match="permutations"):
        permutation_count_test(rel, rel + 0.1, permutations=2.7)


def test_negative_random_state_is_a_clear_error(tmp_path):
    a = load_runset(_files(tmp_path / "a"))
    with pytest.raises(KDAuditError, match="random"):
        classwise_test(a, a, permutations=5, random_state=-1)


@pytest.mark.parametrize("w", [[1.0, np.nan, 1.0, 1.0], [1.0, -1.0, 1.0, 1.0]])
def test_bad_sample_weight_is_refused(w):
    with pytest.raises(KDAuditError, match="sample_weight"):
        demographic_parity_difference(
            [0, 1, 0, 1], [1, 1, 0, 1], sensitive_features=["a", "a", "b", "b"], sample_weight=w
        )


# -------------------------------------------------------------------------------------------
# 9. HTML escaping in every notebook view

EVIL = "<img src=x onerror=alert(1)>"


def test_every_repr_html_escapes_names(tmp_path):
    g = np.arange(N) % 2
    a = load_runset(_files(tmp_path / EVIL, groups={EVIL: g}, class_names=[EVIL, "b", "c"]))
    b = load_runset(_files(tmp_path / "b", groups={EVIL: g}, class_names=[EVIL, "b", "c"]))
    res = compare(a, b, permutations=0)
    views = [
        res,
        res.classwise,
        res.disagreement,
        res.fairness,
        fairness_audit(a),
    ]
    for view in views:
        text = view._repr_html_()
        assert "<img" not in text, type(view).__name__


# -------------------------------------------------------------------------------------------
# 12. large class counts: sparse disagreement


def test_disagreement_of_many_classes_is_sparse_and_exact():
    k, n = 20_000, 50
    rng = np.random.default_rng(0)
    y = rng.integers(0, k, n)
    a = RunSet.from_arrays(y, [y, rng.integers(0, k, n)], num_classes=k, name="a")
    b = RunSet.from_arrays(y, [rng.integers(0, k, n), y], num_classes=k, name="b")
    with pytest.warns(DegenerateDataWarning, match="no test samples"):
        res = disagreement(a, b)
    doc = res.to_dict()
    assert "matrix" not in doc
    cells = doc["matrix_cells"]
    assert cells["shape"] == [k, k]
    assert len(cells["values"]) == len(cells["rows"]) == len(cells["cols"]) <= 2 * n
    total = sum(cells["values"])
    assert total / n == pytest.approx(res.rate_mean)
    top = res.top_pairs(3)
    assert top and all(v > 0 for _, _, v in top)


def test_small_disagreement_keeps_the_dense_matrix():
    a = RunSet.from_arrays([0, 1, 2], [[0, 1, 2]], seeds=[0], num_classes=3)
    b = RunSet.from_arrays([0, 1, 2], [[0, 2, 2]], seeds=[0], num_classes=3)
    doc = disagreement(a, b).to_dict()
    assert doc["matrix"] == [[0, 0, 0], [0, 0, 1.0], [0, 0, 0]]


@pytest.mark.parametrize("seed", [5, 6, 7])
def test_sparse_one_vs_rest_matches_the_dense_path(monkeypatch, seed):
    """The many-groups path gives the dense definition's values (per seed and class)."""
    from kdbias_audit.fairness import audit as audit_module

    rng = np.random.default_rng(seed)
    k, n, n_groups = 7, 300, 40
    y = rng.integers(0, k, n)
    preds = np.stack([np.where(rng.random(n) < 0.6, y, rng.integers(0, k, n)) for _ in range(3)])
    g = rng.integers(0, n_groups, n)
    g[:3] = 999  # a group with few samples: some of its rates are undefined
    rs = RunSet.from_arrays(y, preds, groups={"g": g}, num_classes=k)
    with pytest.warns(DegenerateDataWarning):
        dense = fairness_audit(rs)["g"]
    monkeypatch.setattr(audit_module, "SPARSE_MIN_CELLS", 0)
    with pytest.warns(DegenerateDataWarning):
        sparse = fairness_audit(rs)["g"]
    np.testing.assert_allclose(sparse.dpd_per_class, dense.dpd_per_class)
    np.testing.assert_allclose(sparse.eod_per_class, dense.eod_per_class)
    np.testing.assert_allclose(sparse.dpd_per_seed, dense.dpd_per_seed)
    np.testing.assert_allclose(sparse.eod_per_seed, dense.eod_per_seed)
    np.testing.assert_array_equal(sparse.counts.n, dense.counts.n)  # built on demand


def test_sweep_attribute_names_are_literal(tmp_path, monkeypatch):
    import _sweepgen

    def odd_groups(n):
        rng = np.random.default_rng(1)
        g = rng.integers(0, 2, n)
        return {"a&b": g, "a": g, "b": rng.integers(0, 2, n), "group.x": 1 - g}

    monkeypatch.setattr(_sweepgen, "make_groups", odd_groups)
    root = _sweepgen.make_sweep(tmp_path / "sw", seeds=(0, 1), temperatures=(2.0,))
    res = analyze_sweep(root, permutations=0)
    assert set(res.attributes) == {"a&b", "a", "b", "group.x"}
    for row in res.rows:
        audit = row.fairness
        assert audit["a&b"].components == ("a&b",)
        assert audit["a&b"].groups == ("0", "1")


def test_intersection_of_many_levels_does_not_overflow():
    """Mixed-radix codes of 5 attributes x 20,000 levels overflow int64; groups must not merge."""
    from kdbias_audit.fairness.counts import intersect_codes

    n, k = 40, 20_000
    rng = np.random.default_rng(0)
    codes = [rng.integers(0, k, n) for _ in range(5)]
    levels = [[f"v{i}" for i in range(k)] for _ in range(5)]
    inverse, names = intersect_codes(codes, levels)
    distinct = {tuple(int(c[i]) for c in codes) for i in range(n)}
    assert len(names) == len(distinct) == len(set(inverse.tolist()))
    for i in range(n):
        assert names[inverse[i]] == "&".join(f"v{c[i]}" for c in codes)


def test_a_symlinked_runset_is_in_the_sweep_table(tmp_path):
    import _sweepgen

    root = _sweepgen.make_sweep(tmp_path / "sw", seeds=(0, 1), temperatures=(2.0, 4.0))
    (root / "ds_T4").rename(tmp_path / "ds_T4_elsewhere")
    (root / "ds_T4").symlink_to(tmp_path / "ds_T4_elsewhere", target_is_directory=True)
    res = analyze_sweep(root, permutations=0)
    assert [r.temperature for r in res.distilled] == [2.0, 4.0]


def test_from_arrays_refuses_duplicate_sample_ids():
    with pytest.raises(KDAuditError, match="not unique"):
        RunSet.from_arrays([0, 1, 1], [[0, 1, 1]], sample_id=[5, 5, 6])
