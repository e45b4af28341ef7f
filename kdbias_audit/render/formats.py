"""Frames to text: JSON with NaN as null, Markdown, LaTeX, CSV and rich tables.

Computation never happens here; these functions only turn finished frames into text, with the
cells worded by :mod:`.cells`. :mod:`.document` composes them into whole documents.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ..plainjson import plain
from .cells import cell, pm

__all__ = [
    "jsonable",
    "to_json",
    "frame_to_markdown",
    "frame_to_latex",
    "frame_to_csv",
    "frame_to_rich",
    "latex_escape",
    "pm",  # from .cells, where every display cell is worded
]

if TYPE_CHECKING:  # pandas and rich are imported by the functions that need them
    import pandas as pd
    from rich.table import Table


#: The one NaN rule (NaN/inf -> None), kept under its former name here.
jsonable = plain


#: Numeric arrays with at least this many values are formatted by ``_array_json`` (compact JSON).
_FAST_ARRAY_SIZE = 4096


def _value_json(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return "null"
    return json.dumps(value)


def _array_json(arr: np.ndarray) -> str:
    """Compact JSON text of a 1-D or 2-D numeric array, identical to ``json.dumps(arr.tolist())``
    (NaN/inf as ``null``); each distinct value is formatted once, so a (1000, 1000) matrix of
    disagreement counts takes a few hundredths of a second instead of most of a second."""
    flat = arr.ravel()
    zero = flat == 0
    if arr.dtype.kind == "f":
        zero &= ~np.signbit(flat)  # -0.0 keeps its own spelling
    rest = flat[~zero]
    uniq, inverse = np.unique(rest, return_inverse=True, equal_nan=True)
    texts = np.empty(uniq.size + 1, dtype=object)
    texts[0] = _value_json(flat.dtype.type(0).item())
    texts[1:] = [_value_json(v) for v in uniq.tolist()]
    codes = np.zeros(flat.size, dtype=np.intp)
    codes[~zero] = inverse.reshape(-1) + 1
    cells = texts[codes].reshape(arr.shape)
    if arr.ndim == 1:
        return "[" + ", ".join(cells.tolist()) + "]"
    return "[" + ", ".join("[" + ", ".join(row) + "]" for row in cells.tolist()) + "]"


def _large_numeric(obj: Any) -> np.ndarray | None:
    """``obj`` as a 1-D/2-D int/float array when it is one with many values, else None."""
    if isinstance(obj, np.ndarray):
        arr = obj
    elif isinstance(obj, list) and obj and isinstance(obj[0], (float, int, list)):
        if len(obj) * (len(obj[0]) if isinstance(obj[0], list) else 1) < _FAST_ARRAY_SIZE:
            return None
        try:
            arr = np.asarray(obj)
        except (TypeError, ValueError):  # ragged or mixed
            return None
    else:
        return None
    if arr.ndim not in (1, 2) or arr.size < _FAST_ARRAY_SIZE or arr.dtype.kind not in "iuf":
        return None
    return arr


def to_json(obj: Any, *, indent: int | None = 2) -> str:
    """Serialise ``obj`` as strict JSON (``NaN``/``inf`` become ``null``).

    Compact output (``indent=None``) formats large numeric arrays (a (C, C) disagreement matrix)
    with numpy instead of value by value; the text is the same as ``json.dumps`` would write.
    """
    if indent is not None:
        return json.dumps(plain(obj), indent=indent, allow_nan=False) + "\n"
    token = f"\x00kdaudit-array-{id(obj):x}-"
    parts: list[str] = []

    def walk(o: Any) -> Any:
        if isinstance(o, dict):
            return {str(k): walk(v) for k, v in o.items()}
        arr = _large_numeric(o)
        if arr is not None:
            parts.append(_array_json(arr))
            return f"{token}{len(parts) - 1}"
        if isinstance(o, (list, tuple)):
            return [walk(v) for v in o]
        return plain(o)

    text = json.dumps(walk(obj), allow_nan=False)
    if parts:
        quoted = json.dumps(token)[:-1]  # the escaped token, opening quote included
        pieces = text.split(quoted)
        text = pieces[0] + "".join(
            parts[int(piece[: piece.index('"')])] + piece[piece.index('"') + 1 :]
            for piece in pieces[1:]
        )
    return text + "\n"


def frame_to_markdown(df: pd.DataFrame, *, float_format: str = ".4g") -> str:
    """GitHub-flavoured Markdown table (no extra dependency).

    Every header and cell stays in its cell: ``|`` is escaped and line breaks (a newline in a
    run-set or class name) become spaces, so a name can never split a row.
    """

    def md(text: str) -> str:
        return " ".join(text.replace("|", "\\|").splitlines())

    header = [md(str(c)) for c in df.columns]
    rows = [[md(cell(v, float_format)) for v in row] for row in df.itertuples(index=False)]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    # the symbols the display tables use, as LaTeX math (no unicode package needed)
    "±": r"$\pm$",
    "≤": r"$\le$",
    "α": r"$\alpha$",
    "Δ": r"$\Delta$",
    "×": r"$\times$",
}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def frame_to_latex(
    df: pd.DataFrame, *, float_format: str = ".2f", caption: str | None = None, escape: bool = True
) -> str:
    """A booktabs ``tabular`` (wrapped in ``table`` when a caption is given)."""
    import pandas as pd

    esc = latex_escape if escape else (lambda s: s)
    align = "".join("l" if not pd.api.types.is_numeric_dtype(df[c]) else "r" for c in df.columns)
    lines = [f"\\begin{{tabular}}{{{align}}}", "\\toprule"]
    lines.append(" & ".join(esc(str(c)) for c in df.columns) + r" \\")
    lines.append("\\midrule")
    for row in df.itertuples(index=False):
        lines.append(" & ".join(esc(cell(v, float_format)) for v in row) + r" \\")
    lines += ["\\bottomrule", "\\end{tabular}"]
    body = "\n".join(lines)
    if caption is not None:
        body = (
            "\\begin{table}[t]\n\\centering\n"
            + f"\\caption{{{esc(caption)}}}\n"
            + body
            + "\n\\end{table}"
        )
    return body + "\n"


def frame_to_csv(df: pd.DataFrame) -> str:
    return df.to_csv(index=False)


def frame_to_rich(
    df: pd.DataFrame, *, title: str | None = None, float_format: str = ".4g"
) -> Table:
    """A ``rich.table.Table`` for terminal output (rich imported here, not at package import).

    Every title, header and cell is a ``rich.text.Text``: names from prediction files are shown
    literally, never read as console markup (``[red]``, ``[/]``).
    """
    import pandas as pd
    from rich.table import Table
    from rich.text import Text

    table = Table(title=None if title is None else Text(str(title)), show_lines=False)
    for col in df.columns:
        numeric = pd.api.types.is_numeric_dtype(df[col])
        table.add_column(Text(str(col)), justify="right" if numeric else "left", overflow="fold")
    for row in df.itertuples(index=False):
        table.add_row(*(Text(cell(v, float_format)) for v in row))
    return table
