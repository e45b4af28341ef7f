"""The paper's figures: produced, non-empty, in PNG and PDF, showing what they claim to show."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from _sweepgen import make_sweep
from matplotlib.colors import to_hex

from kdbias_audit.plots import (
    OKABE_ITO,
    figure_bytes,
    plot_classwise_accuracy,
    plot_disagreement,
    plot_fairness_vs_temperature,
    plot_significance_vs_temperature,
    plot_sweep,
    save_figure,
    sweep_figures,
)
from kdbias_audit.sweep import analyze_sweep


def test_importing_the_core_does_not_import_matplotlib():
    code = (
        "import sys, kdbias_audit, kdbias_audit.sweep, kdbias_audit.render.tables, kdbias_audit.report, "
        "kdbias_audit.plots; print('matplotlib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_classwise_accuracy_marks_significant_classes():
    acc = np.array([[0.5, 0.6, 0.7, 0.8], [0.55, 0.65, 0.75, 0.85]])
    sig = np.array([[False, True, False, False], [True, False, False, True]])
    fig = plot_classwise_accuracy(
        acc, [2, 4], sig, class_names=list("abcd"), reference=np.full(4, 0.6)
    )
    ax = fig.axes[0]
    assert len(ax.get_lines()) == 3  # two temperatures + the reference
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), acc[0] * 100)
    marked = np.vstack([c.get_offsets() for c in ax.collections])
    assert {(int(x), round(float(y), 6)) for x, y in marked} == {(1, 60.0), (0, 55.0), (3, 85.0)}
    assert ax.get_xlabel() and ax.get_ylabel() == "Test accuracy (%)"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "T = 2" in labels and "T = 4" in labels and "significant (NDS vs DS)" in labels
    assert [t.get_text() for t in ax.get_xticklabels()] == list("abcd")


def test_classwise_accuracy_shape_errors():
    with pytest.raises(ValueError, match="temperatures"):
        plot_classwise_accuracy(np.zeros((2, 3)), [1])
    with pytest.raises(ValueError, match="significant"):
        plot_classwise_accuracy(np.zeros((2, 3)), [1, 2], np.zeros((2, 2), bool))


def test_disagreement_masks_diagonal_and_shares_scale():
    a = np.arange(16, dtype=float).reshape(4, 4)
    b = a.T * 2
    fig = plot_disagreement(a, b)
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(images) == 2
    for im, m in zip(images, (a, b), strict=False):
        arr = im.get_array()
        assert np.ma.isMaskedArray(arr)
        assert arr.mask.diagonal().all() and arr.mask.sum() == 4
        np.testing.assert_allclose(arr.data, m)
    assert images[0].get_clim() == images[1].get_clim()
    off = ~np.eye(4, dtype=bool)
    assert images[0].get_clim()[1] == max(a[off].max(), b[off].max())
    assert len(fig.axes) == 3  # two heatmaps + colour bar
    assert [ax.get_title() for ax in fig.axes[:2]] == ["Teacher vs NDS", "Teacher vs DS"]
    with pytest.raises(ValueError, match="square"):
        plot_disagreement(a, np.zeros((3, 3)))


def test_significance_vs_temperature_has_accuracy_on_second_axis():
    fig = plot_significance_vs_temperature(
        [2, 4, 8], [1, 3, 5], [6, 4, 2], [0.6, 0.65, 0.7], [0.01, 0.02, 0.01], num_classes=10
    )
    ax, ax2 = fig.axes
    assert [list(line.get_ydata()) for line in ax.get_lines()] == [[1, 3, 5], [6, 4, 2]]
    np.testing.assert_allclose(ax2.get_lines()[0].get_ydata(), [60, 65, 70])
    assert ax2.get_ylabel() == "Test accuracy (%)" and "of 10" in ax.get_ylabel()
    colors = {to_hex(line.get_color()).upper() for line in [*ax.get_lines(), *ax2.get_lines()]}
    assert colors <= {c.upper() for c in OKABE_ITO.values()}
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["#SC (NDS vs DS)", "#TC (teacher vs DS)", "Test accuracy"]


def test_fairness_vs_temperature_reference_lines():
    fig = plot_fairness_vs_temperature(
        [1, 2, 3],
        [0.05, 0.04, 0.03],
        [0.10, 0.09, 0.08],
        teacher=(0.045, 0.094),
        baseline=(0.061, 0.106),
        attribute="young",
    )
    ax = fig.axes[0]
    lines = ax.get_lines()
    assert len(lines) == 6
    ys = sorted(round(float(line.get_ydata()[0]), 6) for line in lines[2:])
    assert ys == [4.5, 6.1, 9.4, 10.6]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "Teacher (EOD)" in labels and "Non-distilled student (DPD)" in labels
    assert "young" in ax.get_title()


def test_save_png_and_pdf(tmp_path):
    fig = plot_significance_vs_temperature([1, 2], [1, 2], [2, 1], [0.5, 0.6])
    paths = save_figure(fig, tmp_path / "sub" / "fig3")
    assert [p.name for p in paths] == ["fig3.png", "fig3.pdf"]
    png, pdf = (p.read_bytes() for p in paths)
    assert png.startswith(b"\x89PNG") and len(png) > 5_000
    assert pdf.startswith(b"%PDF") and len(pdf) > 2_000
    assert figure_bytes(fig, "png") == figure_bytes(fig, "png")  # deterministic


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return analyze_sweep(make_sweep(tmp_path_factory.mktemp("p") / "sw", temperatures=(2.0, 4.0)))


def test_plot_sweep_writes_every_figure(result, tmp_path):
    import matplotlib.image as mpimg

    paths = plot_sweep(result, tmp_path / "figs", dpi=60)
    stems = sorted({p.stem for p in paths})
    assert stems == [
        "fig1_classwise",
        "fig2_disagreement_T2",
        "fig2_disagreement_T4",
        "fig3_significance",
        "fig4_fairness_color",
        "fig4_fairness_young",
    ]
    assert sorted(p.suffix for p in paths) == [".pdf"] * 6 + [".png"] * 6
    for p in paths:
        assert p.stat().st_size > 1_000
        if p.suffix == ".png":
            img = mpimg.imread(p)
            assert img.ndim == 3 and img[..., :3].std() > 0.05  # not a blank canvas


def test_sweep_figures_use_the_result(result):
    figs = sweep_figures(result)
    ax = figs["fig3_significance"].axes[0]
    assert list(ax.get_lines()[0].get_ydata()) == [
        r.vs_baseline.n_significant for r in result.distilled
    ]
    assert list(ax.get_lines()[1].get_ydata()) == [
        r.vs_teacher.n_significant for r in result.distilled
    ]
    left = figs["fig2_disagreement_T4"].axes[0].images[0].get_array().data
    np.testing.assert_allclose(left, result.baseline.disagreement.matrix)
    right = figs["fig2_disagreement_T4"].axes[1].images[0].get_array().data
    np.testing.assert_allclose(right, result.distilled[1].disagreement.matrix)


def test_alpha_blocks_get_their_own_figures(tmp_path):
    res = analyze_sweep(
        make_sweep(tmp_path / "s", temperatures=(2.0, 4.0), kd_alphas=(0.6, 0.8), with_groups=False)
    )
    stems = set(sweep_figures(res))
    assert {
        "fig1_classwise_alpha0.6",
        "fig1_classwise_alpha0.8",
        "fig3_significance_alpha0.6",
        "fig2_disagreement_T4_alpha0.8",
    } <= stems
    assert not any(s.startswith("fig4") for s in stems)
