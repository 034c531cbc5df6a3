"""A façade a physicist can extend (issue 27): no guessed inputs, an import that stays imported, the model
options everywhere, figures that draw into the user's axes."""
import numpy as np
import pytest

import mcdh
from mcdh.cli import main

MODEL = mcdh.DarkSector.from_benchmark("B1", 6.0, eps=1e-4)


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    d = tmp_path_factory.mktemp("imp")
    ev = mcdh.generate_signal(MODEL.replace(eps=3e-4), "phi", 20_000, 5, n_threads=1)
    mcdh_file = mcdh.write_events(d / "mcdh.lhe", ev)
    foreign = d / "foreign.lhe"  # the same events without mcdh's record: a foreign file
    text = mcdh_file.read_text()
    start, end = text.index("<mcdh "), text.index("</mcdh>") + len("</mcdh>")
    foreign.write_text(text[:start] + text[end:])
    return {"events": ev, "mcdh": mcdh_file, "foreign": foreign}


@pytest.mark.slow
def test_a_sample_without_a_recorded_eps_needs_eps_gen(samples):
    study = mcdh.Study(n_background=5000, seed=2)
    with pytest.raises(mcdh.ParameterError, match="eps_gen") as err:
        study.analysis(MODEL, channel="phi", signal=samples["foreign"], check_masses=False)
    assert "\n" not in str(err.value)
    # given, the reach is the one of the recorded sample, whatever eps the model was written with
    given = study.analysis(MODEL, channel="phi", signal=samples["foreign"], eps_gen=3e-4, check_masses=False)
    recorded = mcdh.Study(n_background=5000, seed=2).analysis(MODEL.replace(eps=1e-3), channel="phi",
                                                              signal=samples["mcdh"])
    assert given.eps_reach(1e-4, 1.0).eps == pytest.approx(recorded.eps_reach(1e-4, 1.0).eps, rel=1e-12)
    with pytest.raises(mcdh.ParameterError, match="disagrees with the eps = 0.0003"):
        study.analysis(MODEL, channel="phi", signal=samples["mcdh"], eps_gen=1e-4)


def test_an_imported_sample_answers_every_later_question(samples):
    study = mcdh.Study(n_background=5000, seed=2)
    imported = study.analysis(MODEL, channel="phi", signal=samples["mcdh"])
    assert study.analysis(MODEL, channel="phi") is imported
    assert study.eps_reach(MODEL, channel="phi").eps == pytest.approx(imported.eps_reach(1.27e-4, 1.0).eps, rel=1e-12)
    generated = mcdh.Study(n_background=5000, seed=2).eps_reach(MODEL, channel="phi").eps
    assert study.eps_reach(MODEL, channel="phi").eps != generated  # not a fresh sample of its own


def test_reach_takes_the_model_options(capsys):
    common = ["--mA", "6", "--events", "5000", "--background-events", "5000", "--json"]
    assert main(["reach", "--benchmark", "B1", *common]) == 0
    base = __import__("json").loads(capsys.readouterr().out)
    assert main(["reach", "--benchmark", "B1", "--g-chi", "0.5", *common]) == 0
    weak = __import__("json").loads(capsys.readouterr().out)
    # sigma ~ g_chi^2 (the A' width changes too): a weaker coupling, a weaker reach
    assert weak["eps95"]["phi"] > base["eps95"]["phi"] and weak["model"]["g_chi"] == 0.5
    assert main(["reach", "--mA", "6", "--m-chi", "2.2", "--m-phi", "1.1", "--events", "5000",
                 "--background-events", "5000", "--json"]) == 0
    assert __import__("json").loads(capsys.readouterr().out)["model"]["m_phi"] == 1.1


def test_pythia_config_names_the_files_id_not_a_flag(tmp_path, mcdh):
    path = tmp_path / "s.lhe"
    assert main(["generate", "signal", "--process", "phi", "--benchmark", "B1", "--mA", "6", "--events", "300",
                 "--output", str(path), "--quiet"]) == 0
    r = mcdh("pythia-config", str(path))
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and str(path) in lines[0] and "PDG 54" in lines[0]
    assert "--pdg phi=9000005" in lines[0] and "--pdg:" not in lines[0]
    help_text = mcdh("pythia-config", "--help").stdout
    assert "(PDG 54)" not in help_text and "--pdg phi=9000005" in " ".join(help_text.split())


