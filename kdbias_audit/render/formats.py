"""Formatting helpers shared by every command: JSON with NaN as null, DataFrame -> text tables.

Computation never happens here; these functions only turn finished results into text.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pandas is imported by the functions that need it
    import pandas as pd


def jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays, tuples and NaN/inf floats into plain JSON values (NaN -> None)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        if len(obj) > 64 and isinstance(obj[0], (float, list)):
            # large numeric lists (a C x C matrix): one vectorised conversion instead of a walk
            try:
                arr = np.asarray(obj)
            except (TypeError, ValueError):  # ragged
                arr = None
            if arr is not None and (
                arr.dtype.kind in "biu" or (arr.dtype.kind == "f" and np.isfinite(arr).all())
            ):
                return arr.tolist()
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind in "biu" or (obj.dtype.kind == "f" and np.isfinite(obj).all()):
            return obj.tolist()  # fast path: already plain JSON values
        return jsonable(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return value if math.isfinite(value) else None
    return obj


def to_json(obj: Any, *, indent: int | None = 2) -> str:
    """Serialise ``obj`` as strict JSON (``NaN``/``inf`` become ``null``)."""
    return json.dumps(jsonable(obj), indent=indent, allow_nan=False) + "\n"


def _cell(value: Any, float_format: str) -> str:
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        return "" if not math.isfinite(float(value)) else format(float(value), float_format)
    return str(value)


def frame_to_markdown(df: pd.DataFrame, *, float_format: str = ".4g") -> str:
    """GitHub-flavoured Markdown table (no extra dependency)."""
    header = [str(c) for c in df.columns]
    rows = [
        [_cell(v, float_format).replace("|", "\\|") for v in row]
        for row in df.itertuples(index=False)
    ]
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
        lines.append(" & ".join(esc(_cell(v, float_format)) for v in row) + r" \\")
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


def frame_to_rich(df: pd.DataFrame, *, title: str | None = None, float_format: str = ".4g"):
    """A ``rich.table.Table`` for terminal output (rich imported here, not at package import)."""
    import pandas as pd
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for col in df.columns:
        numeric = pd.api.types.is_numeric_dtype(df[col])
        table.add_column(str(col), justify="right" if numeric else "left", overflow="fold")
    for row in df.itertuples(index=False):
        table.add_row(*(_cell(v, float_format) for v in row))
    return table


def pm(mean: float, std: float, *, scale: float = 100.0, digits: int = 2) -> str:
    """``"mean ± std"`` after scaling (percent by default); ``"nan"`` when the mean is undefined,
    ``"± nan"`` when the std is (a single seed)."""
    if mean is None or not math.isfinite(mean):
        return "nan"
    s = "nan" if std is None or not math.isfinite(std) else f"{std * scale:.{digits}f}"
    return f"{mean * scale:.{digits}f} ± {s}"
