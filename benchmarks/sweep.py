"""Sweep benchmark (issue 5): ``kdaudit sweep`` end to end vs a bare pyarrow read of the same files.

Writes a CIFAR-100-scale sweep to a temporary directory (default: 10,000 test samples x 100
classes, float32 logits; teacher + NDS + 13 temperatures, 5 seeds each: 75 files), then measures,
each in a fresh subprocess and best of ``--repeats``:

  (a) ``pyarrow.parquet.read_table`` of all files (every column, as a plain reader would);
  (b) ``kdaudit sweep ROOT --jobs J --format json --out FILE``: the whole command, wall clock,
      including interpreter start-up and imports, discovery, validation, reduction, the class-wise
      tests with exact permutation calibration (252 splits per comparison), disagreement and
      rendering;
  (c) the same work in-process (``analyze_sweep`` + ``render_sweep``), without start-up.

Prints the times and the ratio (b)/(a) (target <= 2 with ``--jobs 1``).

    python benchmarks/sweep.py                          # CIFAR-100 scale, 75 files (~300 MB in $TMPDIR)
    python benchmarks/sweep.py --n 2000 --temperatures 3 # quick
    python benchmarks/sweep.py --groups                  # add two group columns (fairness too)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

READ_CHILD = r"""
import json, sys, time
from pathlib import Path
import pyarrow.parquet as pq
import pyarrow.dataset  # read_table imports it (and pandas) on first use: not part of the read
files = sorted(Path(sys.argv[1]).rglob("*.parquet"))
t0 = time.perf_counter()
rows = 0
for f in files:
    t = pq.read_table(f)
    rows += t.num_rows
    del t
print(json.dumps({"seconds": time.perf_counter() - t0, "files": len(files), "rows": rows}))
"""

INPROCESS_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
from kdbias_audit.sweep import analyze_sweep
from kdbias_audit.render.tables import render_sweep
t1 = time.perf_counter()
res = analyze_sweep(sys.argv[1], jobs=int(sys.argv[2]))
t2 = time.perf_counter()
text = render_sweep(res, "json")
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "analyze": t2 - t1, "render": t3 - t2, "seconds": t3 - t1}))
"""


def kdaudit_command() -> list[str]:
    exe = Path(sys.executable).with_name("kdaudit")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("kdaudit")
    if found:
        return [found]
    return [sys.executable, "-c", "from kdbias_audit.cli import main; main()"]


def write_sweep(
    root: Path, *, n: int, classes: int, temperatures: int, seeds: int, groups: bool
) -> None:
    from kdbias_audit.io import write_predictions

    rng = np.random.default_rng(0)
    y = rng.integers(0, classes, n)
    g = {"young": rng.integers(0, 2, n), "color": rng.integers(0, 3, n)} if groups else None
    specs = [
        ("teacher", {"role": "teacher", "model": "resnet56"}, 2.8),
        ("nds", {"role": "baseline", "model": "resnet20"}, 2.2),
    ]
    for k in range(temperatures):
        t = float(k + 2)
        specs.append(
            (
                f"ds_T{t:g}",
                {"role": "distilled", "model": "resnet20", "temperature": t},
                2.3 + 0.02 * k,
            )
        )
    for name, meta, signal in specs:
        for s in range(seeds):
            z = rng.standard_normal((n, classes), dtype=np.float32)
            z[np.arange(n), y] += np.float32(signal)
            write_predictions(
                root / name / f"seed{s}.parquet",
                y_true=y,
                logits=z,
                seed=s,
                groups=g,
                metadata={**meta, "dataset": "cifar100-synthetic"},
            )


def best(cmds: list[list[str]], repeats: int, *, parse: bool = True, wall: bool = False) -> dict:
    results = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = subprocess.run(cmds, capture_output=True, text=True)
        elapsed = time.perf_counter() - t0
        if out.returncode != 0:
            sys.exit(f"command failed ({out.returncode}): {' '.join(cmds)}\n{out.stderr}")
        rec = json.loads(out.stdout) if parse else {}
        if wall:
            rec["seconds"] = elapsed
        results.append(rec)
    return min(results, key=lambda r: r["seconds"])


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, default=10_000, help="test samples")
    ap.add_argument("--classes", type=int, default=100)
    ap.add_argument(
        "--temperatures", type=int, default=13, help="distilled run sets (T = 2, 3, ...)"
    )
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument(
        "--groups", action="store_true", help="add group columns (fairness is computed too)"
    )
    ap.add_argument("--repeats", type=int, default=3, help="best of N for each timing")
    ap.add_argument("--keep", type=Path, default=None, help="write the sweep here and keep it")
    args = ap.parse_args()

    tmp = None
    if args.keep is None:
        tmp = tempfile.TemporaryDirectory()
        root = Path(tmp.name) / "sweep"
    else:
        root = args.keep
    try:
        t0 = time.perf_counter()
        write_sweep(
            root,
            n=args.n,
            classes=args.classes,
            temperatures=args.temperatures,
            seeds=args.seeds,
            groups=args.groups,
        )
        files = sorted(root.rglob("*.parquet"))
        size = sum(f.stat().st_size for f in files)
        print(
            f"sweep: {len(files)} files ({2 + args.temperatures} run sets x {args.seeds} seeds) of "
            f"{args.n} x {args.classes} float32 logits, {size / 2**20:.0f} MiB on disk, "
            f"written in {time.perf_counter() - t0:.1f} s; cpus: {os.cpu_count()}"
        )

        out_file = root.parent / "sweep.json"
        cmds = {
            "read": ([sys.executable, "-c", READ_CHILD, str(root)], True, False),
            "cli": (
                [
                    *kdaudit_command(),
                    "sweep",
                    str(root),
                    "--jobs",
                    str(args.jobs),
                    "--format",
                    "json",
                    "--out",
                    str(out_file),
                ],
                False,
                True,
            ),
            "inproc": (
                [sys.executable, "-c", INPROCESS_CHILD, str(root), str(args.jobs)],
                True,
                False,
            ),
        }
        runs: dict[str, list[dict]] = {k: [] for k in cmds}
        for _ in range(
            args.repeats
        ):  # interleaved, so that load from other processes hits all alike
            for key, (cmd, parse, wall) in cmds.items():
                runs[key].append(best(cmd, 1, parse=parse, wall=wall))
        read, cli, inproc = (
            min(runs[k], key=lambda r: r["seconds"]) for k in ("read", "cli", "inproc")
        )
        rows = json.loads(out_file.read_text())["rows"]
        assert len(rows) == 2 + args.temperatures

        print(f"(a) bare pyarrow read_table of {read['files']} files: {read['seconds']:.2f} s")
        print(f"(b) kdaudit sweep --jobs {args.jobs} (whole command, wall): {cli['seconds']:.2f} s")
        print(
            f"(c) in-process analyze_sweep + render: {inproc['seconds']:.2f} s "
            f"(analyze {inproc['analyze']:.2f} s, render {inproc['render']:.3f} s; imports {inproc['import']:.2f} s)"
        )
        ratio = cli["seconds"] / read["seconds"]
        print(
            f"ratio (b)/(a) = {ratio:.2f}  (target <= 2)  {'OK' if ratio <= 2 else 'ABOVE TARGET'}"
        )
        print(f"ratio (c)/(a) = {inproc['seconds'] / read['seconds']:.2f}")
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    main()
