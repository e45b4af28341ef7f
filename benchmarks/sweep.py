"""Sweep benchmark (issues 5 and 15): ``kdaudit sweep`` end to end vs a bare pyarrow read of the
same files, with peak memory, for two seed counts.

Writes a CIFAR-100-scale sweep to a temporary directory (default: 10,000 test samples x 100
classes, float32 logits; teacher + NDS + 13 temperatures) with the largest ``--seeds`` count;
smaller seed counts use the first files of each run set (symlinks). For each seed count,
interleaved ``--repeats`` times, each in a fresh subprocess:

  (a) ``pyarrow.parquet.read_table`` of all files (every column, all cores), whole process;
  (b) ``kdaudit sweep ROOT --jobs J --format json --out FILE``: the whole command, wall clock,
      including interpreter start-up and imports, discovery, validation, reduction, the class-wise
      tests with exact permutation calibration, disagreement and rendering;
  (c) the same work in-process (``analyze_sweep`` + ``render_sweep``), without start-up.

Each gives wall seconds (best of the repeats) and the child's peak RSS (``ru_maxrss`` from
``os.wait4``). Targets (issue 15): (b)/(a) <= 1.5 at 75 files; peak RSS within 10 % between the
seed counts.

    python benchmarks/sweep.py                              # 75 and 150 files (~600 MB in $TMPDIR)
    python benchmarks/sweep.py --n 2000 --temperatures 3 --seeds 5  # quick
    python benchmarks/sweep.py --groups                     # add two group columns (fairness too)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from _proc import bare_read_command, kdaudit_command, run_measured

INPROCESS_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
from kdbias_audit import analyze_sweep, render_sweep
t1 = time.perf_counter()
res = analyze_sweep(sys.argv[1], jobs=int(sys.argv[2]))
t2 = time.perf_counter()
text = render_sweep(res, "json")
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "analyze": t2 - t1, "render": t3 - t2, "seconds": t3 - t1}))
"""


def write_sweep(
    root: Path, *, n: int, classes: int, temperatures: int, seeds: int, groups: bool
) -> None:
    import numpy as np

    from kdbias_audit import write_predictions

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


def subset(root: Path, seeds: int, out: Path) -> Path:
    """The sweep with the first ``seeds`` files of each run set (symlinks)."""
    for runset in sorted(p for p in root.iterdir() if p.is_dir()):
        d = out / runset.name
        d.mkdir(parents=True, exist_ok=True)
        for s in range(seeds):
            (d / f"seed{s}.parquet").symlink_to(runset / f"seed{s}.parquet")
    return out


def main() -> None:
    if sys.argv[1:2] == ["--write"]:  # child: keeps numpy and the data out of the parent
        spec = json.loads(sys.argv[3])
        write_sweep(Path(sys.argv[2]), **spec)
        return
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, default=10_000, help="test samples")
    ap.add_argument("--classes", type=int, default=100)
    ap.add_argument(
        "--temperatures", type=int, default=13, help="distilled run sets (T = 2, 3, ...)"
    )
    ap.add_argument("--seeds", default="5,10", help="seeds per run set, comma-separated")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument(
        "--groups", action="store_true", help="add group columns (fairness is computed too)"
    )
    ap.add_argument("--repeats", type=int, default=3, help="best of N for each timing")
    ap.add_argument("--keep", type=Path, default=None, help="write the sweep here and keep it")
    args = ap.parse_args()
    seed_counts = sorted({int(s) for s in args.seeds.split(",")})

    tmp = None
    if args.keep is None:
        tmp = tempfile.TemporaryDirectory()
        base = Path(tmp.name)
    else:
        base = args.keep
    try:
        root = base / "sweep"
        t0 = time.perf_counter()
        spec = {
            "n": args.n,
            "classes": args.classes,
            "temperatures": args.temperatures,
            "seeds": seed_counts[-1],
            "groups": args.groups,
        }
        if not root.exists():
            run_measured([sys.executable, __file__, "--write", str(root), json.dumps(spec)])
        print(
            f"sweep: {2 + args.temperatures} run sets x {seed_counts[-1]} seeds of {args.n} x "
            f"{args.classes} float32 logits, written in {time.perf_counter() - t0:.1f} s; "
            f"cpus: {os.cpu_count()}"
        )
        kd = kdaudit_command()
        rss = {}
        for s in seed_counts:
            sweep = root if s == seed_counts[-1] else subset(root, s, base / f"sweep{s}")
            files = sorted(str(p) for p in sweep.rglob("*.parquet"))
            out_file = base / f"sweep{s}.json"
            cmds = {
                "read": bare_read_command(files),
                "cli": [
                    *kd,
                    "sweep",
                    str(sweep),
                    "--jobs",
                    str(args.jobs),
                    "--format",
                    "json",
                    "--out",
                    str(out_file),
                ],
                "inproc": [sys.executable, "-c", INPROCESS_CHILD, str(sweep), str(args.jobs)],
            }
            runs: dict[str, list] = {k: [] for k in cmds}
            for _ in range(args.repeats):  # interleaved: load from other processes hits all alike
                for key, cmd in cmds.items():
                    runs[key].append(run_measured(cmd))
            best = {k: min(v, key=lambda m: m.seconds) for k, v in runs.items()}
            peak = {k: max(m.peak_rss_mib for m in v) for k, v in runs.items()}
            rows = json.loads(out_file.read_text())["rows"]
            assert len(rows) == 2 + args.temperatures
            inproc = json.loads(best["inproc"].stdout)
            read, cli = best["read"].seconds, best["cli"].seconds
            rss[s] = peak["cli"]
            print(f"{len(files)} files ({s} seeds per run set):")
            print(
                f"  (a) bare pyarrow read_table, whole process: {read:6.2f} s   peak RSS {peak['read']:5.0f} MiB"
            )
            print(
                f"  (b) kdaudit sweep --jobs {args.jobs}, whole process:  {cli:6.2f} s   peak RSS "
                f"{peak['cli']:5.0f} MiB   ratio (b)/(a) = {cli / read:.2f} (target <= 1.5)"
            )
            print(
                f"  (c) in-process analyze_sweep + render: {inproc['seconds']:.2f} s "
                f"(analyze {inproc['analyze']:.2f} s, render {inproc['render']:.3f} s; imports "
                f"{inproc['import']:.2f} s); ratio (c)/(a) = {inproc['seconds'] / read:.2f}"
            )
        if len(seed_counts) > 1:
            lo, hi = seed_counts[0], seed_counts[-1]
            print(
                f"peak RSS of kdaudit sweep, {hi} vs {lo} seeds: {rss[hi]:.0f} vs {rss[lo]:.0f} MiB "
                f"({100 * (rss[hi] / rss[lo] - 1):+.1f} %; target within 10 %)"
            )
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    main()
