"""How one value is shown in a table cell: the one cell formatter of every display format.

The terminal, Markdown, LaTeX and HTML tables (commands, the sweep report, notebooks) all
format their cells here, so a number looks the same wherever it is shown.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["DASH", "cell", "pm", "signed_pct", "pvalue_text"]

#: Shown where a quantity does not apply (``#SC`` of the teacher row).
DASH = "-"


def cell(value: Any, float_format: str = ".4g") -> str:
    """A cell's text: ``""`` for a missing or undefined value (None, NaN, inf, ``pd.NA``),
    floats with ``float_format``, anything else as ``str``.

    >>> cell(0.123456), cell(float("nan")), cell(None), cell(3), cell("bee")
    ('0.1235', '', '', '3', 'bee')
    """
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return format(v, float_format) if math.isfinite(v) else ""
    if type(value).__name__ == "NAType":  # pandas.NA, without importing pandas
        return ""
    return str(value)


def pm(mean: float | None, std: float | None, *, scale: float = 100.0, digits: int = 2) -> str:
    """``"mean ± std"`` after scaling (percent by default): ``"nan"`` when the mean is
    undefined, the mean alone when the std is (a single seed).

    >>> pm(0.1234, 0.0056), pm(0.1234, float("nan")), pm(float("nan"), 0.1)
    ('12.34 ± 0.56', '12.34', 'nan')
    """
    if mean is None or not math.isfinite(mean):
        return "nan"
    if std is None or not math.isfinite(std):
        return f"{mean * scale:.{digits}f}"
    return f"{mean * scale:.{digits}f} ± {std * scale:.{digits}f}"


def signed_pct(value: float) -> str:
    """A difference of fractions in percent with its sign (``"+1.25"``; ``"nan"``)."""
    return "nan" if not math.isfinite(value) else f"{100 * value:+.2f}"


def pvalue_text(p: float | None, digits: int = 3) -> str:
    """A p-value with ``digits`` significant digits; ``""`` when undefined."""
    return "" if p is None or not math.isfinite(p) else f"{p:.{digits}g}"
