"""polars interop (the ``polars`` extra): results as polars frames, polars inputs accepted."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from _sweepgen import make_sweep

from kdbias_audit import (
    RunSet,
    analyze_sweep,
    compare,
    demographic_parity_difference,
    equalized_odds_difference,
    fairness_audit,
    group_counts,
    read_predictions,
    seed_accuracies,
    validate_paths,
    welch_classwise,
    write_predictions,
)
from kdbias_audit.errors import KDAuditError

pl = pytest.importorskip("polars")


def _runsets():
    rng = np.random.default_rng(3)
    n, c = 600, 4
    y = np.repeat(np.arange(c), n // c)
    groups = {"young": np.where(rng.random(n) < 0.5, "young", "old")}

    def preds(acc):
        return np.where(rng.random((3, n)) < acc, y, rng.integers(0, c, (3, n)))

    a = RunSet.from_arrays(y, preds(0.8), groups=groups, name="A")
    b = RunSet.from_arrays(y, preds(0.7), groups=groups, name="B")
    return a, b


def _plain(values):
    """Column values as Python objects, missing values (None, NaN, null) as None."""
    out = []
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
            out.append(None)
        elif isinstance(v, np.generic):
            out.append(v.item())
        else:
            out.append(v)
    return out


def assert_same_frame(polars_frame, pandas_frame):
    assert isinstance(polars_frame, pl.DataFrame)
    assert isinstance(pandas_frame, pd.DataFrame)
    assert polars_frame.columns == [str(c) for c in pandas_frame.columns]
    assert polars_frame.height == len(pandas_frame)
    for col in pandas_frame.columns:
        got, want = _plain(polars_frame[str(col)].to_list()), _plain(pandas_frame[col].tolist())
        assert (
            got == pytest.approx(want, nan_ok=True)
            if all(isinstance(x, (int, float)) for x in want if x is not None)
            else got == want
        ), col


def test_every_result_frame_has_a_polars_backend(tmp_path):
    a, b = _runsets()
    res = compare(a, b, permutations=10)
    audit = fairness_audit(b)
    sa, sb = (seed_accuracies(r.label, r.preds, r.num_classes) for r in (a, b))
    results = [
        res,
        res.classwise,
        sa,
        welch_classwise(sa.relative_accuracy, sb.relative_accuracy),
        group_counts(a.label, a.preds[0], a.group_codes("young"), 2),
        res.disagreement,
        audit,
        res.fairness,
        analyze_sweep(make_sweep(tmp_path / "sw", temperatures=(2.0,)), permutations=5),
        validate_paths([make_sweep(tmp_path / "sw2", temperatures=(2.0,)) / "teacher"]),
    ]
    for result in results:
        assert_same_frame(result.to_frame(backend="polars"), result.to_frame())
        assert result.to_frame(backend="pandas").equals(result.to_frame())
    with pytest.raises(KDAuditError, match="backend must be 'pandas' or 'polars'"):
        res.to_frame(backend="arrow")


def test_fairness_metrics_accept_polars_series_and_frames():
    from fairlearn.metrics import (
        demographic_parity_difference as fl_dpd,
    )
    from fairlearn.metrics import (
        equalized_odds_difference as fl_eod,
    )

    rng = np.random.default_rng(0)
    n = 500
    y, p = rng.integers(0, 2, n), rng.integers(0, 2, n)
    g, h = np.where(rng.random(n) < 0.4, "a", "b"), rng.integers(0, 3, n)
    for fn, oracle in (
        (demographic_parity_difference, fl_dpd),
        (equalized_odds_difference, fl_eod),
    ):
        ref = oracle(y, p, sensitive_features=pd.DataFrame({"g": g, "h": h}))
        got = fn(
            pl.Series("y", y),
            pl.Series("p", p),
            sensitive_features=pl.DataFrame({"g": g, "h": h}),
        )
        assert got == pytest.approx(ref, abs=1e-12)
        one = fn(pl.Series(y), pl.Series(p), sensitive_features=pl.Series("g", g))
        assert one == pytest.approx(oracle(y, p, sensitive_features=g), abs=1e-12)


def test_write_predictions_accepts_polars_columns_and_frames(tmp_path):
    rng = np.random.default_rng(1)
    n, c = 300, 5
    y = rng.integers(0, c, n)
    z = rng.standard_normal((n, c)).astype(np.float32)
    g = pl.DataFrame({"color": rng.integers(0, 3, n), "young": rng.random(n) < 0.5})
    f = write_predictions(
        tmp_path / "s0.parquet",
        y_true=pl.Series("y", y),
        logits=pl.DataFrame(z),
        sample_id=pl.Series(np.arange(n) * 2),
        groups=g,
        seed=0,
    )
    run = read_predictions(f)
    np.testing.assert_array_equal(run.label, y)
    np.testing.assert_array_equal(run.pred, z.argmax(axis=1))
    np.testing.assert_array_equal(run.sample_id, np.arange(n) * 2)
    assert set(run.groups) == {"color", "young"}
    np.testing.assert_array_equal(
        np.asarray(run.group_levels["color"], dtype=object)[run.groups["color"]],
        g["color"].cast(pl.String).to_numpy(),
    )
    f2 = write_predictions(
        tmp_path / "s1.parquet",
        y_true=y,
        y_pred=pl.Series(y),
        num_classes=c,
        groups=g.to_pandas(),
        seed=1,
    )
    np.testing.assert_array_equal(read_predictions(f2).pred, y)
