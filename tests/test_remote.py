"""Run sets on object storage: a sweep uploaded to a real S3-compatible server on 127.0.0.1
(moto's server mode) is audited by URL and gives the results of the local audit; a missing
object or an unreachable server gives one line naming the URL and exit code 1."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _s3server import free_port, local_s3
from _sweepgen import make_sweep
from typer.testing import CliRunner

from kdbias_audit import analyze_sweep, load_runset, load_runsets, read_predictions
from kdbias_audit.cli import app
from kdbias_audit.errors import PredictionFileError

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def assert_one_line_error(res, *fragments):
    assert res.exit_code == 1, res.output
    err = res.stderr.strip()
    assert err.startswith("error: ") and "\n" not in err, err
    assert "Traceback" not in res.output
    for f in fragments:
        assert f in err, err


@pytest.fixture(scope="module")
def s3():
    with local_s3() as server:
        yield server


@pytest.fixture(scope="module")
def sweep(tmp_path_factory, s3):
    """(local sweep directory, its s3:// URL)."""
    local = make_sweep(tmp_path_factory.mktemp("remote") / "sw", temperatures=(2.0, 4.0))
    return local, s3.upload(local, "sweeps", "sw")


def _same_runset(remote, local):
    assert [r.seed for r in remote.runs] == [r.seed for r in local.runs]
    np.testing.assert_array_equal(remote.preds, local.preds)
    np.testing.assert_array_equal(remote.label, local.label)
    np.testing.assert_array_equal(remote.sample_id, local.sample_id)
    assert remote.group_attributes == local.group_attributes
    for attr in local.group_attributes:
        np.testing.assert_array_equal(remote.group_codes(attr), local.group_codes(attr))
    assert remote.metadata == local.metadata
    assert remote.name == local.name


def test_load_runsets_by_url_equals_local(sweep):
    local, url = sweep
    remote = load_runsets([f"{url}/teacher", f"{url}/ds_T2"])
    here = load_runsets([local / "teacher", local / "ds_T2"])
    for r, h in zip(remote, here, strict=True):
        _same_runset(r, h)
    assert str(remote[0].path) == f"{url}/teacher"
    assert str(remote[0].runs[0].path) == f"{url}/teacher/seed0.parquet"


def test_single_file_and_file_urls(sweep):
    local, url = sweep
    run = read_predictions(f"{url}/nds/seed1.parquet")
    ref = read_predictions(local / "nds" / "seed1.parquet")
    np.testing.assert_array_equal(run.pred, ref.pred)
    _same_runset(load_runset((local / "nds").as_uri()), load_runset(local / "nds"))


def test_analyze_sweep_by_url_equals_local(sweep):
    local, url = sweep
    remote = analyze_sweep(url, permutations=20).to_dict()
    here = analyze_sweep(local, permutations=20).to_dict()
    text = json.dumps(here, default=str).replace(str(local), url)
    assert json.loads(json.dumps(remote, default=str)) == json.loads(text)


@pytest.mark.parametrize(
    "command",
    [
        ("compare", "{}/nds", "{}/ds_T4", "--format", "json", "--permutations", "20"),
        ("sweep", "{}", "--format", "json", "--permutations", "20"),
        ("fairness", "{}/ds_T2", "--format", "json"),
        ("validate", "{}", "--format", "json"),
    ],
    ids=lambda c: c[0],
)
def test_commands_by_url_print_the_local_output(sweep, command):
    local, url = sweep
    remote = invoke(*(a.format(url) for a in command))
    here = invoke(*(a.format(local) for a in command))
    assert remote.exit_code == 0, remote.output
    assert here.exit_code == 0, here.output
    assert remote.stdout == here.stdout.replace(str(local), url)


def test_only_the_needed_columns_travel(tmp_path, s3, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from kdbias_audit.io import fs, reader

    rng = np.random.default_rng(0)
    n = 4_000
    y = rng.integers(0, 5, n)
    meta = {"format_version": 1, "num_classes": 5, "seed": 0}
    table = pa.table(
        {
            "sample_id": pa.array(np.arange(n)),
            "label": pa.array(y),
            "pred": pa.array(y),
            # a column the audit never reads: ~2 MB of incompressible floats
            "embedding": pa.FixedSizeListArray.from_arrays(
                pa.array(rng.random(n * 128, dtype=np.float32)), 128
            ),
        }
    ).replace_schema_metadata({"kdbias_audit": json.dumps(meta)})
    pq.write_table(table, tmp_path / "seed0.parquet", row_group_size=1_000)
    url = s3.upload(tmp_path / "seed0.parquet", "projection", "seed0.parquet")
    size = (tmp_path / "seed0.parquet").stat().st_size
    fetched_ranges = []

    def recording_open(loc):
        f = fs.open_input(loc)
        fetch = f.cache.fetcher

        def counting(start, stop):
            data = fetch(start, stop)
            fetched_ranges.append(len(data))
            return data

        f.cache.fetcher = counting
        return f

    monkeypatch.setattr(reader, "open_input", recording_open)
    run = read_predictions(url)
    np.testing.assert_array_equal(run.pred, y)
    fetched = sum(fetched_ranges)
    assert 0 < fetched < size / 4, (fetched, size)  # the embedding column stays on the server


def test_worker_processes_read_urls(sweep):
    local, url = sweep
    args = ("compare", "{}/teacher", "{}/ds_T2", "--format", "csv", "--jobs", "2")
    remote = invoke(*(a.format(url) for a in args))
    assert remote.exit_code == 0, remote.output
    assert remote.stdout == invoke(*(a.format(local) for a in args)).stdout


def test_missing_object_is_one_line_naming_the_url(sweep, s3):
    _, url = sweep
    missing = s3.url("sweeps", "no-such-runset")
    res = invoke("compare", missing, f"{url}/teacher")
    assert_one_line_error(res, f"{missing}: does not exist")
    res = invoke("sweep", s3.url("nothing-here"))
    assert_one_line_error(res, s3.url("nothing-here"))
    with pytest.raises(PredictionFileError, match="no-such-runset: does not exist"):
        load_runsets([missing])


def test_unreachable_server_is_one_line_naming_the_url(sweep, monkeypatch):
    import s3fs

    _, url = sweep
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")  # nobody listens
    s3fs.S3FileSystem.clear_instance_cache()
    try:
        res = invoke("compare", f"{url}/nds", f"{url}/teacher")
        assert_one_line_error(res, f"{url}/nds: cannot be read")
    finally:
        s3fs.S3FileSystem.clear_instance_cache()


def test_unknown_protocol_is_one_line(sweep):
    local, _ = sweep
    res = invoke("compare", "nosuchproto://bucket/x", local / "nds")
    assert_one_line_error(res, "nosuchproto://bucket/x: cannot open this URL")
