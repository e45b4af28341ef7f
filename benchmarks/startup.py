"""Start-up benchmark (issue 15): ``kdaudit --help`` wall time (best of ``--repeats``, target
<= 0.15 s) and CPU time, beside a bare ``python -c pass``, and which heavy modules it imports
(none of pandas, scipy, matplotlib, pyarrow, rich should be).

    python benchmarks/startup.py
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from _proc import kdaudit_command

HEAVY = ("pandas", "scipy", "matplotlib", "pyarrow", "rich", "pydantic", "fsspec", "numpy")


def timed(cmd: list[str]) -> tuple[float, float]:
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {cmd}")
    return time.perf_counter() - t0, usage.ru_utime + usage.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=10)
    args = ap.parse_args()
    cmds = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "kdaudit --help": [*kdaudit_command(), "--help"],
        "kdaudit compare --help": [*kdaudit_command(), "compare", "--help"],
    }
    for name, cmd in cmds.items():
        runs = [timed(cmd) for _ in range(args.repeats)]
        wall = min(r[0] for r in runs)
        cpu = min(r[1] for r in runs)
        print(f"{name:24s} wall {wall:.3f} s (best of {args.repeats})   cpu {cpu:.3f} s")
    probe = (
        "import sys; sys.argv = ['kdaudit', '--help']\n"
        "from kdbias_audit.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stderr.strip()
    print(f"heavy modules imported by kdaudit --help: {out or 'none'}  (target <= 0.15 s wall)")


if __name__ == "__main__":
    main()
