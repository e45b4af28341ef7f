"""The README's error promise under hostile input, for every command: one line on stderr, exit
code 1, no traceback, nothing half-written. Also rich markup / mathtext in names, figure file
name collisions, bounded --dpi, and ``validate`` applying the sweep's rules.

Regression tests of issue 17 (classes 3, 8, 10, 11 and "Also").
"""

from __future__ import annotations

import json

import _sweepgen
import numpy as np
import pytest
from typer.testing import CliRunner

from kdbias_audit import write_predictions
from kdbias_audit.cli import app

runner = CliRunner()
N, C = 40, 3


def _runset(d, seeds=(0, 1), groups=None, **meta):
    y = np.arange(N) % C
    for s in seeds:
        rng = np.random.default_rng(s)
        write_predictions(
            d / f"seed{s}.parquet",
            y_true=y,
            logits=rng.normal(size=(N, C)),
            seed=s,
            groups=groups,
            metadata=meta,
        )
    return d


def one_line_error(result, code: int = 1) -> str:
    """The promise: exit ``code``, exactly one non-empty stderr line, no traceback."""
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    assert result.exit_code == code, (result.exit_code, result.stderr, result.stdout)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: "), lines
    return lines[0]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    return _sweepgen.make_sweep(
        tmp_path_factory.mktemp("sw") / "sweep", seeds=(0, 1), temperatures=(2.0, 4.0)
    )


# -------------------------------------------------------------------------------------------
# usage errors are one line, exit 1


@pytest.mark.parametrize(
    "args",
    [
        ["compare", "A", "B", "--format", "yaml"],
        ["compare", "A", "B", "--pairing", "diagonal"],
        ["fairness", "A", "--jobs", "two"],
        ["sweep", "A", "--no-such-option"],
        ["no-such-command"],
        ["compare", "A"],
    ],
)
def test_usage_errors_are_one_line_exit_1(args):
    line = one_line_error(runner.invoke(app, args))
    assert "╭" not in line


def test_help_still_works():
    result = runner.invoke(app, ["compare", "--help"])
    assert result.exit_code == 0 and "Usage" in result.stdout


def test_newline_in_a_path_stays_one_line(tmp_path):
    line = one_line_error(runner.invoke(app, ["fairness", str(tmp_path / "x\ny")]))
    assert "x\\ny" in line


def test_validate_keeps_each_problem_on_one_line(tmp_path):
    bad = tmp_path / "a\nb"
    bad.mkdir()
    (bad / "seed0.parquet").write_bytes(b"junk")
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert all(not line.startswith("b/") for line in result.stderr.splitlines())


def test_jobs_2_with_a_broken_file_is_one_line(tmp_path):
    a = _runset(tmp_path / "a", seeds=(0, 1, 2))
    b = _runset(tmp_path / "b", seeds=(0, 1, 2))
    (b / "seed2.parquet").write_bytes(b"PAR1 broken")
    line = one_line_error(runner.invoke(app, ["compare", str(a), str(b), "--jobs", "2"]))
    assert "seed2.parquet" in line


def test_negative_random_seed_is_one_line(tmp_path):
    a = _runset(tmp_path / "a")
    b = _runset(tmp_path / "b")
    one_line_error(runner.invoke(app, ["compare", str(a), str(b), "--seed-random", "-1"]))


def test_dangling_link_in_a_runset_is_one_line(tmp_path):
    a = _runset(tmp_path / "a")
    (a / "seed9.parquet").symlink_to(tmp_path / "missing.parquet")
    line = one_line_error(runner.invoke(app, ["fairness", str(a)]))
    assert "seed9.parquet" in line


# -------------------------------------------------------------------------------------------
# rich markup and mathtext in names


