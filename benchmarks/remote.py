"""Remote run sets benchmark (issue 15): ``kdaudit sweep`` on the shipped Trifeature sweep read
from a local S3-compatible server vs from local disk.

Starts moto's S3 server on 127.0.0.1 (``pip install 'moto[server]' s3fs``), uploads
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
import logging
import os
import socket
import sys
from pathlib import Path

from _proc import kdaudit_command, run_measured

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sweep", type=Path, default=ROOT / "examples" / "data" / "trifeature")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")))
    args = ap.parse_args()

    import s3fs
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        os.environ.update(
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench",
            AWS_DEFAULT_REGION="us-east-1",
            AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
        )
        fs = s3fs.S3FileSystem(skip_instance_cache=True)
        fs.mkdir("bench")
        files = sorted(p for p in args.sweep.rglob("*.parquet") if ".producers" not in p.parts)
        for f in files:
            fs.put_file(str(f), f"bench/{args.sweep.name}/{f.relative_to(args.sweep).as_posix()}")
        size = sum(f.stat().st_size for f in files)
        url = f"s3://bench/{args.sweep.name}"
        print(f"sweep {args.sweep} ({len(files)} files, {size / 2**20:.1f} MiB) uploaded to {url}")

        kd = kdaudit_command()
        out_local, out_remote = (
            args.out / "remote-bench-local.json",
            args.out / "remote-bench-s3.json",
        )
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
            f"(a) kdaudit sweep, local disk:       {best['local'].seconds:6.2f} s   peak RSS {rss['local']:5.0f} MiB"
        )
        print(
            f"(b) kdaudit sweep, local S3 server:  {best['s3'].seconds:6.2f} s   peak RSS {rss['s3']:5.0f} MiB"
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
        server.stop()


if __name__ == "__main__":
    main()
