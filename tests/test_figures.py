"""Figures and tables as a reader sees them (issue 11): what is drawn, what the legend says, the numbers."""
import csv
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

import mcdh
from mcdh import plots
from mcdh.paper import FIGURE_NUMBERS, FigureOptions, figure

SMALL = FigureOptions(xsec_events=2000, figure_events=4000, benchmarks=("B1",), masses=(1.5, 3.0, 6.0))


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    """Every figure 3-12 drawn once with small statistics; the matplotlib figures kept for inspection."""
    out = tmp_path_factory.mktemp("figs")
    study = mcdh.Study(n_signal=4000, n_background=4000, seed=3, n_threads=2)
    figs, paths = {}, {}
    real_save = plots.save

    def keep(fig, stem, *args, **kw):
        figs[Path(stem).name] = fig
        return real_save(fig, stem, *args, **kw)

    plots.save = keep
    try:
        for n in FIGURE_NUMBERS:
            paths[n] = figure(n, out, study, options=SMALL, progress=False)
    finally:
        plots.save = real_save
    return out, figs, paths


def _csv(path):
    with open(path) as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


def _drawn_labels(ax):
    """Labels of the artists that show something (a line with a finite point, a filled area, a histogram)."""
    from matplotlib.collections import PolyCollection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Polygon, StepPatch

    labels = set()
    for a in ax.get_children():
        lab = a.get_label() if hasattr(a, "get_label") else "_"
        lab = lab if isinstance(lab, str) else "_"
        if not lab or lab.startswith("_"):  # (matplotlib leaves these out of legends)
            continue
        if isinstance(a, Line2D) and np.isfinite(np.asarray(a.get_ydata(), float)).any():
            labels.add(lab)
        elif isinstance(a, (PolyCollection, Polygon, StepPatch)):
            labels.add(lab)
    return labels


@pytest.mark.slow
def test_every_figure_on_demand(drawn):
    out, _, paths = drawn
    for n in FIGURE_NUMBERS:
        names = {p.name for p in paths[n]}
        assert {f"figure{n}.png", f"figure{n}.pdf", f"figure{n}.csv"} <= names, n
        for p in paths[n]:
            assert p.stat().st_size > 0
        assert _csv(out / f"figure{n}.csv"), n
        if n != 4:  # (figure 4's CSV is the cross-section table)
            assert (out / f"figure{n}.csv").read_text().startswith("# panel 0: "), n


@pytest.mark.slow
def test_legends_list_exactly_what_is_drawn(drawn):
    _, figs, _ = drawn
    for name, fig in figs.items():
        for ax in fig.axes:
            leg = ax.get_legend()
            if leg is None:
                continue
            listed = {t.get_text() for t in leg.get_texts()}
            assert listed == _drawn_labels(ax), (name, listed ^ _drawn_labels(ax))


@pytest.mark.slow
def test_figure11_bounds_band_and_notes(drawn):
    _, figs, _ = drawn
    fig = figs["figure11"]
    ax_e, ax_t = fig.axes[0], fig.axes[1]
    legend_e = {t.get_text() for t in ax_e.get_legend().get_texts()}
    assert any("BaBar 2017" in t and "90% CL" in t for t in legend_e)
    assert any("width envelope" in t for t in legend_e)  # m_phi = 0.5, 1 GeV: hadronic
    legend_t = {t.get_text() for t in ax_t.get_legend().get_texts()}
    assert any("CHARM" in t for t in legend_t) and any("E949" in t for t in legend_t)
    # a channel without sensitivity is a note, not a legend entry
    notes = " ".join(t.get_text() for t in ax_t.texts)
    for text in legend_t:
        assert text.split(" (")[0] not in notes
    # titles use powers of ten
    assert "1.27\\times10^{-4}" in ax_e.get_title() and "0.000127" not in ax_e.get_title()


@pytest.mark.slow
def test_figure11_csv_equals_the_reach_it_draws(drawn):
    """The CSV behind figure 11 holds the eps reach of every point exactly as the summary records it."""
    out, _, _ = drawn
    study = mcdh.Study(n_signal=4000, n_background=4000, seed=3, n_threads=2)
    rows = _csv(out / "figure11.csv")
    line = [r for r in rows if r["panel"] == "0" and r["series"] == r"$\phi$, $N_b = 1$" and r["kind"] == "line"]
    assert [float(r["x"]) for r in line] == list(SMALL.masses)
    for r in line:
        a = study.analysis("B1", float(r["x"]), "phi")
        expected = mcdh.study.reach_result(a.eps_reach(mcdh.settings.THETA_EPS_SCAN, 1.0).eps, "phi",
                                           mcdh.settings.THETA_EPS_SCAN, a.model).eps
        got = float(r["y"])
        assert (math.isnan(got) and expected is None) or got == expected
    # the external bounds round-trip from the package data into the CSV
    babar = mcdh.bounds.babar_invisible()
    area = [r for r in rows if r["series"] == babar.label]
    xs = {float(r["x"]) for r in area}
    assert set(babar.x.tolist()) <= xs


