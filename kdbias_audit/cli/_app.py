"""The typer application every command module registers on (imported by them, never the reverse)."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="kdaudit",
    help="Audit what knowledge distillation does to class-wise bias and group fairness.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