def test_figures_leave_the_users_backend_and_style_alone(tmp_path):
    import matplotlib

    matplotlib.use("svg")  # a user's choice (a notebook's inline backend is another)
    before = dict(matplotlib.rcParams)
    from mcdh import plots

    paths = plots.figure3(tmp_path / "f3")
    assert matplotlib.get_backend() == "svg" and dict(matplotlib.rcParams) == before
    assert all(p.stat().st_size > 0 for p in paths)
    import matplotlib.pyplot as plt

    assert plt.get_fignums() == []  # nothing left open in the user's pyplot


def test_a_contour_that_is_not_found_says_why_and_what_to_do():
    from iminuit import Minuit

    from mcdh.reconstruct.fit import contour_failure

    def cost(m_A, theta):  # m_A bounded by the template grid, theta poorly constrained
        return ((m_A - 6.01) / 0.02) ** 2 + ((theta - 1e-3) / 5e-2) ** 2

    cost.errordef = 1
    m = Minuit(cost, m_A=6.0, theta=1e-3)
    m.limits["m_A"] = (5.97, 6.1)
    m.migrad()
    m.hesse()
    text = contour_failure(m, ("m_A", "theta"), 0.95)
    assert "m_A reaches its limit 5.97" in text and "--template-grid m_A_span=" in text
    # the gamma-phi copy of m_A lives on the same grid: the same remedy, not "a physical bound"
    m2 = Minuit(lambda m_A_gammaphi, theta: cost(m_A_gammaphi, theta), m_A_gammaphi=6.0, theta=1e-3)
    m2.errordef = 1
    m2.limits["m_A_gammaphi"] = (5.97, 6.1)
    m2.migrad()
    m2.hesse()
    assert "--template-grid m_A_span=" in contour_failure(m2, ("m_A_gammaphi", "theta"), 0.95)
    m.limits["m_A"] = (None, None)
    text = contour_failure(m, ("m_A", "theta"), 0.95)
    assert "too flat" in text and "--fix theta" in text and "MnContours" not in text