@pytest.mark.slow
def test_figure11_csv_has_the_width_envelope_of_every_curve(drawn):
    """The band's edges per curve in figure11.csv: lower <= default <= upper for the eps reach, and each theta-band
    edge inside its own range; the band is open where m_phi is hadronic (0.5 and 1 GeV) and closed below pi pi."""
    out, _, _ = drawn
    rows = _csv(out / "figure11.csv")

    def series(panel, name):
        return {float(r["x"]): float(r["y"]) for r in rows if r["panel"] == panel and r["series"] == name and r["kind"] == "line"}

    checked = 0
    for ch in (r"$\phi$", r"$\gamma\phi$"):
        for n_b in ("1", "10^{4}"):
            label = f"{ch}, $N_b = {n_b}$"
            curves = [(series("0", label), series("0", f"{label}: width envelope min"), series("0", f"{label}: width envelope max"))]
            for edge, name in (("lower", f"{label} (band edges)"), ("upper", f"{label} (band edges): upper")):
                env = f"{label} (band edges): {edge} edge, width envelope"
                curves.append((series("1", name), series("1", f"{env} min"), series("1", f"{env} max")))
            for default, lo, hi in curves:
                for x, y in default.items():
                    if all(math.isfinite(v) for v in (y, lo.get(x, math.nan), hi.get(x, math.nan))):
                        assert lo[x] <= y <= hi[x], (label, x)
                        checked += 1
    # the phi reach at N_b = 1: the band is open at m_phi = 0.5 GeV and closed at 0.25 GeV (leptons only)
    label = r"$\phi$, $N_b = 1$"
    lo, hi = series("0", f"{label}: width envelope min"), series("0", f"{label}: width envelope max")
    assert hi[3.0] > 1.2 * lo[3.0] and hi[1.5] == lo[1.5] == series("0", label)[1.5]
    assert checked > 10


def test_bounds_are_the_shared_data():
    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "bounds"
    if not shared.exists():
        pytest.skip("../shared not present")
    from mcdh import bounds

    b = bounds.babar_invisible()
    ref = np.loadtxt(shared / "babar_2017_invisible_dark_photon.txt")
    np.testing.assert_array_equal(np.stack([b.x, b.y], 1), ref)
    assert "arXiv:1702.03327" in mcdh.bounds.provenance()
    for bound in mcdh.bounds.theta_exclusions():
        mapped = mcdh.bounds.theta_exclusion_in_mA(bound, "B3")
        np.testing.assert_allclose(mapped.x, 8 * bound.x)
        assert np.all(mapped.y <= math.pi / 2 + 1e-12)


@pytest.mark.slow
def test_figure11_caption_explains_the_dip(drawn):
    out, _, _ = drawn
    text = (out / "figure11.txt").read_text()
    assert "6 GeV" in text and "K K threshold" in text and "hipsofcobra" in text and "arXiv:1702.03327" in text


def test_pow10():
    assert plots.pow10(1.27e-4) == "1.27\\times10^{-4}" and plots.pow10(1e4) == "10^{4}" and plots.pow10(0.5) == "0.5"


# ---------------------------------------------------------------- tables

@pytest.fixture(scope="module")
def table_rows():
    st = mcdh.Study(n_signal=3000, n_background=3000, seed=1, n_threads=2)
    return st.table("B1", "phi", masses=[3.0, 6.0])


SETTINGS = {"benchmark": "B1", "channel": "phi", "eps": 1e-4, "theta": 1e-4, "n_b": 1.0, "luminosity_fb": 1e4,
            "region": "uninstrumented", "seed": 1}


def test_table_csv_has_units_settings_and_four_digits(table_rows):
    from mcdh.tables import table_csv

    text = table_csv(table_rows, SETTINGS)
    lines = text.splitlines()
    assert lines[0].startswith("# mcdh") and "eps=0.0001" in lines[0] and "seed=1" in lines[0]
    assert lines[1] == ("mA [GeV],resc_sig [events],mchichi_min [GeV],mchichi_max [GeV],sel_sig [events],"
                        "sel_bkg [events],m2loglike [-2 log L]")
    for line in lines[2:]:
        for v in line.split(","):
            digits = re.sub(r"e.*$", "", v).replace("-", "").replace(".", "").lstrip("0")
            assert len(digits) <= 4, v
    first = dict(zip(["mA", "resc_sig"], lines[2].split(",")))
    assert float(first["resc_sig"]) == pytest.approx(table_rows[0].resc_sig, rel=5e-4)


def test_table_latex_parses(table_rows):
    from pylatexenc.latexwalker import LatexEnvironmentNode, LatexWalker

    from mcdh.tables import table_latex

    text = table_latex(table_rows, SETTINGS)
    nodes, _, _ = LatexWalker(text, tolerant_parsing=False).get_latex_nodes()
    envs = [n for n in nodes if isinstance(n, LatexEnvironmentNode)]
    assert [e.environmentname for e in envs] == ["table"]
    tab = [n for n in envs[0].nodelist if isinstance(n, LatexEnvironmentNode) and n.environmentname == "tabular"]
    assert len(tab) == 1
    body = text[text.index(r"\begin{tabular}"):text.index(r"\end{tabular}")]
    rows = [r for r in body.split(r"\\")[:-1]]
    n_cols = len(re.search(r"\\begin\{tabular\}\{(r+)\}", text).group(1))
    assert n_cols == 7 and all(r.count("&") == n_cols - 1 for r in rows)
    assert len(rows) == 1 + len(table_rows)


@pytest.mark.slow
def test_cli_table_formats(mcdh):
    args = ["table", "--channel", "gammaphi", "--nb", "1", "--mA-list", "6", "--events", "2000", "--background-events",
            "2000"]
    csv_text = mcdh(*args, "--csv").stdout
    assert csv_text.splitlines()[1].startswith("mA [GeV],init_sig [events],vmax [GeV^2]")
    assert r"\begin{tabular}" in mcdh(*args, "--latex").stdout
    data = json.loads(mcdh(*args, "--json").stdout)
    assert data["settings"]["channel"] == "gammaphi" and len(data["rows"]) == 1
