"""JSON rendering: NaN/inf become null everywhere, numpy values become plain JSON values."""

import json
import math

import numpy as np

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
