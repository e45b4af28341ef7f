"""Reading benchmark (issue 2): bare pyarrow read vs loading a run set to per-seed arrays.

Writes an ImageNet-scale run set (default 50,000 samples x 1,000 classes, float32 logits,
5 seeds) to a temporary directory, then measures, each in a fresh subprocess:

  (a) ``pyarrow.parquet.read_table`` of the 5 files (all columns, as a plain reader would);
  (b) ``kdbias_audit.load_runset`` of the directory (validated, reduced to label/pred/groups).

Prints both times, the ratio b/a (target <= 1.3) and the peak RSS growth of (b) over the
process baseline relative to one file's logits (target <= 1.5).

    python benchmarks/read.py                 # full scale (needs ~1 GB in $TMPDIR)
    python benchmarks/read.py --n 5000 --classes 100   # quick
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
import pyarrow.parquet as pq
import pyarrow.dataset  # read_table imports it (and pandas) on first use: keep that out of (a)'s time
import kdbias_audit.io as kio
mode, root = sys.argv[1], Path(sys.argv[2])
files = sorted(root.glob("*.parquet"))
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
if mode == "pyarrow":
    for f in files:
        t = pq.read_table(f)
        del t
else:
    rs = kio.load_runset(root)
    assert rs.preds.shape[0] == len(files)
elapsed = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": elapsed, "rss_growth_bytes": (peak - base) * 1024}))
"""


def run_child(mode: str, root: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(root)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--classes", type=int, default=1_000)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=3, help="best of N for each timing")
    args = ap.parse_args()

    from kdbias_audit import write_predictions

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "runset"
        y = rng.integers(0, args.classes, args.n)
        t0 = time.perf_counter()
        for s in range(args.seeds):
            z = rng.standard_normal((args.n, args.classes), dtype=np.float32)
            write_predictions(
                root / f"seed{s}.parquet", y_true=y, logits=z, seed=s, groups={"g": y % 3}
            )
        write_s = time.perf_counter() - t0
        logits_bytes = args.n * args.classes * 4
        size = sum(f.stat().st_size for f in root.glob("*.parquet"))
        print(
            f"run set: {args.seeds} files of {args.n} x {args.classes} float32 logits "
            f"({logits_bytes / 2**20:.0f} MiB of logits each, {size / 2**20:.0f} MiB on disk; written in {write_s:.1f} s)"
        )
        a = min(
            (run_child("pyarrow", root) for _ in range(args.repeats)), key=lambda r: r["seconds"]
        )
        b_runs = [run_child("kdbias_audit", root) for _ in range(args.repeats)]
        b = min(b_runs, key=lambda r: r["seconds"])
        rss = max(r["rss_growth_bytes"] for r in b_runs)
        print(f"(a) pyarrow.parquet.read_table x{args.seeds}: {a['seconds']:.3f} s")
        print(f"(b) kdbias_audit.load_runset:       {b['seconds']:.3f} s")
        print(f"ratio b/a = {b['seconds'] / a['seconds']:.2f}   (target <= 1.3)")
        print(
            f"peak RSS growth of (b) = {rss / 2**20:.0f} MiB = {rss / logits_bytes:.2f} x one file's logits (target <= 1.5)"
        )
        print(
            f"(for reference, peak RSS growth of (a) = {a['rss_growth_bytes'] / logits_bytes:.2f} x)"
        )


if __name__ == "__main__":
    main()
