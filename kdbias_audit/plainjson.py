"""Plain JSON values: the one NaN rule of every ``to_dict()``.

Every result's ``to_dict()`` returns plain Python values, ready for ``json.dumps`` with
``allow_nan=False``: numpy scalars and arrays become ``int``/``float``/``bool``/lists, tuples
become lists, and an undefined number (NaN, +-inf) becomes ``None`` (JSON ``null``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["plain"]


def _finite_numeric(arr: np.ndarray) -> bool:
    return arr.dtype.kind in "biu" or (arr.dtype.kind == "f" and bool(np.isfinite(arr).all()))


def plain(obj: Any) -> Any:
    """``obj`` with numpy values, tuples and NaN/inf floats turned into plain JSON values.

    >>> plain({"p": float("nan"), "n": np.int64(3), "x": np.array([0.5, np.inf]), "t": (1, 2)})
    {'p': None, 'n': 3, 'x': [0.5, None], 't': [1, 2]}
    """
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        if len(obj) > 64 and isinstance(obj[0], (float, list)):
            # large numeric lists (a C x C matrix): one vectorised conversion instead of a walk
            try:
                arr = np.asarray(obj)
            except (TypeError, ValueError):  # ragged
                arr = None
            if arr is not None and _finite_numeric(arr):
                return arr.tolist()
        return [plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        if _finite_numeric(obj):
            return obj.tolist()  # fast path: already plain JSON values
        return plain(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return value if math.isfinite(value) else None
    return obj
