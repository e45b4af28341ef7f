"""Deprecated import path: the sweep's tables now live in :mod:`kdbias_audit.render.tables`."""

from __future__ import annotations

import warnings

from .render.tables import (
    TableFormat,
    class_bias_display_frame,
    fairness_display_frame,
    render_sweep,
    sweep_numeric_frame,
    sweep_rich_tables,
)

__all__ = [
    "TableFormat",
    "class_bias_display_frame",
    "fairness_display_frame",
    "sweep_numeric_frame",
    "sweep_rich_tables",
    "render_sweep",
]

warnings.warn(
    "kdbias_audit.tables is deprecated; import from kdbias_audit.render.tables",
    DeprecationWarning,
    stacklevel=2,
)
