"""``python -m kdbias_audit.cli``: the same as the ``kdaudit`` console script."""

from . import main

main()
