"""Shrink finished prediction files to the ``pred`` column (drop the logits).

A sweep whose files must stay small (the shipped Trifeature example: 75 files of 50,000 test
images) can train with any trainer and logits dtype and then keep only the predicted class:
``python -m producers.predfiles ROOT`` rewrites, atomically, every ``*/seed*.parquet`` under
ROOT that still has a ``logits`` column (run-set folders only; ``.producers/`` is skipped).
Labels, predictions, sample ids, groups and metadata stay exactly as the reader saw them, so a
resumed sweep still recognises the runs as finished. Idempotent.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

__all__ = ["drop_logits", "drop_logits_tree"]

_WRITER_KEYS = ("format_version", "num_classes", "seed")  # write_predictions sets these itself


def drop_logits(path: str | os.PathLike[str]) -> bool:
    """Rewrite one prediction file with ``pred`` instead of ``logits``; False if it has none."""
    import pyarrow.parquet as pq

    from kdbias_audit.io import read_predictions, write_predictions

    path = Path(path)
    if "logits" not in pq.read_schema(path).names:
        return False
    run = read_predictions(path)
    groups = {
        attr: np.asarray(run.group_levels[attr], dtype=object)[codes]
        for attr, codes in run.groups.items()
    }
    write_predictions(
        path,
        y_true=run.label,
        y_pred=run.pred,
        sample_id=run.sample_id,
        groups=groups or None,
        seed=run.seed,
        num_classes=run.num_classes,
        metadata={k: v for k, v in run.metadata.items() if k not in _WRITER_KEYS},
        overwrite=True,
    )
    return True


def drop_logits_tree(root: str | os.PathLike[str]) -> int:
    """`drop_logits` on every ``ROOT/<runset>/seed*.parquet``; returns the number rewritten."""
    files = sorted(
        p for p in Path(root).glob("*/seed*.parquet") if not p.parent.name.startswith(".")
    )
    return sum(drop_logits(p) for p in files)


def main(argv: list[str] | None = None) -> int:
    from kdbias_audit import KDAuditError

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not Path(args[0]).is_dir():
        print("usage: python -m producers.predfiles ROOT (a sweep directory)", file=sys.stderr)
        return 2
    try:
        n = drop_logits_tree(args[0])
    except (KDAuditError, OSError) as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    print(f"{args[0]}: {n} file(s) reduced to pred")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
