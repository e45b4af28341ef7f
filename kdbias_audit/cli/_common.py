"""What every command shares: error handling, output formats, writing results."""

from __future__ import annotations

import contextlib
import functools
import re
import sys
import warnings
from collections.abc import Callable, Iterator
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer

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


#: Library parameter -> command-line flag: the one place where the CLI renames what the library's
#: messages call an argument (see :class:`~kdbias_audit.errors.InvalidArgumentError`).
PARAMETER_FLAGS: dict[str, str] = {
    "alpha": "--alpha",
    "baseline": "--baseline",
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


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` (one line) on stderr and return the Exit to raise."""
    typer.echo(f"error: {' '.join(str(message).split())}", err=True)
    return typer.Exit(code)


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

    return wrapper  # type: ignore[return-value]


def emit(text: str, out: Path | None, *, protect: tuple[Path, ...] = ()) -> None:
    """Print ``text`` to stdout, or write it atomically to ``out``.

    ``protect`` lists input files: writing over one of them is refused.
    """
    if out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    target = out.resolve()
    for p in protect:
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
    result: Any, fmt: OutputFormat, out: Path | None, *, protect: tuple[Path, ...], **options: Any
) -> None:
    """Render ``result`` through the one renderer and print or write it.

    The ``table`` format goes to a colour terminal as rich tables; everywhere else it is plain
    text. ``options`` go to the result's view (``top=`` for a comparison).
    """
    from ..render.document import rich_tables
    from ..render.views import document, render_result

    if fmt is OutputFormat.table and out is None and sys.stdout.isatty():
        doc = document(result, **options)
        con = console()
        if doc.title:
            con.print(doc.title)
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
        typer.echo(f"warning: {message}", err=True)
    if len(shown) > limit:
        typer.echo(
            f"warning: {len(shown) - limit} more degenerate-data warnings not shown", err=True
        )
