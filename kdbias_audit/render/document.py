"""The one renderer: a result's :class:`Document` as table, Markdown, LaTeX, CSV, JSON or HTML.

A :class:`Document` is what a result shows, independent of the format: titled display tables
(cells already worded, e.g. ``"12.34 ± 0.56"``), the numeric frame that CSV writes, and the
JSON object (the result's ``to_dict()``). :mod:`.views` builds the document of each result
type; the commands, the notebook ``_repr_html_`` methods and the HTML report all render
through this module, so a table looks the same everywhere.
"""

from __future__ import annotations

import functools
import html
import io
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ..errors import InvalidArgumentError
from .cells import cell
from .formats import frame_to_csv, frame_to_latex, frame_to_markdown, frame_to_rich, to_json

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "Format",
    "FORMATS",
    "Table",
    "Document",
    "render_document",
    "rich_tables",
    "html_table",
]

Format = Literal["table", "json", "csv", "markdown", "latex", "html"]
FORMATS: tuple[str, ...] = ("table", "json", "csv", "markdown", "latex", "html")


@dataclass(frozen=True, eq=False)
class Table:
    """One titled display table; ``left``: columns aligned left in HTML (non-numeric ones are)."""

    title: str
    frame: pd.DataFrame
    left: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class Document:
    """What a result shows, in every format. Each part is built only when a format needs it
    (the CSV of a 10,000-class comparison never builds its ``(C, C)`` JSON matrix).

    Attributes
    ----------
    title
        A heading above the tables (Markdown ``#``, HTML ``h4``, a line in the terminal);
        ``None`` for none.
    make_tables
        Builds the display tables of the terminal and HTML (:attr:`tables`).
    make_data
        Builds the numeric frame CSV writes (:attr:`data`; fractions, one column per quantity).
    make_json
        Builds the JSON object (:attr:`json`; plain values, the most complete format).
    make_file_tables
        Builds the display tables of Markdown and LaTeX when they differ from the terminal's
        (:attr:`files`; e.g. every class instead of the most affected ones).
    width
        Terminal width of the ``table`` format (``None``: the terminal's, at least 100).
    json_indent
        Indentation of the JSON text (``None``: compact, for large matrices).
    """

    title: str | None
    make_tables: Callable[[], Sequence[Table]]
    make_data: Callable[[], pd.DataFrame]
    make_json: Callable[[], Mapping[str, Any]]
    make_file_tables: Callable[[], Sequence[Table]] | None = None
    width: int | None = None
    json_indent: int | None = 2

    @functools.cached_property
    def tables(self) -> tuple[Table, ...]:
        return tuple(self.make_tables())

    @functools.cached_property
    def files(self) -> tuple[Table, ...]:
        return self.tables if self.make_file_tables is None else tuple(self.make_file_tables())

    @functools.cached_property
    def data(self) -> pd.DataFrame:
        return self.make_data()

    @functools.cached_property
    def json(self) -> Mapping[str, Any]:
        return self.make_json()


def rich_tables(doc: Document) -> list[Any]:
    """The document's tables as rich ``Table`` objects (for a colour terminal)."""
    return [frame_to_rich(t.frame, title=t.title) for t in doc.tables]


def _plain_text(doc: Document) -> str:
    from rich.console import Console

    width = doc.width or max(100, shutil.get_terminal_size((120, 24)).columns)
    buf = io.StringIO()
    console = Console(file=buf, width=width, highlight=False, no_color=True, color_system=None)
    if doc.title:
        console.print(literal(doc.title))
    for table in rich_tables(doc):
        console.print(table)
    return buf.getvalue()


def literal(text: str) -> Any:
    """``text`` for a rich console as it is: names are never read as markup (``[red]``)."""
    from rich.text import Text

    return Text(str(text))


def _markdown(doc: Document) -> str:
    def heading(text: str) -> str:  # a newline in a name must not end the heading
        return " ".join(str(text).splitlines())

    parts = [f"# {heading(doc.title)}\n"] if doc.title else []
    parts += [f"## {heading(t.title)}\n\n" + frame_to_markdown(t.frame) for t in doc.files]
    return "\n".join(parts)


def _latex(doc: Document) -> str:
    return "\n".join(frame_to_latex(t.frame, caption=t.title) for t in doc.files)


def html_table(df: pd.DataFrame, *, caption: str | None = None, left: tuple[str, ...] = ()) -> str:
    """``df`` as an HTML table; every header and cell escaped; ``left`` columns left-aligned
    (non-numeric columns are left-aligned too)."""
    import pandas as pd

    def e(value: Any) -> str:
        return html.escape("" if value is None else str(value), quote=True)

    left_cols = set(left) | {c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])}
    cls = ["" if c not in left_cols else ' class="l"' for c in df.columns]
    parts = ["<table>"]
    if caption:
        parts.append(f"<caption>{e(caption)}</caption>")
    parts.append(
        "<thead><tr>"
        + "".join(f"<th{k}>{e(c)}</th>" for c, k in zip(df.columns, cls, strict=True))
        + "</tr></thead>"
    )
    parts.append("<tbody>")
    for row in df.itertuples(index=False):
        parts.append(
            "<tr>"
            + "".join(f"<td{k}>{e(cell(v))}</td>" for v, k in zip(row, cls, strict=True))
            + "</tr>"
        )
    parts.append("</tbody></table>")
    return "\n".join(parts)


def _html(doc: Document) -> str:
    parts = [f"<h4>{html.escape(doc.title)}</h4>"] if doc.title else []
    for t in doc.tables:
        parts.append(f"<p><b>{html.escape(t.title)}</b></p>")
        parts.append(html_table(t.frame, left=t.left))
    return "\n".join(parts)


def render_document(doc: Document, fmt: str) -> str:
    """``doc`` as text in ``fmt`` (one of :data:`FORMATS`)."""
    fmt = getattr(fmt, "value", fmt)  # accept the CLI's OutputFormat enum
    if fmt == "json":  # to_dict() is plain JSON already (NaN as None); compact output formats
        # large numeric arrays (the (C, C) disagreement matrix) with numpy
        return to_json(doc.json, indent=doc.json_indent)
    if fmt == "csv":
        return frame_to_csv(doc.data)
    if fmt == "markdown":
        return _markdown(doc)
    if fmt == "latex":
        return _latex(doc)
    if fmt == "html":
        return _html(doc)
    if fmt == "table":
        return _plain_text(doc)
    raise InvalidArgumentError(
        f"fmt: unknown format {fmt!r}; expected one of {', '.join(FORMATS)}", parameter="fmt"
    )