@pytest.mark.parametrize("name", ["[red]x[/red]", "[/]", "[bold"])
def test_rich_markup_in_names_is_printed_literally(tmp_path, name):
    g = np.arange(N) % 2
    rs = _runset(tmp_path / name, groups={name: g}, class_names=[name, "b", "c"])
    for args in (["fairness", str(rs)], ["validate", str(rs)]):
        result = runner.invoke(app, args, env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.stderr
        assert name in result.stdout


def test_rich_markup_in_the_tty_table_path(tmp_path):
    import pandas as pd
    from rich.console import Console

    from kdbias_audit.render.formats import frame_to_rich

    frame = pd.DataFrame({"attribute": ["[/]", "[red]x[/red]"], "v": [1.0, 2.0]})
    con = Console(width=200, record=True, color_system=None)
    con.print(frame_to_rich(frame, title="[bold]t[/]"))
    text = con.export_text()
    assert "[/]" in text and "[red]x[/red]" in text and "[bold]t[/]" in text


@pytest.fixture(scope="module")
def math_sweep(tmp_path_factory, monkeypatch_module=None):
    root = tmp_path_factory.mktemp("math") / "sweep"
    y = _sweepgen.make_labels(3, 40)
    rng = np.random.default_rng(0)
    groups = {"$\\frac{a}{": rng.integers(0, 2, y.size), "a b": rng.integers(0, 2, y.size)}
    groups["a_b"] = rng.integers(0, 2, y.size)
    names = ["$x^$", "${", "c"]
    common = {"dataset": "d", "class_names": names}
    acc = np.full(3, 0.7)
    for name, meta in (
        ("teacher $x$", {"role": "teacher"}),
        ("nds $\\", {"role": "baseline"}),
        ("ds_T2", {"role": "distilled", "temperature": 2.0}),
    ):
        _sweepgen.write_runset(
            root / name,
            y,
            acc,
            seeds=(0, 1),
            groups=groups,
            metadata={**common, **meta},
            num_classes=3,
        )
    return root


def test_plot_with_mathtext_names_writes_every_figure(math_sweep, tmp_path):
    out = tmp_path / "figs"
    result = runner.invoke(app, ["plot", str(math_sweep), "-o", str(out), "--dpi", "40"])
    assert result.exit_code == 0, result.stderr
    pngs = sorted(p.name for p in out.glob("*.png"))
    fairness = [p for p in pngs if p.startswith("fig4_fairness")]
    assert len(fairness) == 3, pngs  # 'a b' and 'a_b' do not collide
    assert not list(out.glob(".*"))  # no temporary files left behind


def test_report_with_mathtext_names(math_sweep, tmp_path):
    result = runner.invoke(app, ["report", str(math_sweep), "-o", str(tmp_path / "r")])
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "r" / "report.html").exists()


def test_figure_outputs_are_all_or_nothing(sweep, tmp_path, monkeypatch):
    from kdbias_audit import plots

    real = plots.figure_bytes
    calls = {"n": 0}

    def failing(fig, fmt="png", *, dpi=150):
        calls["n"] += 1
        if calls["n"] == 5:
            raise OSError(28, "No space left on device")
        return real(fig, fmt, dpi=dpi)

    monkeypatch.setattr(plots, "figure_bytes", failing)
    out = tmp_path / "figs"
    one_line_error(runner.invoke(app, ["plot", str(sweep), "-o", str(out), "--dpi", "30"]))
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize("dpi", ["3000", "5"])
def test_dpi_is_bounded(sweep, tmp_path, dpi):
    line = one_line_error(
        runner.invoke(app, ["plot", str(sweep), "-o", str(tmp_path), "--dpi", dpi])
    )
    assert "--dpi" in line


def test_temperatures_equal_at_6_digits_get_distinct_figures(tmp_path):
    from kdbias_audit.plots import _figure_stem_t

    assert _figure_stem_t(4.0) == "4"
    assert _figure_stem_t(1.0000001) != _figure_stem_t(1.0)


# -------------------------------------------------------------------------------------------
# validate applies the sweep's rules to a sweep root


def test_validate_sweep_root_without_teacher_fails(sweep, tmp_path):
    import shutil

    root = tmp_path / "sweep"
    shutil.copytree(sweep, root)
    shutil.rmtree(root / "teacher")
    result = runner.invoke(app, ["validate", str(root)])
    assert result.exit_code == 1
    assert "teacher" in result.stderr and "Traceback" not in result.stderr


def test_validate_sweep_root_with_one_seed_fails(tmp_path):
    root = _sweepgen.make_sweep(tmp_path / "sweep", seeds=(0,), temperatures=(2.0,))
    result = runner.invoke(app, ["validate", str(root)])
    assert result.exit_code == 1 and "seed" in result.stderr


