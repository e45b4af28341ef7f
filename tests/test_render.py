"""Rendering: the one NaN rule of JSON, and the one renderer (every result, every format)."""

import html
import io
import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from kdbias_audit import (
    InvalidArgumentError,
    RunSet,
    compare,
    compare_fairness,
    fairness_audit,
    render_result,
)
from kdbias_audit.render.cells import cell, pm
from kdbias_audit.render.formats import jsonable, latex_escape, to_json
from kdbias_audit.render.views import document


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


# --------------------------------------------------------------------------------------------
# the one renderer: every result, every format


def _pair():
    rng = np.random.default_rng(5)
    y = np.repeat(np.arange(3), 40)
    groups = {"young": rng.integers(0, 2, y.size).astype(bool)}
    names = ["a<b>", "bee", "c&d"]

    def runs(p):
        return np.where(rng.random((3, y.size)) < p, y, (y + 1) % 3)

    a = RunSet.from_arrays(
        y, runs(0.8), groups=groups, name="A_<x>", metadata={"class_names": names}
    )
    b = RunSet.from_arrays(y, runs(0.7), groups=groups, name="B", metadata={"class_names": names})
    return a, b


@pytest.fixture(scope="module")
def results():
    a, b = _pair()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "audit": fairness_audit(a),
            "fair": compare_fairness(a, b),
            "cmp": compare(a, b, permutations=10),
        }


@pytest.mark.parametrize("key", ["audit", "fair", "cmp"])
@pytest.mark.parametrize("fmt", ["table", "json", "csv", "markdown", "latex", "html"])
def test_every_result_renders_in_every_format(results, key, fmt):
    result = results[key]
    text = render_result(result, fmt)
    doc = document(result)
    if fmt == "json":
        assert json.loads(text) == json.loads(json.dumps(result.to_dict()))
    elif fmt == "csv":
        pd.testing.assert_frame_equal(pd.read_csv(io.StringIO(text)), doc.data, check_dtype=False)
    else:
        for table in doc.files if fmt in ("markdown", "latex") else doc.tables:
            title = latex_escape(table.title) if fmt == "latex" else table.title
            if fmt == "html":
                title = html.escape(title)
            assert title in text, (fmt, table.title)


def test_notebook_html_is_the_renderers_html_and_escapes(results):
    for result in results.values():
        page = result._repr_html_()
        assert page == render_result(result, "html")
        assert "<b>" not in page.replace("<p><b>", "")  # class name 'a<b>' is escaped
    assert "A_&lt;x&gt;" in results["fair"]._repr_html_()


def test_cells_one_rule():
    assert pm(0.5, 0.01) == "50.00 ± 1.00" and pm(0.5, float("nan")) == "50.00"
    assert pm(float("nan"), 0.1) == "nan" and pm(None, None) == "nan"
    assert cell(float("inf")) == "" and cell(pd.NA) == "" and cell(np.float32(0.25)) == "0.25"
    assert latex_escape("12 ± 3, p ≤ 0.05, α") == r"12 $\pm$ 3, p $\le$ 0.05, $\alpha$"


def test_unknown_format_and_unknown_result_are_argument_errors(results):
    with pytest.raises(InvalidArgumentError, match="unknown format 'xml'"):
        render_result(results["audit"], "xml")
    with pytest.raises(InvalidArgumentError, match="cannot render a dict"):
        render_result({}, "json")


def test_a_format_builds_only_what_it_shows(results):
    """CSV never builds the JSON (a 10,000-class comparison's (C, C) matrix as lists), and JSON
    never builds the display tables."""
    import dataclasses

    from kdbias_audit.render.document import render_document

    def boom():
        raise AssertionError("built although the format does not show it")

    doc = document(results["cmp"])
    assert render_document(dataclasses.replace(doc, make_json=boom), "csv")
    assert render_document(
        dataclasses.replace(doc, make_tables=boom, make_file_tables=boom, make_data=boom), "json"
    )
