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
)

# Command modules (each adds its commands to ``app``).
from . import compare, fairness, io_commands, sweep  # noqa: E402,F401


def main() -> None:
    app()
