"""Deprecated entry point: ``python -m producers.sweep_large`` is ``python -m producers.sweep``.

Kept so existing commands work: it runs the one sweep command (`producers.sweep`) with this
module's former defaults, image settings on the streamed DDP runner (``--runner ddp``) and
``--epochs`` defaulting to the setting's. The executor itself lives in `producers.streamed`.
"""

from __future__ import annotations

import sys

from .streamed import run_large_sweep, run_state
from .sweep import make_app

__all__ = ["app", "cli", "run_large_sweep", "run_state"]

app = make_app(streamed=True)


def cli(argv: list[str] | None = None) -> None:
    app(argv if argv is not None else sys.argv[1:], prog_name="python -m producers.sweep_large")


if __name__ == "__main__":
    cli()
