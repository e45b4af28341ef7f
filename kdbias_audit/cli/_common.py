"""What every command shares: error handling, output formats, writing results."""

from __future__ import annotations

import contextlib
import functools
import re
import sys
import unicodedata
import warnings
from collections.abc import Callable, Iterator
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from typer._click import exceptions as _click_exceptions  # typer vendors click (>= 0.20)
from typer.core import TyperGroup

if TYPE_CHECKING:  # rich is imported when a table is printed
    from rich.console import Console

from ..atomic import atomic_write_text
from ..defaults import MIN_RESAMPLES
from ..errors import DegenerateDataWarning, KDAuditError

F = TypeVar("F", bound=Callable[..., Any])


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"
    latex = "latex"
    html = "html"


class DPDNullOption(str, Enum):
    pooled = "pooled"
    labels = "labels"


#: The DPD noise floor's null (``fairness --ci``, ``sweep``/``report --noise-floor``).
DPDNullOpt = Annotated[
    DPDNullOption,
    typer.Option(
        "--dpd-null",
        help="Null of the DPD noise floor: 'pooled' (every group at the pooled selection rate: "
        "a random-sample test set) or 'labels' (each group's labels kept, its errors at the "
        "pooled TPR/FPR: a test set whose label mix per group is designed).",
    ),
]

#: Options shared by the commands that print a result (``fairness``, ``compare``, ``analyze``).
FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]
OutOpt = Annotated[
    Path | None, typer.Option("--out", "-o", help="Write to this file instead of stdout.")
]
JobsOpt = Annotated[int, typer.Option("--jobs", "-j", help="Processes reading files in parallel.")]


#: Library parameter -> command-line flag: the one place where the CLI renames what the library's
#: messages call an argument (see :class:`~kdbias_audit.errors.InvalidArgumentError`).
PARAMETER_FLAGS: dict[str, str] = {
    "alpha": "--alpha",
    "baseline": "--baseline",
    "dpi": "--dpi",
    "dpd_null": "--dpd-null",
    "jobs": "--jobs",
    "pairing": "--pairing",
    "permutations": "--permutations",
    "positive_class": "--positive-class",
    "random_state": "--seed-random",
    "method": "--method",
    "n_resamples": "--resamples",
    "sensitive": "--sensitive",
    "teacher": "--teacher",
}

_SUGGESTED = re.compile(
    r"(?<![\w./=-])(" + "|".join(PARAMETER_FLAGS) + r")=(?:'([^']*)'|(?=(\S?)))"
)


def cli_message(exc: BaseException) -> str:
    """The message of a library error with parameters written as the CLI's flags.

    ``name='value'`` and ``name=`` become ``--flag value`` and ``--flag``; a message that
    starts with the offending parameter (``InvalidArgumentError.parameter``) starts with its
    flag instead.
    """
    message = str(exc)

    def flag(m: re.Match[str]) -> str:
        value = m.group(2)
        if value is not None:
            return f"{PARAMETER_FLAGS[m.group(1)]} {value}"
        follows = m.group(3)
        return PARAMETER_FLAGS[m.group(1)] + (" " if follows and not follows.isspace() else "")

    message = _SUGGESTED.sub(flag, message)
    parameter = getattr(exc, "parameter", None)
    if parameter in PARAMETER_FLAGS and re.match(rf"{re.escape(parameter)}\b(?!=)", message):
        message = PARAMETER_FLAGS[parameter] + message[len(parameter) :]
    return message


