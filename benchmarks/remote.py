"""Remote run sets benchmark (issue 15): ``kdaudit sweep`` on the shipped Trifeature sweep read
from a local S3-compatible server vs from local disk.

Starts moto's S3 server (``moto_server``) on 127.0.0.1 (``pip install 'moto[server]' s3fs``), uploads
``examples/data/trifeature`` (or ``--sweep DIR``), points the standard AWS environment
(``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ...) at it, then runs, interleaved ``--repeats``
times, each in a fresh subprocess:

  (a) ``kdaudit sweep DIR --format json --out FILE`` (local disk);
  (b) ``kdaudit sweep s3://bucket/trifeature --format json --out FILE`` (over HTTP).

Prints both times (best of the repeats), peak RSS, the ratio (b)/(a) (no target: it measures
the price of the network path) and checks that both JSON outputs agree once the location
strings are replaced.

    python benchmarks/remote.py
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from _proc import kdaudit_command, run_measured

ROOT = Path(__file__).resolve().parents[1]


UPLOAD = r"""
import sys
from pathlib import Path
import s3fs
src, bucket = Path(sys.argv[1]), sys.argv[2]
fs = s3fs.S3FileSystem(skip_instance_cache=True)
fs.mkdir(bucket)
files = sorted(p for p in src.rglob("*.parquet") if ".producers" not in p.parts)
for f in files:
    fs.put_file(str(f), f"{bucket}/{src.name}/{f.relative_to(src).as_posix()}")
print(len(files), sum(f.stat().st_size for f in files))
"""


def _wait_for(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    sys.exit(f"the S3 server did not start on port {port}")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sweep", type=Path, default=ROOT / "examples" / "data" / "trifeature")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")))
    args = ap.parse_args()

    # The server and the upload run in their own processes: this one stays small, since a
    # child's ru_maxrss starts from the parent's resident size at fork.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server_exe = Path(sys.executable).with_name("moto_server")
    server = subprocess.Popen(
        [str(server_exe), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(port)
        os.environ.update(
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench",
            AWS_DEFAULT_REGION="us-east-1",
            AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
        )
        n_files, size = map(
            int,
            run_measured([sys.executable, "-c", UPLOAD, str(args.sweep), "bench"]).stdout.split(),
        )
        url = f"s3://bench/{args.sweep.name}"
        print(f"sweep {args.sweep} ({n_files} files, {size / 2**20:.1f} MiB) uploaded to {url}")

        kd = kdaudit_command()
        out_local = args.out / "remote-bench-local.json"
        out_remote = args.out / "remote-bench-s3.json"
        cmds = {
            "local": [*kd, "sweep", str(args.sweep), "-f", "json", "--out", str(out_local)],
            "s3": [*kd, "sweep", url, "-f", "json", "--out", str(out_remote)],
        }
        runs: dict[str, list] = {k: [] for k in cmds}
        for _ in range(args.repeats):
            for key, cmd in cmds.items():
                runs[key].append(run_measured(cmd))
        best = {k: min(v, key=lambda m: m.seconds) for k, v in runs.items()}
        rss = {k: max(m.peak_rss_mib for m in v) for k, v in runs.items()}
        local_doc = out_local.read_text().replace(str(args.sweep), url)
        same = json.loads(local_doc) == json.loads(out_remote.read_text())
        print(
            f"(a) kdaudit sweep, local disk:       {best['local'].seconds:6.2f} s   "
            f"peak RSS {rss['local']:5.0f} MiB"
        )
        print(
            f"(b) kdaudit sweep, local S3 server:  {best['s3'].seconds:6.2f} s   "
            f"peak RSS {rss['s3']:5.0f} MiB"
        )
        print(
            f"ratio (b)/(a) = {best['s3'].seconds / best['local'].seconds:.2f} (no target); "
            f"results {'identical' if same else 'DIFFER'}"
        )
        for p in (out_local, out_remote):
            p.unlink(missing_ok=True)
        if not same:
            sys.exit(1)
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
