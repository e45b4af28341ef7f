"""A real S3-compatible server on 127.0.0.1 for tests (moto's server mode, in a thread).

Credentials and the endpoint reach the filesystems the way users give them: through the standard
AWS environment variables (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``AWS_ENDPOINT_URL``), never through command-line flags.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("s3fs", reason="the remote extra (s3fs) is not installed")
moto_server = pytest.importorskip("moto.server", reason="moto[server] is not installed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    bucket: str

    def url(self, *parts: str) -> str:
        return "s3://" + "/".join([self.bucket, *parts])

    def filesystem(self):
        import s3fs

        return s3fs.S3FileSystem(skip_instance_cache=True)

    def upload(self, local: Path, *parts: str) -> str:
        """Copy a local file or directory tree under ``bucket/parts``; return its ``s3://`` URL."""
        fs = self.filesystem()
        target = "/".join([self.bucket, *parts])
        if local.is_dir():
            for f in sorted(local.rglob("*")):
                if f.is_file():
                    fs.put_file(str(f), f"{target}/{f.relative_to(local).as_posix()}")
        else:
            fs.put_file(str(local), target)
        return "s3://" + target


def _clear_fsspec_caches() -> None:
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()


@contextlib.contextmanager
def local_s3(bucket: str = "kdaudit-test") -> Iterator[S3Server]:
    """Start moto's S3 server on a free port, point the AWS environment at it, create ``bucket``."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request log lines
    port = free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    env = {
        "AWS_ACCESS_KEY_ID": "kdaudit-test-key",
        "AWS_SECRET_ACCESS_KEY": "kdaudit-test-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
        # fail fast when the server is down: one attempt, short timeouts
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_RETRY_MODE": "standard",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    _clear_fsspec_caches()
    try:
        srv = S3Server(endpoint, bucket)
        srv.filesystem().mkdir(bucket)
        yield srv
    finally:
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        _clear_fsspec_caches()
