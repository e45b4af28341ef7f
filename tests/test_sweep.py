"""Sweep discovery and analysis: numbers checked against scipy / fairlearn / numpy computed here,
from the Parquet files read with plain pyarrow; every ambiguity is a clear error."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from _sweepgen import PLANTED, SEEDS, make_sweep
from scipy import stats

from kdbias_audit.errors import KDAuditError, PredictionFileError
from kdbias_audit.io import write_predictions
from kdbias_audit.sweep import SweepResult, analyze_sweep, discover_sweep, find_runset_dirs

ALPHA = 0.05
NAMES = ["airplane", "bird", "<script>alert(1)</script>", "deer", "dog", "frog"]
TEMPS = (2.0, 10.0, 4.0)  # lexical order of the directories differs from numeric order


@pytest.fixture(scope="module")
def sweep_root(tmp_path_factory) -> Path:
    return make_sweep(
        tmp_path_factory.mktemp("sweep") / "cifar", temperatures=TEMPS, class_names=NAMES
    )


@pytest.fixture(scope="module")
def result(sweep_root) -> SweepResult:
    return analyze_sweep(sweep_root, alpha=ALPHA)


# --------------------------------------------------------------------------------------------
# independent reference computations (pyarrow + numpy + scipy + fairlearn)


def raw_runset(directory: Path) -> list[dict]:
    runs = []
    for f in sorted(directory.glob("*.parquet")):
        table = pq.read_table(f)
        meta = json.loads(table.schema.metadata[b"kdbias_audit"])
        df = table.to_pandas().sort_values("sample_id", kind="stable")
        runs.append({"seed": meta["seed"], "df": df, "meta": meta})
    return sorted(runs, key=lambda r: r["seed"])


def ref_accuracy(runs) -> np.ndarray:
    return np.array(
        [np.mean(r["df"]["pred"].to_numpy() == r["df"]["label"].to_numpy()) for r in runs]
    )


def ref_relative(runs, c: int) -> np.ndarray:
    out = np.empty((len(runs), c))
    for i, r in enumerate(runs):
        y, p = r["df"]["label"].to_numpy(), r["df"]["pred"].to_numpy()
        acc = np.mean(y == p)
        for k in range(c):
            out[i, k] = np.mean(p[y == k] == k) / acc
    return out


def ref_count(rel_a: np.ndarray, rel_b: np.ndarray, alpha: float = ALPHA) -> tuple[int, int]:
    pvals = np.array(
        [
            stats.ttest_ind(rel_b[:, k], rel_a[:, k], equal_var=False).pvalue
            for k in range(rel_a.shape[1])
        ]
    )
    q = stats.false_discovery_control(pvals)
    return int(np.sum(pvals <= alpha)), int(np.sum(q <= alpha))


def ref_count_pvalue(rel_a: np.ndarray, rel_b: np.ndarray, observed: int) -> float:
    pool = np.vstack([rel_a, rel_b])
    n, na = len(pool), len(rel_a)
    counts = []
    for idx in itertools.combinations(range(n), na):
        mask = np.zeros(n, bool)
        mask[list(idx)] = True
        counts.append(ref_count(pool[mask], pool[~mask])[0])
    return float(np.mean(np.array(counts) >= observed))


def ref_fairness(runs, attr: str, c: int) -> dict[str, tuple[float, float]]:
    from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference

    per_seed = {"dpd": [], "eod": []}
    for r in runs:
        y, p = r["df"]["label"].to_numpy(), r["df"]["pred"].to_numpy()
        g = r["df"][f"group.{attr}"].to_numpy()
        dpd = [
            demographic_parity_difference(y == k, p == k, sensitive_features=g) for k in range(c)
        ]
        eod = [equalized_odds_difference(y == k, p == k, sensitive_features=g) for k in range(c)]
        per_seed["dpd"].append(np.mean(dpd))
        per_seed["eod"].append(np.mean(eod))
    return {m: (float(np.mean(v)), float(np.std(v, ddof=1))) for m, v in per_seed.items()}


# --------------------------------------------------------------------------------------------
# discovery and structure


def test_roles_and_temperatures_come_from_metadata(result, sweep_root):
    assert result.teacher.name == "teacher" and result.teacher.role == "teacher"
    assert result.baseline.name == "nds" and result.baseline.role == "baseline"
    assert [r.temperature for r in result.distilled] == [2.0, 4.0, 10.0]
    assert [r.name for r in result.distilled] == ["ds_T2", "ds_T4", "ds_T10"]
    assert all(r.role == "distilled" for r in result.distilled)
    assert result.teacher.temperature is None and result.baseline.temperature is None
    assert [r.seeds for r in result.rows] == [list(SEEDS)] * 5
    assert result.class_labels() == NAMES
    assert result.dataset == "synthetic"
    assert result.attributes == ("color", "young")
    assert result.num_classes == 6 and result.n_samples == 6 * 300


def test_every_runset_is_loaded_once_and_aligned(result):
    ids = [r.runset.sample_id for r in result.rows]
    assert all(np.array_equal(ids[0], i) for i in ids[1:])
    assert len({id(r.runset) for r in result.rows}) == 5


def test_find_runset_dirs_is_recursive_and_skips_hidden(tmp_path):
    y = np.array([0, 1, 0, 1])
    for d in ("a/x", "b", ".hidden/y"):
        write_predictions(tmp_path / d / "seed0.parquet", y_true=y, y_pred=y, seed=0, num_classes=2)
    assert find_runset_dirs(tmp_path) == [tmp_path / "a" / "x", tmp_path / "b"]


# --------------------------------------------------------------------------------------------
# numbers against independent references


def test_accuracy_matches_numpy(result, sweep_root):
    for r in result.rows:
        ref = ref_accuracy(raw_runset(sweep_root / r.name))
        np.testing.assert_allclose(r.accuracy, ref, rtol=0, atol=1e-15)
        mean, std = r.accuracy_mean_std()
        assert mean == pytest.approx(ref.mean(), abs=1e-15)
        assert std == pytest.approx(ref.std(ddof=1), abs=1e-15)


def test_sc_and_tc_match_scipy_welch_loop(result, sweep_root):
    c = result.num_classes
    rel_t = ref_relative(raw_runset(sweep_root / "teacher"), c)
    rel_n = ref_relative(raw_runset(sweep_root / "nds"), c)
    for r in result.distilled:
        rel_d = ref_relative(raw_runset(sweep_root / r.name), c)
        n_sc, n_sc_fdr = ref_count(rel_n, rel_d)
        n_tc, n_tc_fdr = ref_count(rel_t, rel_d)
        assert r.vs_baseline.n_significant == n_sc, r.name
        assert r.vs_teacher.n_significant == n_tc, r.name
        assert r.vs_baseline.n_significant_fdr == n_sc_fdr, r.name
        assert r.vs_teacher.n_significant_fdr == n_tc_fdr, r.name
        assert r.vs_baseline.count_pvalue == pytest.approx(
            ref_count_pvalue(rel_n, rel_d, n_sc), abs=1e-12
        )
        assert r.vs_teacher.count_pvalue == pytest.approx(
            ref_count_pvalue(rel_t, rel_d, n_tc), abs=1e-12
        )


def test_planted_classes_are_found(result):
    hottest = result.distilled[-1]  # T = 10: largest planted effect
    sig = set(np.flatnonzero(hottest.vs_baseline.significant).tolist())
    assert set(PLANTED) <= sig
    assert all(hottest.vs_baseline.delta[c] > 0 for c in PLANTED)


@pytest.mark.parametrize(
    ("row", "attr"), [("nds", "young"), ("ds_T10", "young"), ("teacher", "color")]
)
def test_fairness_matches_fairlearn_one_vs_rest(result, sweep_root, row, attr):
    # fairlearn is slow per call (about 60 ms), so three (run set, attribute) pairs are checked
    r = next(x for x in result.rows if x.name == row)
    ref = ref_fairness(raw_runset(sweep_root / r.name), attr, result.num_classes)
    for metric in ("dpd", "eod"):
        mean, std = r.fairness_mean_std(attr, metric)
        assert mean == pytest.approx(ref[metric][0], abs=1e-12), metric
        assert std == pytest.approx(ref[metric][1], abs=1e-12), metric


def test_disagreement_teacher_vs_students_matches_brute_force(result, sweep_root):
    t = raw_runset(sweep_root / "teacher")
    for r in result.rows[1:]:
        s = raw_runset(sweep_root / r.name)
        mats = []
        for a, b in zip(t, s, strict=False):
            pa, pb = a["df"]["pred"].to_numpy(), b["df"]["pred"].to_numpy()
            m = np.zeros((6, 6))
            for i, j in zip(pa, pb, strict=False):
                if i != j:
                    m[i, j] += 1
            mats.append(m)
        np.testing.assert_allclose(r.disagreement.matrix, np.mean(mats, axis=0))
    assert result.teacher.disagreement is None


def test_frames_and_dict_agree(result):
    frame = result.class_bias_frame()
    assert list(frame["name"]) == ["teacher", "nds", "ds_T2", "ds_T4", "ds_T10"]
    d = result.to_dict()["rows"]
    for row, rec in zip(frame.itertuples(), d, strict=False):
        assert row.name == rec["name"]
        assert row.accuracy_mean == pytest.approx(rec["accuracy"]["mean"])
        if rec["n_sc"] is None:
            assert pd.isna(row.n_sc)
        else:
            assert int(row.n_sc) == rec["n_sc"]
    fair = result.fairness_frame()
    assert {"young_eod_mean", "young_dpd_std", "color_dpd_mean"} <= set(fair.columns)
    assert result.to_frame().equals(frame)


def test_no_group_columns_means_no_fairness(tmp_path):
    root = make_sweep(tmp_path / "s", temperatures=(2.0, 3.0), with_groups=False)
    res = analyze_sweep(root)
    assert res.attributes == ()
    assert all(row["fairness"] == {} for row in res.to_dict()["rows"])
    assert all(r.fairness is None for r in res.rows)


def test_binary_sweep_fairness_matches_fairlearn(tmp_path):
    from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference

    root = make_sweep(tmp_path / "s", temperatures=(1.0, 5.0), num_classes=2, per_class=400)
    res = analyze_sweep(root)
    for r in (res.teacher, res.distilled[-1]):
        runs = raw_runset(root / r.name)
        for metric, fn in (
            ("dpd", demographic_parity_difference),
            ("eod", equalized_odds_difference),
        ):
            vals = [
                fn(
                    x["df"]["label"].to_numpy(),
                    x["df"]["pred"].to_numpy(),
                    sensitive_features=x["df"]["group.young"].to_numpy(),
                )
                for x in runs
            ]
            mean, std = r.fairness_mean_std("young", metric)
            assert mean == pytest.approx(np.mean(vals), abs=1e-12)
            assert std == pytest.approx(np.std(vals, ddof=1), abs=1e-12)
    assert r.fairness.to_dict()["young"]["mode"] == "binary"


def test_students_without_the_teachers_seeds_pair_all_runs(tmp_path):
    root = tmp_path / "s"
    tiny(root / "t", role="teacher", seeds=(10, 11))
    tiny(root / "n", role="baseline")
    tiny(root / "d", role="distilled", temperature=2)
    res = analyze_sweep(root)
    assert res.distilled[0].disagreement.pairing == "all"
    assert res.distilled[0].disagreement.n_pairs == 4


def test_alpha_blocks(tmp_path):
    root = make_sweep(
        tmp_path / "s", temperatures=(2.0, 4.0), kd_alphas=(0.8, 0.6), with_groups=False
    )
    res = analyze_sweep(root)
    assert res.kd_alphas == [0.6, 0.8]
    blocks = res.blocks()
    assert [a for a, _ in blocks] == [0.6, 0.8]
    for a, rows in blocks:
        assert [r.role for r in rows] == ["teacher", "baseline", "distilled", "distilled"]
        assert [r.temperature for r in rows[2:]] == [2.0, 4.0]
        assert all(r.kd_alpha == a for r in rows[2:])
    frame = res.class_bias_frame()
    assert len(frame) == 8
    assert list(frame["kd_alpha"]) == [0.6] * 4 + [0.8] * 4
    assert len(res.to_dict()["rows"]) == 6  # teacher and NDS once


def test_permutations_option_is_passed_through(sweep_root):
    res = analyze_sweep(sweep_root, permutations=0)
    assert all(np.isnan(r.vs_baseline.count_pvalue) for r in res.distilled)
    res = analyze_sweep(sweep_root, permutations=5)
    assert all(r.vs_baseline.n_permutations == 5 for r in res.distilled)


def test_jobs_give_the_same_result(sweep_root, result):
    res = analyze_sweep(sweep_root, jobs=2)
    assert res.to_dict() == result.to_dict()


# --------------------------------------------------------------------------------------------
# ambiguity and bad input


def tiny(directory: Path, *, seeds=(0, 1), nc: int = 3, y=None, **meta) -> Path:
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1]) if y is None else y
    rng = np.random.default_rng(len(str(directory)))
    for s in seeds:
        pred = np.where(rng.random(y.size) < 0.7, y, (y + 1) % nc)
        write_predictions(
            directory / f"seed{s}.parquet",
            y_true=y,
            y_pred=pred,
            seed=s,
            num_classes=nc,
            metadata={k: v for k, v in meta.items() if v is not None},
        )
    return directory


@pytest.fixture
def small(tmp_path) -> Path:
    root = tmp_path / "sw"
    tiny(root / "t", role="teacher", dataset="d")
    tiny(root / "n", role="baseline", dataset="d")
    tiny(root / "ds2", role="distilled", temperature=2, dataset="d")
    tiny(root / "ds4", role="distilled", temperature=4, dataset="d")
    return root


def test_small_sweep_is_valid(small):
    plan = discover_sweep(small)
    assert plan.teacher.path == small / "t" and plan.baseline.path == small / "n"
    assert [e.temperature for e in plan.distilled] == [2.0, 4.0]
    assert analyze_sweep(small).distilled[0].vs_baseline is not None


def test_two_teachers_is_an_error_naming_both(small):
    tiny(small / "t2", role="teacher", dataset="d")
    with pytest.raises(KDAuditError, match=r"2 teacher run sets .*t, .*t2.*teacher=DIR"):
        discover_sweep(small)


def test_teacher_override_picks_one_and_skips_the_other(small):
    tiny(small / "t2", role="teacher", dataset="d")
    plan = discover_sweep(small, teacher=small / "t2")
    assert plan.teacher.path == small / "t2" and plan.teacher.role_source == "override"
    assert [p for p, _ in plan.skipped] == [small / "t"]
    res = analyze_sweep(small, teacher=small / "t2")
    assert res.teacher.name == "t2" and len(res.rows) == 4
    assert res.skipped[0][0] == small / "t"


def test_override_outside_root_and_without_role(tmp_path, small):
    outside = tiny(tmp_path / "elsewhere" / "nds", dataset="d")  # no role at all
    (small / "n").rename(tmp_path / "moved")
    plan = discover_sweep(small, baseline=outside)
    assert plan.baseline.path == outside and plan.baseline.role == "baseline"


def test_missing_teacher_or_baseline(small):
    import shutil

    shutil.rmtree(small / "n")
    with pytest.raises(KDAuditError, match=r"no baseline run set found .*baseline=DIR"):
        discover_sweep(small)
    tiny(small / "n", role="baseline", dataset="d")
    shutil.rmtree(small / "t")
    with pytest.raises(KDAuditError, match=r"no teacher run set found"):
        discover_sweep(small)


def test_distilled_without_temperature(small):
    tiny(small / "dsx", role="distilled", dataset="d")
    with pytest.raises(KDAuditError, match=r"dsx: distilled run set has no temperature"):
        discover_sweep(small)


def test_no_distilled(tmp_path):
    tiny(tmp_path / "t", role="teacher")
    tiny(tmp_path / "n", role="baseline")
    with pytest.raises(KDAuditError, match="no distilled run set"):
        discover_sweep(tmp_path)


def test_duplicate_temperature(small):
    tiny(small / "ds4b", role="distilled", temperature=4.0, dataset="d")
    with pytest.raises(KDAuditError, match=r"two distilled run sets at temperature 4"):
        discover_sweep(small)


def test_same_temperature_different_alpha_is_fine(small):
    tiny(small / "ds4b", role="distilled", temperature=4.0, alpha=0.6, dataset="d")
    plan = discover_sweep(small)
    assert [(e.kd_alpha, e.temperature) for e in plan.distilled] == [
        (None, 2.0),
        (None, 4.0),
        (0.6, 4.0),
    ]


def test_mixed_datasets(small):
    tiny(small / "ds8", role="distilled", temperature=8, dataset="other")
    with pytest.raises(KDAuditError, match=r"mixed datasets: .*ds8 is 'other' but .* is 'd'"):
        discover_sweep(small)


def test_unknown_role_and_no_role(small):
    tiny(small / "weird", role="ensemble", dataset="d")
    with pytest.raises(KDAuditError, match=r"weird: metadata role 'ensemble' is not one of"):
        discover_sweep(small)


def test_runset_without_role_or_temperature(small):
    tiny(small / "anon", dataset="d")
    with pytest.raises(KDAuditError, match=r"anon: no role in its metadata and no temperature"):
        discover_sweep(small)


def test_temperature_without_role_means_distilled(small):
    tiny(small / "ds8", temperature=8, dataset="d")
    assert [e.temperature for e in discover_sweep(small).distilled] == [2.0, 4.0, 8.0]


def test_seeds_disagreeing_on_temperature(small):
    write_predictions(
        small / "ds4" / "seed7.parquet",
        y_true=[0, 1, 2, 0, 1, 2, 0, 1],
        y_pred=[0, 1, 2, 0, 1, 2, 0, 1],
        seed=7,
        num_classes=3,
        metadata={"role": "distilled", "temperature": 5, "dataset": "d"},
    )
    with pytest.raises(
        PredictionFileError, match=r"seed7.parquet: metadata temperature=5 here but 4"
    ):
        discover_sweep(small)


def test_root_problems(tmp_path, small):
    with pytest.raises(KDAuditError, match="does not exist"):
        discover_sweep(tmp_path / "missing")
    f = small / "t" / "seed0.parquet"
    with pytest.raises(KDAuditError, match="is not a directory"):
        discover_sweep(f)
    with pytest.raises(KDAuditError, match="holds prediction files directly"):
        discover_sweep(small / "t")
    (tmp_path / "empty").mkdir()
    with pytest.raises(KDAuditError, match=r"contains no prediction files"):
        discover_sweep(tmp_path / "empty")


def test_same_dir_as_teacher_and_baseline(small):
    with pytest.raises(KDAuditError, match="both teacher= and baseline="):
        discover_sweep(small, teacher=small / "t", baseline=small / "t")


def test_override_must_be_a_runset_dir(small, tmp_path):
    with pytest.raises(KDAuditError, match="teacher=.*: must be a run-set directory"):
        discover_sweep(small, teacher=tmp_path / "nope")


def test_corrupt_file_is_named(small):
    (small / "ds4" / "seed1.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(
        PredictionFileError, match=r"ds4/seed1.parquet: not a readable Parquet file"
    ):
        discover_sweep(small)


def test_misaligned_runsets_are_rejected_by_io(small):
    import shutil

    shutil.rmtree(small / "ds4")
    tiny(
        small / "ds4",
        role="distilled",
        temperature=4,
        dataset="d",
        y=np.array([0, 1, 2, 0, 1, 2, 0, 2]),
    )
    with pytest.raises(PredictionFileError, match="label of sample_id 7"):
        analyze_sweep(small)


def test_bad_parameters(small):
    with pytest.raises(KDAuditError, match="alpha must be in"):
        analyze_sweep(small, alpha=1.5)
    with pytest.raises(KDAuditError, match="permutations"):
        analyze_sweep(small, permutations=-1)
    with pytest.raises(KDAuditError, match="jobs"):
        analyze_sweep(small, jobs=0)


def test_single_seed_runsets_are_a_clear_error(tmp_path):
    root = tmp_path / "s"
    tiny(root / "t", role="teacher", seeds=(0,))
    tiny(root / "n", role="baseline", seeds=(0,))
    tiny(root / "d", role="distilled", temperature=2, seeds=(0,))
    with pytest.raises(KDAuditError, match="at least 2"):
        analyze_sweep(root)


def test_random_state_reaches_every_count_test(sweep_root):
    """``analyze_sweep(random_state=...)`` seeds the random splits of each count's permutation
    test exactly as ``classwise_test`` does (it used to be fixed at 0)."""
    from kdbias_audit.defaults import DEFAULT_RANDOM_STATE
    from kdbias_audit.io import load_runsets
    from kdbias_audit.stats.classwise import classwise_test

    assert analyze_sweep.__kwdefaults__["random_state"] == DEFAULT_RANDOM_STATE
    res = analyze_sweep(sweep_root, permutations=15, random_state=7)
    row = res.distilled[0]
    nds, ds = load_runsets([res.baseline.runset.path, row.runset.path])
    ref = classwise_test(nds, ds, permutations=15, random_state=7)
    assert not ref.permutations_exact  # C(6, 3) = 20 splits > 15: random ones, seeded
    got = row.vs_baseline
    assert (got.count_pvalue, got.expected_false_positives) == (
        ref.count_pvalue,
        ref.expected_false_positives,
    )
