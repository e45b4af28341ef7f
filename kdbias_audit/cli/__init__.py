"""The ``kdaudit`` command line (typer). Commands only parse, call and print.

Each command lives in a module of this package and registers itself on ``app`` when imported.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="kdaudit",
    help="Audit what knowledge distillation does to class-wise bias and group fairness.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain (click) help and usage errors: typer's rich help imports rich.markdown and
    # markdown-it (~0.1 s of a 0.25 s ``kdaudit --help``); rich is imported only to print tables.
    rich_markup_mode=None,
)

# Command modules (each adds its commands to ``app``).
from . import (  # noqa: E402
    compare,  # noqa: E402,F401
    fairness,  # noqa: E402,F401
    io_commands,  # noqa: E402,F401
    sweep,  # noqa: E402,F401
)


def main() -> None:
    app()
