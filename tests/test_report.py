"""The HTML report: self-contained, every table present, metadata strings escaped; rendered in a
real headless browser when Debian's chromium is installed."""

from __future__ import annotations

import base64
import html
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from _sweepgen import make_sweep

import kdbias_audit
from kdbias_audit.errors import KDAuditError
from kdbias_audit.render.tables import class_bias_display_frame, fairness_display_frame
from kdbias_audit.report import build_report, write_report
from kdbias_audit.sweep import analyze_sweep

EVIL_CLASS = "<script>alert(1)</script>"
EVIL_DATASET = '<img src=x onerror="alert(2)">'
NAMES = ["cat", EVIL_CLASS, "dog", "a & b", "frog", "ship"]
CHROMIUM = "/usr/bin/chromium"


class TableParser(HTMLParser):
    """Collects every <table> as a list of rows (lists of unescaped cell texts)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self.tags: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "img":
            self.images.append(dict(attrs)["src"])

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[-1].append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    root = make_sweep(
        tmp_path_factory.mktemp("r") / "sw",
        temperatures=(2.0, 4.0),
        class_names=NAMES,
        dataset=EVIL_DATASET,
    )
    return analyze_sweep(root)


@pytest.fixture(scope="module")
def page(result) -> str:
    return build_report(result, command="kdaudit report sw -o out --teacher '<b>x</b>'", dpi=50)


@pytest.fixture(scope="module")
def parsed(page) -> TableParser:
    p = TableParser()
    p.feed(page)
    return p


def frame_rows(df):
    return [list(map(str, df.columns))] + [
        [str(v) for v in row] for row in df.itertuples(index=False)
    ]


def test_contains_the_class_bias_and_fairness_tables(result, parsed):
    for df in (class_bias_display_frame(result), fairness_display_frame(result)):
        assert frame_rows(df) in parsed.tables


def test_lists_runsets_seeds_version_and_command(result, page, parsed):
    runsets = next(t for t in parsed.tables if t[0][:2] == ["Run set", "Role"])
    assert [row[0] for row in runsets[1:]] == [r.name for r in result.rows]
    seeds_col = runsets[0].index("Seeds")
    assert {row[seeds_col] for row in runsets[1:]} == {"0 1 2"}
    assert kdbias_audit.__version__ in page
    assert html.escape("kdaudit report sw -o out --teacher '<b>x</b>'", quote=True) in page
    assert "<b>x</b>" not in page


def test_metadata_strings_are_escaped(page, parsed):
    assert EVIL_CLASS not in page
    assert html.escape(EVIL_CLASS) in page
    assert "<img src=x" not in page and 'onerror="alert' not in page
    assert html.escape(EVIL_DATASET, quote=True) in page
    assert "script" not in parsed.tags
    assert "a &amp; b" in page or "a & b" not in page  # class names go through escaping too
    sig = [t for t in parsed.tables if t and "Name" in t[0]]
    assert any(EVIL_CLASS in row for t in sig for row in t)  # shown as text after unescaping


def test_self_contained(result, page, parsed):
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//|file:)""", page)
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert 'http-equiv="Content-Security-Policy"' in page and "default-src &#x27;none&#x27;" in page
    from kdbias_audit.plots import sweep_figures

    assert len(parsed.images) == len(sweep_figures(result)) == 6
    for src in parsed.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(b"\x89PNG")


def test_write_report(result, tmp_path):
    path = write_report(result, tmp_path / "out", command="kdaudit report", dpi=40)
    assert path == tmp_path / "out" / "report.html"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    (tmp_path / "file").write_text("x")
    with pytest.raises(KDAuditError, match="is not a directory"):
        write_report(result, tmp_path / "file")


def test_report_without_groups_has_no_fairness_section(tmp_path):
    res = analyze_sweep(make_sweep(tmp_path / "s", temperatures=(2.0, 3.0), with_groups=False))
    page = build_report(res, figures={})
    assert 'id="fairness"' not in page and 'id="class-bias"' in page
    assert "<img" not in page


# --------------------------------------------------------------------------------------------
# a real browser


def chromium(tmp_path: Path, url: str, *extra: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        *extra,
        url,
    ]
    env = {**os.environ, "HOME": str(tmp_path)}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=env)


@pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK))
    and not shutil.which("chromium"),
    reason="chromium is not installed",
)
def test_renders_in_headless_chromium(result, tmp_path):
    import matplotlib.image as mpimg

    report = write_report(result, tmp_path / "out", command="kdaudit report sw -o out", dpi=60)
    url = report.resolve().as_uri()
    shot = tmp_path / "shot.png"
    proc = chromium(tmp_path, url, "--window-size=1280,2400", f"--screenshot={shot}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert shot.exists() and shot.stat().st_size > 10_000
    img = mpimg.imread(shot)
    assert img.shape[:2] == (2400, 1280)
    assert img[..., :3].std() > 0.05  # text, tables and figures, not a blank page

    dom = chromium(tmp_path, url, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    text = dom.stdout
    assert "<table" in text and "Class-wise bias" in text
    assert "<script" not in text  # the escaped class name stayed text
    assert html.escape(EVIL_CLASS) in text
    assert text.count("<img") == 6
