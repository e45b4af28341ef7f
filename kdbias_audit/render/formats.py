"""Frames to text: JSON with NaN as null, Markdown, LaTeX, CSV and rich tables.

Computation never happens here; these functions only turn finished frames into text, with the
cells worded by :mod:`.cells`. :mod:`.document` composes them into whole documents.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

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


def to_json(obj: Any, *, indent: int | None = 2) -> str:
    """Serialise ``obj`` as strict JSON (``NaN``/``inf`` become ``null``)."""
    return json.dumps(plain(obj), indent=indent, allow_nan=False) + "\n"


def frame_to_markdown(df: pd.DataFrame, *, float_format: str = ".4g") -> str:
    """GitHub-flavoured Markdown table (no extra dependency)."""
    header = [str(c) for c in df.columns]
    rows = [
        [cell(v, float_format).replace("|", "\\|") for v in row]
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
    """A ``rich.table.Table`` for terminal output (rich imported here, not at package import)."""
    import pandas as pd
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for col in df.columns:
        numeric = pd.api.types.is_numeric_dtype(df[col])
        table.add_column(str(col), justify="right" if numeric else "left", overflow="fold")
    for row in df.itertuples(index=False):
        table.add_row(*(cell(v, float_format) for v in row))
    return table