def one_line(text: Any) -> str:
    """``text`` as one printable line: control characters (a newline in a path) escaped as
    ``\\n``..., undecodable file-name bytes (surrogate escapes) as ``\\xff``."""
    out = []
    for ch in str(text):
        if ch in "\n\r\t" or unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp"):
            if "\udc80" <= ch <= "\udcff":  # a byte os.fsdecode could not decode
                out.append(f"\\x{ord(ch) - 0xDC00:02x}")
            else:
                out.append(ch.encode("unicode_escape").decode("ascii"))
        else:
            out.append(ch)
    return "".join(out).strip()


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` (one line) on stderr and return the Exit to raise."""
    typer.echo(f"error: {one_line(message)}", err=True)
    return typer.Exit(code)


class OneLineErrorGroup(TyperGroup):
    """The command group of ``kdaudit``: usage errors (a bad ``--format`` value, an unknown
    option or command, a missing argument) become one ``error:`` line and exit code 1, as every
    other error, instead of click's multi-line box and exit code 2."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            rv = super().main(*args, **kwargs)
        except _click_exceptions.NoArgsIsHelpError as exc:  # bare ``kdaudit``: the help text
            typer.echo(exc.ctx.get_help() if exc.ctx is not None else exc.format_message())
            sys.exit(0)
        except _click_exceptions.ClickException as exc:
            ctx = getattr(exc, "ctx", None)
            where = ctx.command_path if ctx is not None else "kdaudit"
            typer.echo(f"error: {one_line(where)}: {one_line(exc.format_message())}", err=True)
            sys.exit(1)
        except typer.Abort:
            typer.echo("error: aborted", err=True)
            sys.exit(1)
        if isinstance(rv, int) and not isinstance(rv, bool):  # an Exit raised by a command
            sys.exit(rv)
        return rv


def guarded(func: F) -> F:
    """Turn package errors (and unreadable files) into one line on stderr and exit code 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except KDAuditError as exc:
            raise fail(cli_message(exc)) from None
        except OSError as exc:  # permissions, disk full, ... never a traceback
            where = getattr(exc, "filename", None)
            raise fail(f"{where}: {exc.strerror or exc}" if where else str(exc)) from None
        except MemoryError:
            raise fail("out of memory") from None
        except RecursionError:
            raise fail("input nested too deeply to process") from None
        except Exception as exc:
            # imported here: concurrent.futures.process pulls in multiprocessing (~20 ms of
            # every start, --help included)
            from concurrent.futures.process import BrokenProcessPool

            if isinstance(exc, BrokenProcessPool):
                raise fail("a worker process died while reading files (out of memory?)") from None
            raise

    return wrapper  # type: ignore[return-value]


def emit(text: str, out: Path | None, *, protect: tuple[str | Path, ...] = ()) -> None:
    """Print ``text`` to stdout, or write it atomically to ``out``.

    ``protect`` lists input files: writing over one of them is refused (URLs are never local
    files, so they are not checked). Text is made UTF-8 encodable first (a non-UTF-8 file name
    in a table is shown as ``\\xff``).
    """
    from ..checks import printable  # numpy comes with checks: not at ``kdaudit --help``

    text = printable(text)
    if out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    from ..io.fs import is_url

    target = out.resolve()
    for p in protect:
        if is_url(p):
            continue
        p = Path(p)
        try:
            if p.resolve() == target or (p.is_dir() and p.resolve() in target.parents):
                raise KDAuditError(f"{out}: refusing to write the output over or inside an input")
        except OSError:
            continue
    if target.is_dir():
        raise KDAuditError(f"{out}: is a directory; give a file name for --out")
    atomic_write_text(target, text)


def check_resampling(ci: float | None, bootstrap: int | None) -> None:
    """One-line errors for ``--ci`` outside (0, 1) and ``--bootstrap`` below 100."""
    if ci is not None and not 0 < ci < 1:
        raise KDAuditError(f"--ci must be in (0, 1), e.g. 0.95; got {ci:g}")
    if bootstrap is not None and bootstrap < MIN_RESAMPLES:
        raise KDAuditError(f"--bootstrap must be at least {MIN_RESAMPLES}; got {bootstrap}")


def show(
    result: Any,
    fmt: OutputFormat,
    out: Path | None,
    *,
    protect: tuple[str | Path, ...],
    **options: Any,
) -> None:
    """Render ``result`` through the one renderer and print or write it.

    The ``table`` format goes to a colour terminal as rich tables; everywhere else it is plain
    text. ``options`` go to the result's view (``top=`` for a comparison).
    """
    from ..render.document import literal, rich_tables
    from ..render.views import document, render_result

    if fmt is OutputFormat.table and out is None and sys.stdout.isatty():
        doc = document(result, **options)
        con = console()
        if doc.title:
            con.print(literal(doc.title))
        for table in rich_tables(doc):
            con.print(table)
        return
    emit(render_result(result, fmt.value, **options), out, protect=protect)


def console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


@contextlib.contextmanager
def degenerate_warnings_to_stderr(limit: int = 20) -> Iterator[None]:
    """Show each distinct :class:`DegenerateDataWarning` raised inside as one ``warning:`` line.

    At most ``limit`` lines; the rest are counted. Other warnings pass through unchanged.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DegenerateDataWarning)
        yield
    shown: list[str] = []
    for w in caught:
        if issubclass(w.category, DegenerateDataWarning):
            message = " ".join(str(w.message).split())
            if message not in shown:
                shown.append(message)
        else:  # not ours: hand it back to the warnings machinery unchanged
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    for message in shown[:limit]:
        typer.echo(f"warning: {one_line(message)}", err=True)
    if len(shown) > limit:
        typer.echo(
            f"warning: {len(shown) - limit} more degenerate-data warnings not shown", err=True
        )
