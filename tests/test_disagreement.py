"""Disagreement matrices and rates (Fort et al. 2020), checked by hand and by brute force."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kdbias_audit.errors import DegenerateDataWarning, KDAuditError
from kdbias_audit.io import RunSet, load_runsets, write_predictions
from kdbias_audit.stats.disagreement import disagreement


def brute_force_matrix(pa, pb, c):
    m = np.zeros((c, c))
    for i, j in zip(pa, pb, strict=False):
        if i != j:
            m[i, j] += 1
    return m


def test_tiny_case_by_hand():
    y = [0, 1, 2, 0, 1]
    a = RunSet.from_arrays(y, [[0, 1, 2, 1, 1]], seeds=[0], num_classes=3)
    b = RunSet.from_arrays(y, [[0, 2, 2, 0, 0]], seeds=[0], num_classes=3)
    res = disagreement(a, b)
    # sample 1: A says 1, B says 2; samples 3 and 4: A says 1, B says 0
    expected = np.array([[0, 0, 0], [2, 0, 1], [0, 0, 0]], dtype=float)
    np.testing.assert_array_equal(res.matrix, expected)
    assert res.rate_mean == pytest.approx(3 / 5)
    assert np.isnan(res.rate_std) and res.n_pairs == 1 and res.pairing == "seed"
    # class 0: samples 0, 3 -> 1 of 2; class 1: samples 1, 4 -> 2 of 2; class 2: 0 of 1
    np.testing.assert_allclose(res.per_class_rate, [0.5, 1.0, 0.0])
    assert res.top_pairs(5) == [(1, 0, 2.0), (1, 2, 1.0)]
    assert res.top_pairs(1) == [(1, 0, 2.0)]
    assert res.pairs == ((0, 0),)


def test_seed_pairing_and_all_pairing_average_over_pairs():
    rng = np.random.default_rng(0)
    c, n = 4, 60
    y = rng.integers(0, c, n)
    pa = rng.integers(0, c, (3, n))
    pb = rng.integers(0, c, (3, n))
    a = RunSet.from_arrays(y, pa, seeds=[0, 1, 2], num_classes=c)
    b = RunSet.from_arrays(y, pb, seeds=[1, 2, 7], num_classes=c)  # common seeds: 1 and 2
    by_seed = disagreement(a, b)
    assert by_seed.n_pairs == 2 and by_seed.pairs == ((1, 1), (2, 2))
    ref = (brute_force_matrix(pa[1], pb[0], c) + brute_force_matrix(pa[2], pb[1], c)) / 2
    np.testing.assert_allclose(by_seed.matrix, ref)
    rates = [np.mean(pa[1] != pb[0]), np.mean(pa[2] != pb[1])]
    assert by_seed.rate_mean == pytest.approx(np.mean(rates))
    assert by_seed.rate_std == pytest.approx(np.std(rates, ddof=1))

    every = disagreement(a, b, pairing="all")
    assert every.n_pairs == 9 and every.pairing == "all"
    ref = sum(brute_force_matrix(pa[i], pb[j], c) for i in range(3) for j in range(3)) / 9
    np.testing.assert_allclose(every.matrix, ref)
    per_class = np.mean(
        [
            [np.mean(pa[i][y == k] != pb[j][y == k]) for k in range(c)]
            for i in range(3)
            for j in range(3)
        ],
        axis=0,
    )
    np.testing.assert_allclose(every.per_class_rate, per_class, rtol=1e-12)
    np.testing.assert_allclose(
        every.rates, [np.mean(pa[i] != pb[j]) for i in range(3) for j in range(3)]
    )


def test_no_common_seed_suggests_pairing_all():
    y = [0, 1, 1]
    a = RunSet.from_arrays(y, [[0, 1, 1], [0, 0, 1]], seeds=[0, 1], path="runs/teacher")
    b = RunSet.from_arrays(y, [[0, 1, 0], [1, 1, 1]], seeds=[5, 6], path="runs/ds")
    with pytest.raises(KDAuditError, match=r"no seed in common; use pairing='all'") as info:
        disagreement(a, b)
    assert "runs/teacher" in str(info.value) and "\n" not in str(info.value)
    assert disagreement(a, b, pairing="all").n_pairs == 4
    with pytest.raises(KDAuditError, match="pairing"):
        disagreement(a, b, pairing="best")  # type: ignore[arg-type]


def test_different_test_sets_or_classes_are_errors():
    a = RunSet.from_arrays([0, 1, 1], [[0, 1, 1]], path="a")
    with pytest.raises(KDAuditError, match="label of sample_id 2"):
        disagreement(a, RunSet.from_arrays([0, 1, 0], [[0, 1, 1]], path="b"))
    with pytest.raises(KDAuditError, match="classes"):
        disagreement(a, RunSet.from_arrays([0, 1, 1], [[0, 1, 2]], num_classes=3, path="b"))


def test_empty_class_per_class_rate_is_nan():
    a = RunSet.from_arrays([0, 0, 2], [[0, 1, 2]], num_classes=3)
    b = RunSet.from_arrays([0, 0, 2], [[0, 0, 2]], num_classes=3)
    with pytest.warns(DegenerateDataWarning, match="no test samples"):
        res = disagreement(a, b)
    assert np.isnan(res.per_class_rate[1])
    np.testing.assert_allclose(res.per_class_rate[[0, 2]], [0.5, 0.0])


def test_frames_and_dict():
    y = [0, 1, 2, 0, 1]
    a = RunSet.from_arrays(
        y,
        [[0, 1, 2, 1, 1], [0, 1, 2, 0, 1]],
        num_classes=3,
        metadata={"class_names": ["cat", "dog", "fox"]},
    )
    b = RunSet.from_arrays(y, [[0, 2, 2, 0, 0], [0, 1, 2, 0, 0]], num_classes=3)
    res = disagreement(a, b)
    frame = res.to_frame()
    assert list(frame["name"]) == ["cat", "dog", "fox"]
    np.testing.assert_allclose(frame["a_pred_disagreeing"], res.matrix.sum(1))
    pairs = res.top_pairs_frame(2)
    assert pairs.iloc[0]["a_name"] == "dog" and pairs.iloc[0]["b_name"] == "cat"
    assert pairs.iloc[0]["mean_count"] == pytest.approx(1.5)  # (2 + 1) / 2
    d = res.to_dict()
    assert set(d) == {"pairing", "n_pairs", "rate", "matrix", "per_class_rate"}
    assert set(d["rate"]) == {"mean", "std"}
    assert len(d["matrix"]) == 3 and len(d["matrix"][0]) == 3
    assert "Disagreement" in res._repr_html_()


def test_from_files_equals_from_arrays(tmp_path):
    rng = np.random.default_rng(1)
    c, n = 5, 80
    y = rng.integers(0, c, n)
    preds = {side: rng.integers(0, c, (2, n)) for side in "ab"}
    for side in "ab":
        for s in range(2):
            # logits for A so the reader's argmax path is used; plain predictions for B
            if side == "a":
                logits = rng.normal(size=(n, c)).astype(np.float32)
                logits[np.arange(n), preds[side][s]] += 10
                write_predictions(
                    tmp_path / side / f"seed{s}.parquet", y_true=y, logits=logits, seed=s
                )
            else:
                write_predictions(
                    tmp_path / side / f"seed{s}.parquet",
                    y_true=y,
                    y_pred=preds[side][s],
                    seed=s,
                    num_classes=c,
                )
    a, b = load_runsets([tmp_path / "a", tmp_path / "b"])
    from_files = disagreement(a, b)
    from_arrays = disagreement(
        RunSet.from_arrays(y, preds["a"], num_classes=c),
        RunSet.from_arrays(y, preds["b"], num_classes=c),
    )
    np.testing.assert_array_equal(from_files.matrix, from_arrays.matrix)
    assert from_files.rate_mean == from_arrays.rate_mean


def test_teacher_vs_nds_next_to_teacher_vs_ds():
    """Figure 2 of the paper: two plain results over the same classes, side by side."""
    rng = np.random.default_rng(2)
    y = rng.integers(0, 4, 200)
    teacher = RunSet.from_arrays(
        y, np.where(rng.random((3, 200)) < 0.9, y, (y + 1) % 4), num_classes=4
    )
    nds = RunSet.from_arrays(y, np.where(rng.random((3, 200)) < 0.7, y, (y + 2) % 4), num_classes=4)
    ds = RunSet.from_arrays(y, np.where(rng.random((3, 200)) < 0.85, y, (y + 1) % 4), num_classes=4)
    t_nds, t_ds = disagreement(teacher, nds), disagreement(teacher, ds)
    assert t_nds.matrix.shape == t_ds.matrix.shape == (4, 4)
    assert t_ds.rate_mean < t_nds.rate_mean  # the distilled student agrees more with its teacher


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    c=st.integers(2, 6),
    n=st.integers(1, 50),
    pairing=st.sampled_from(["seed", "all"]),
)
def test_matrix_invariants(seed, c, n, pairing):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    a = RunSet.from_arrays(y, rng.integers(0, c, (2, n)), num_classes=c)
    b = RunSet.from_arrays(y, rng.integers(0, c, (3, n)), num_classes=c)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateDataWarning)
        res = disagreement(a, b, pairing=pairing)
    assert np.all(np.diag(res.matrix) == 0)
    assert res.matrix.sum() / n == pytest.approx(res.rate_mean, abs=1e-12)
    assert 0 <= res.rate_mean <= 1
    present = np.bincount(y, minlength=c) > 0
    weights = np.bincount(y, minlength=c)[present] / n
    assert np.sum(res.per_class_rate[present] * weights) == pytest.approx(res.rate_mean, abs=1e-12)


def test_too_many_classes_to_densify_is_a_clear_error():
    from kdbias_audit.stats.disagreement import MAX_MATRIX_CLASSES

    c = MAX_MATRIX_CLASSES + 1
    a = RunSet.from_arrays([0, c - 1], [[0, 1]], num_classes=c)
    b = RunSet.from_arrays([0, c - 1], [[0, 2]], num_classes=c)
    with pytest.warns(DegenerateDataWarning, match="no test samples"):
        res = disagreement(a, b)  # sparse cells: any class count works
    assert res.top_pairs() == [(1, 2, 1.0)]
    with pytest.raises(KDAuditError, match="at most 10000 classes"):
        res.matrix  # noqa: B018 - densifying is what is refused
