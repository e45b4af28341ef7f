"""DataFrame backends: results as pandas (default) or polars frames, and polars inputs.

polars is optional (``pip install 'kdbias-audit[polars]'``). Results build their tables once, as
pandas DataFrames, and :func:`to_backend` converts them; inputs (``y_true``, ``y_pred``,
``sensitive_features``, ``groups``) may be polars Series or DataFrames wherever numpy arrays and
pandas objects are accepted.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from .errors import KDAuditError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Backend", "to_backend", "frame_method", "is_polars", "is_dataframe", "columns_of"]

Backend = Literal["pandas", "polars"]
F = TypeVar("F", bound=Callable[..., Any])


def to_backend(df: pd.DataFrame, backend: Backend = "pandas") -> Any:
    """Return ``df`` as a frame of ``backend``: itself for pandas, ``polars.from_pandas`` for polars.

    Parameters
    ----------
    df : pandas.DataFrame
    backend : {"pandas", "polars"}

    Raises
    ------
    KDAuditError
        For an unknown backend, or polars when it is not installed.
    """
    if backend == "pandas":
        return df
    if backend != "polars":
        raise KDAuditError(f"backend must be 'pandas' or 'polars', got {backend!r}")
    try:
        import polars as pl
    except ImportError:
        raise KDAuditError(
            "backend='polars' needs polars (pip install 'kdbias-audit[polars]')"
        ) from None
    return pl.from_pandas(df.reset_index(drop=True))


def frame_method(func: F) -> F:
    """Give a result's ``to_frame`` (which builds a pandas DataFrame) a ``backend`` keyword.

    ``result.to_frame(backend="polars")`` returns the same table as a polars DataFrame.
    """

    @functools.wraps(func)
    def wrapper(self: Any, *args: Any, backend: Backend = "pandas", **kwargs: Any) -> Any:
        return to_backend(func(self, *args, **kwargs), backend)

    sig = inspect.signature(func)
    extra = inspect.Parameter(
        "backend", inspect.Parameter.KEYWORD_ONLY, default="pandas", annotation="Backend"
    )
    wrapper.__signature__ = sig.replace(  # type: ignore[attr-defined]
        parameters=[*sig.parameters.values(), extra], return_annotation="Any"
    )
    wrapper.__doc__ = (func.__doc__ or "").rstrip() + (
        '\n\n        ``backend``: ``"pandas"`` (default) or ``"polars"`` (the ``polars`` extra).'
    )
    return wrapper  # type: ignore[return-value]


def is_polars(obj: Any) -> bool:
    """True for polars Series and DataFrames (checked without importing polars)."""
    return type(obj).__module__.split(".", 1)[0] == "polars"


def is_dataframe(obj: Any) -> bool:
    """True for a pandas or polars DataFrame."""
    module = type(obj).__module__.split(".", 1)[0]
    return module in ("pandas", "polars") and type(obj).__name__ == "DataFrame"


def columns_of(obj: Any) -> list[tuple[str, Any]] | None:
    """``(name, column)`` pairs of a pandas/polars DataFrame or a mapping; None for anything else."""
    if is_dataframe(obj):
        if is_polars(obj):
            return [(str(s.name), s) for s in obj.get_columns()]
        return [(str(c), obj[c]) for c in obj.columns]
    if isinstance(obj, Mapping):
        return [(str(k), v) for k, v in obj.items()]
    return None