def test_import_mcdh_is_lean():
    """import mcdh loads neither numba nor scipy, uproot or dask (the names load on first use); structural, not
    timed (asv's timeraw_import_mcdh measures the time)."""
    import subprocess
    import sys

    code = ("import sys, mcdh, mcdh.cli; heavy = [m for m in ('numba', 'scipy', 'uproot', 'dask', 'matplotlib', "
            "'iminuit', 'pyhf') if m in sys.modules]; print(heavy); print(mcdh.Study.__name__, 'numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "[]" and out[1] == "Study True"
    assert set(mcdh.__all__) <= set(dir(mcdh))


@pytest.mark.slow
def test_figure11_draws_the_users_curves(tmp_path, mcdh):
    import csv

    curve = tmp_path / "belle2_mono.csv"
    curve.write_text("# another projection\nm_A,eps\n2.0,3e-4\n4.0,2e-4\n7.0,1.5e-4\n")
    out = tmp_path / "f11"
    assert main(["figure", "11", "--out", str(out), "--benchmarks", "B1", "--mA-list", "3,6", "--events", "3000",
                 "--background-events", "3000", "--overlay", f"{curve}:Belle II mono-photon", "--overlay", str(curve),
                 "--quiet"]) == 0
    lines = [line for line in (out / "figure11.csv").read_text().splitlines() if not line.startswith("#")]
    drawn = {}
    for r in csv.DictReader(lines):
        if r["series"] in ("Belle II mono-photon", "belle2_mono"):
            drawn.setdefault(r["series"], []).append((float(r["x"]), float(r["y"])))
    assert drawn["Belle II mono-photon"] == [(2.0, 3e-4), (4.0, 2e-4), (7.0, 1.5e-4)]
    assert drawn["belle2_mono"] == drawn["Belle II mono-photon"]
    bad = tmp_path / "bad.csv"
    bad.write_text("m_A,eps\n2.0,x\n")
    for args, needle in ((["11", "--overlay", str(bad)], "line 2"), (["11", "--overlay", str(tmp_path / "no.csv")], "no.csv"),
                         (["5", "--overlay", str(curve)], "figure 11")):
        r = mcdh("figure", *args, "--out", str(tmp_path / "x"), "--quiet")
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and len(lines) == 1 and needle in lines[0] and "--overlay" in lines[0], r.stderr


def test_figures_draw_into_the_users_axes():
    """pyhf's plot_results style: a figure function draws into the caller's axes (their figure, their layout)
    and returns (figure, axes); with none it makes its own figure; the wrong axes are refused in one line."""
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    from mcdh import ParameterError, cross_section, plots
    from mcdh.physics.model import DarkSector

    user_fig, (left, right) = plt.subplots(1, 2)
    left.plot([0, 1], [0, 1], label="mine")
    fig, ax = plots.draw_figure3(ax=right)
    assert fig is user_fig and ax is right and len(right.get_lines()) >= 4
    assert [line.get_label() for line in left.get_lines()] == ["mine"]  # the user's panel untouched
    rows = [cross_section(DarkSector.from_benchmark("B1", m), p, 2000, 1) for m in (3.0, 6.0) for p in ("phi", "gammaphi")]
    fig4, ax4 = plots.draw_figure4(rows, ax=left)
    assert fig4 is user_fig and ax4.get_yscale() == "log" and len(ax4.get_lines()) == 3  # mine + phi + gammaphi
    own, own_ax = plots.draw_figure4(rows)
    assert own is not user_fig and own_ax.figure is own
    sub = user_fig.subfigures(1, 1)
    rng = np.random.default_rng(1)
    panel = {"e_gamma": rng.uniform(0.3, 4.0, 500), "mchichi": rng.uniform(2.1, 9.0, 500), "weights": np.ones(500),
             "m_A": 6.0, "m_phi": 1.0, "m_chi": 1.0, "sqrt_s": 10.58, "title": "a panel"}
    assert plots.draw_figure7([panel], fig=sub) is sub and len(sub.axes) == 3  # histogram, Dalitz plot, colour bar
    with pytest.raises(ParameterError, match="ax.*2 matplotlib Axes"):
        plots.draw_figure9({}, axes=left)
    with pytest.raises(ParameterError, match="fig"):
        plots.draw_fit_projections([{"title": "", "panels": []}], fig=left)
    plt.close("all")


@pytest.mark.parametrize("module, extra, args", [
    ("dask.distributed", "dask", ["scan", "--out", "{tmp}/scan", "--benchmarks", "B1", "--mA-list", "3", "--events", "200",
                                  "--background-events", "200", "--quiet"]),
    ("iminuit", "fit", ["fit", "{tmp}/data.root", "--out", "{tmp}/fit"]),
    ("pyhepmc", "hepmc", ["generate", "signal", "--process", "phi", "--benchmark", "B1", "--mA", "3", "--events", "200", "--output",
                          "{tmp}/s.hepmc", "--quiet"]),
])
def test_a_missing_extra_is_one_line_naming_it_before_any_work(module, extra, args, tmp_path, capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, module, None)  # as if not installed: importing it raises ImportError
    assert main([a.replace("{tmp}", str(tmp_path)) for a in args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"mcdh[{extra}]" in err[0], err
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_the_extras_are_declared_and_the_base_needs_none_of_them():
    """Read from the installed package's metadata (what pip resolves), not from pyproject.toml (tomllib is 3.11+)."""
    import importlib.metadata
    import re

    base, extras = [], {}
    for req in importlib.metadata.requires("mcdh") or []:
        name = re.match(r"[A-Za-z0-9_.-]+", req).group(0).lower()
        extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", req)
        (extras.setdefault(extra.group(1), []) if extra else base).append(name)
    for extra, package in (("dask", "dask"), ("fit", "iminuit"), ("hepmc", "pyhepmc"), ("publish", "pyhf")):
        assert package in extras[extra] and package not in base, (extra, package)
    assert "mplhep" not in base  # styles are mcdh's own (plots.STYLE), the package is not needed