def test_validate_sweep_root_with_two_ds_at_one_temperature_fails(sweep, tmp_path):
    import shutil

    root = tmp_path / "sweep"
    shutil.copytree(sweep, root)
    shutil.copytree(root / "ds_T2", root / "ds_T2_copy")
    result = runner.invoke(app, ["validate", str(root)])
    assert result.exit_code == 1 and "temperature 2" in result.stderr


def test_validate_good_sweep_root_passes(sweep):
    result = runner.invoke(app, ["validate", str(sweep), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["ok"]


def test_validate_plain_runsets_are_not_held_to_sweep_rules(tmp_path):
    _runset(tmp_path / "models" / "a")
    _runset(tmp_path / "models" / "b")
    result = runner.invoke(app, ["validate", str(tmp_path / "models")])
    assert result.exit_code == 0, result.stderr


# -------------------------------------------------------------------------------------------
# convert


def test_convert_npz_bomb_is_one_line(tmp_path):
    import zipfile

    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w") as zf:
        with zf.open("logits.npy", "w") as f:
            np.lib.format.write_array_header_1_0(
                f, {"descr": "<f4", "fortran_order": False, "shape": (10**6, 10**4)}
            )
    line = one_line_error(
        runner.invoke(app, ["convert", str(path), str(tmp_path / "o.parquet"), "--seed", "0"])
    )
    assert "bomb.npz" in line


@pytest.mark.parametrize("t", ["0", "-3"])
def test_convert_refuses_non_positive_temperature(tmp_path, t):
    src = tmp_path / "p.csv"
    src.write_text("label,pred\n0,0\n1,1\n")
    out = tmp_path / "o.parquet"
    one_line_error(
        runner.invoke(
            app,
            [
                "convert",
                str(src),
                str(out),
                "--seed",
                "0",
                "--num-classes",
                "2",
                "--temperature",
                t,
            ],
        )
    )
    assert not out.exists()


def test_validate_with_one_problem_is_one_line(tmp_path):
    one_line_error(runner.invoke(app, ["validate", str(tmp_path / "missing")]))


def test_sweep_names_an_attribute_missing_from_some_runsets(tmp_path):
    root = _sweepgen.make_sweep(tmp_path / "sweep", seeds=(0, 1), temperatures=(2.0,))
    y = _sweepgen.make_labels()
    import shutil

    shutil.rmtree(root / "ds_T2")
    _sweepgen.write_runset(
        root / "ds_T2",
        y,
        np.full(_sweepgen.NUM_CLASSES, 0.6),
        seeds=(0, 1),
        groups={"young": _sweepgen.make_groups(y.size)["young"]},
        metadata={"dataset": "synthetic", "role": "distilled", "temperature": 2.0},
    )
    result = runner.invoke(app, ["sweep", str(root), "--permutations", "0"])
    assert result.exit_code == 0, result.stderr
    assert "attribute 'color' is missing from run set ds_T2" in result.stderr


def test_non_utf8_runset_directory_through_every_output(tmp_path):
    import os

    raw = os.fsencode(tmp_path) + b"/r\xffs"
    try:
        os.mkdir(raw)
    except (OSError, UnicodeError):
        pytest.skip("file system refuses non-UTF-8 names")
    from pathlib import Path

    rs = str(_runset(Path(os.fsdecode(raw)), seeds=(0, 1, 2)))
    for args in (
        ["validate", rs],
        ["validate", rs, "--format", "json"],
        ["compare", rs, rs, "--permutations", "0"],
        ["compare", rs, rs, "--permutations", "0", "-f", "markdown", "-o", str(tmp_path / "c.md")],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert "r\\xffs" in (tmp_path / "c.md").read_text()


def test_markdown_cells_never_split_a_row():
    import pandas as pd

    from kdbias_audit.render.formats import frame_to_markdown

    text = frame_to_markdown(pd.DataFrame({"name": ["a\nb|c", "d"], "v": [1.0, 2.0]}))
    lines = text.splitlines()
    assert len(lines) == 4 and lines[2] == "| a b\\|c | 1 |"
