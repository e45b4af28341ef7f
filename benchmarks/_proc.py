"""Run a child process and measure it: wall time, exit status, and its own peak RSS.

The peak RSS comes from ``os.wait4`` (the child's ``struct rusage``, ``ru_maxrss``), i.e. the
same number ``resource.getrusage(RUSAGE_CHILDREN)`` reports, but for this child alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass


@dataclass
class Measured:
    seconds: float  # wall clock, interpreter start and imports included
    peak_rss_mib: float
    stdout: str
    stderr: str


def run_measured(cmd: list[str], *, env: dict[str, str] | None = None) -> Measured:
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=err, env=None if env is None else {**os.environ, **env}
        )
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        sys.exit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{stderr}")
    return Measured(seconds, usage.ru_maxrss / 1024, stdout, stderr)


def best_of(cmd: list[str], repeats: int, **kw) -> Measured:
    """Fastest of ``repeats`` runs; its RSS is the largest seen (peak memory is not luck)."""
    runs = [run_measured(cmd, **kw) for _ in range(repeats)]
    best = min(runs, key=lambda m: m.seconds)
    best.peak_rss_mib = max(m.peak_rss_mib for m in runs)
    return best


def kdaudit_command() -> list[str]:
    """The ``kdaudit`` console script next to this interpreter, else ``python -c``."""
    exe = os.path.join(os.path.dirname(sys.executable), "kdaudit")
    if os.path.exists(exe):
        return [exe]
    return [sys.executable, "-c", "from kdbias_audit.cli import main; main()"]


BARE_READ = r"""
import sys, time
import pyarrow.parquet as pq
t0 = time.perf_counter()
for f in sys.argv[1:]:
    t = pq.read_table(f)
    del t
print(time.perf_counter() - t0)
"""


def bare_read_command(files: list[str]) -> list[str]:
    """A plain pyarrow reader of every column of ``files`` (``read_table``, all cores)."""
    return [sys.executable, "-c", BARE_READ, *files]
