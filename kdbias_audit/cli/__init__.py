"""The ``kdaudit`` command line (typer). Commands only parse, call and print.

Each command lives in a module of this package and registers itself on ``app`` when imported.
"""

from __future__ import annotations

import typer

from ._common import OneLineErrorGroup

app = typer.Typer(
    cls=OneLineErrorGroup,
    name="kdaudit",
    help="Audit what knowledge distillation does to class-wise bias and group fairness.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Command modules (each adds its commands to ``app``).
from . import (  # noqa: E402
    compare,  # noqa: E402,F401
    fairness,  # noqa: E402,F401
    io_commands,  # noqa: E402,F401
    sweep,  # noqa: E402,F401
)


def main() -> None:
    app(prog_name="kdaudit")
