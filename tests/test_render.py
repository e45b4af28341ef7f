"""JSON rendering: NaN/inf become null everywhere, numpy values become plain JSON values."""

import json
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from kdbias_audit.render.formats import jsonable, to_json


def test_nan_and_inf_become_null_in_small_and_large_containers():
    big = np.random.default_rng(0).random((100, 100))
    big[3, 4] = np.nan
    doc = {
        "a": float("nan"),
        "b": [1.0, float("inf")],
        "m": big,
        "l": big.tolist(),
        "t": (np.int64(3), np.bool_(True)),
    }
    out = json.loads(to_json(doc))
    assert out["a"] is None and out["b"] == [1.0, None] and out["t"] == [3, True]
    for key in ("m", "l"):
        assert out[key][3][4] is None and out[key][0][0] == big[0, 0]


def test_large_numeric_lists_keep_their_values_and_types():
    ints = [[1, 2, 3]] * 100
    floats = np.random.default_rng(1).random((80, 3)).tolist()
    assert jsonable(ints) == ints and isinstance(jsonable(ints)[0][0], int)
    assert jsonable(floats) == floats
    ragged = [[1.0, 2.0], [3.0]] * 50
    assert jsonable(ragged) == ragged
    mixed = [1.0] * 100 + ["x", None]
    assert jsonable(mixed)[-2:] == ["x", None]
    assert not any(
        isinstance(v, float) and math.isnan(v) for v in jsonable([1.0] * 99 + [float("nan")])
    )


def _reference(obj):
    return json.dumps(jsonable(obj), allow_nan=False) + "\n"


def test_compact_json_of_large_arrays_is_byte_identical_to_json_dumps():
    rng = np.random.default_rng(2)
    counts = rng.poisson(0.2, (120, 90)).astype(float) / 3  # mostly zeros, few distinct values
    counts[5, 7] = np.nan
    counts[6, 1] = -0.0
    counts[0, 2] = np.inf
    ints = rng.integers(-5, 5, (70, 70))
    doc = {
        "matrix": counts,
        "listed": counts.tolist(),
        "ints": ints,
        "vector": rng.random(5000),
        "small": rng.random((3, 3)),
        "flags": np.ones(5000, dtype=bool),
        "nested": {"m": ints.tolist(), "name": "x\u0000y", "nan": float("nan")},
    }
    assert to_json(doc, indent=None) == _reference(doc)
    assert to_json(doc, indent=2) == json.dumps(jsonable(doc), indent=2, allow_nan=False) + "\n"


@given(
    arrays(
        dtype=st.sampled_from([np.float64, np.int64, np.float32]),
        shape=st.tuples(st.integers(64, 80), st.integers(64, 70)),
    )
)
@settings(max_examples=25, deadline=None)
def test_compact_json_matches_json_dumps_for_any_numeric_matrix(arr):
    assert to_json({"m": arr}, indent=None) == _reference({"m": arr})
