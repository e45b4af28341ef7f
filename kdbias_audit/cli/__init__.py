"""The ``kdaudit`` command line (typer). Commands only parse, call and print.

Each command lives in a module of this package and registers itself on ``app`` (defined in
``_app``) when imported; the command modules import ``_app``, never this package, so there is
no import cycle.
"""

from __future__ import annotations

from . import compare, fairness, io_commands, sweep  # noqa: F401  (each registers its commands)
from ._app import app

__all__ = ["app", "main"]


def main() -> None:
    app(prog_name="kdaudit")
