"""Peak memory of every command on inputs whose size lies in the class and group counts.

Issue 17 target: any command on the 10,000-class case under 500 MB peak RSS. The inputs are
tiny (a few kB per file) while the classes (10,000) or the groups x classes (20,000 x 2,000)
are many; memory must follow the data, not ``C * C`` or ``C * G``.

Each command runs in a child process; its peak RSS comes from ``os.wait4`` (the child's own
``ru_maxrss``), so one command's peak never hides another's. Linux carries the parent's RSS
over ``fork``/``exec`` into ``ru_maxrss``, so the measuring parent stays small: it imports
nothing heavy and writes the inputs in a child of its own.

    python benchmarks/hostile_memory.py [--classes 10000] [--out DIR]

Prints one line per command: peak RSS in MB, wall seconds, exit code, and the ratio to the
500 MB target.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_MB = 500.0


def make_inputs(root: Path, classes: int, n: int = 200, seeds: int = 3) -> None:
    import numpy as np

    from kdbias_audit import write_predictions

    rng = np.random.default_rng(0)
    y = rng.integers(0, classes, n)
    groups = {"g": rng.integers(0, 2, n)}
    sweep = root / "sweep"

    def runset(name: str, meta: dict, acc: float) -> Path:
        d = sweep / name
        for s in range(seeds):
            pred = np.where(rng.random(n) < acc, y, rng.integers(0, classes, n))
            write_predictions(
                d / f"seed{s}.parquet",
                y_true=y,
                y_pred=pred,
                num_classes=classes,
                seed=s,
                groups=groups,
                metadata={"dataset": "many", **meta},
            )
        return d

    runset("teacher", {"role": "teacher"}, 0.8)
    runset("nds", {"role": "baseline"}, 0.6)
    for t in (2.0, 4.0, 8.0):
        runset(f"ds_T{t:g}", {"role": "distilled", "temperature": t}, 0.65)
    np.savez(root / "preds.npz", label=y, pred=y)

    # fairness: 20,000 group values x 2,000 classes, 40,000 samples
    wide = root / "wide"
    k, g, m = 2_000, 20_000, 40_000
    yw = rng.integers(0, k, m)
    gw = rng.integers(0, g, m)
    for s in range(3):
        pred = np.where(rng.random(m) < 0.7, yw, rng.integers(0, k, m))
        write_predictions(
            wide / f"seed{s}.parquet",
            y_true=yw,
            y_pred=pred,
            num_classes=k,
            seed=s,
            groups={"city": gw},
        )


def input_paths(root: Path) -> dict[str, Path]:
    sweep = root / "sweep"
    return {
        "sweep": sweep,
        "teacher": sweep / "teacher",
        "nds": sweep / "nds",
        "npz": root / "preds.npz",
        "wide": root / "wide",
    }


def run(args: list[str]) -> tuple[float, float, int]:
    env = dict(os.environ)
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from kdbias_audit.cli import main; main()", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        print(f"    stderr: {err.strip()[:300]}")
    return usage.ru_maxrss / 1024, wall, proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--make-inputs", action="store_true", help=argparse.SUPPRESS)
    ns = parser.parse_args()
    root = ns.out or Path(tempfile.mkdtemp(prefix="kdaudit-mem-"))
    if ns.make_inputs:
        make_inputs(root, ns.classes)
        return
    subprocess.run(
        [
            sys.executable,
            __file__,
            "--make-inputs",
            "--classes",
            str(ns.classes),
            "--out",
            str(root),
        ],
        check=True,
    )
    paths = input_paths(root)
    out = root / "out"
    commands = {
        "validate sweep": ["validate", str(paths["sweep"])],
        "compare --format json": [
            "compare", str(paths["teacher"]), str(paths["nds"]), "--format", "json",
            "--out", str(out / "compare.json"),
        ],
        "fairness": ["fairness", str(paths["nds"]), "--format", "json"],
        "sweep --format json": ["sweep", str(paths["sweep"]), "--format", "json"],
        "plot": ["plot", str(paths["sweep"]), "-o", str(out / "figs")],
        "report": ["report", str(paths["sweep"]), "-o", str(out / "report")],
        "convert": ["convert", str(paths["npz"]), str(out / "c.parquet"), "--seed", "0",
                    "--num-classes", str(ns.classes)],
        "fairness 20,000 groups x 2,000 classes": ["fairness", str(paths["wide"]), "-f", "json"],
    }  # fmt: skip
    print(f"{ns.classes} classes; inputs in {root}; target {TARGET_MB:.0f} MB peak RSS")
    for name, args in commands.items():
        rss, wall, rc = run(args)
        print(
            f"{name:42s} peak {rss:8.1f} MB  {wall:6.1f} s  exit {rc}  "
            f"ratio to target {rss / TARGET_MB:.2f}"
        )
    size = (out / "compare.json").stat().st_size if (out / "compare.json").exists() else 0
    print(f"compare JSON size: {size / 1024:.1f} kB")


if __name__ == "__main__":
    main()
