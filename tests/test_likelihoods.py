"""Likelihoods in the field's currency (issue 26): the background uncertainty in the paper's statistic, the
asymptotic CLs limit, and pyhf workspaces checked by pyhf itself."""
import json
import math

import numpy as np
import pytest
from scipy.optimize import minimize_scalar
from scipy.special import xlogy

import mcdh
from mcdh.analysis import cls, limits
from mcdh.cli import main

pyhf = pytest.importorskip("pyhf")


# ---------------------------------------------------------------- the paper's statistic with sigma_b


def _on_off_profile(s, b, r):
    """-2 ln lambda of n = B against S + B', B' constrained by m ~ Pois(tau B'), tau = 1 / (r^2 B): profiled by
    brute force (an independent check of the closed form)."""
    tau = 1.0 / (r * r * b)

    def nll(bp, sig):
        return -2.0 * (xlogy(b, sig + bp) - (sig + bp) + xlogy(tau * b, tau * bp) - tau * bp)

    best = minimize_scalar(lambda bp: nll(bp, s), bounds=(1e-9 * b, 10 * (b + s)), method="bounded",
                           options={"xatol": 1e-13 * b})
    return best.fun - nll(b, 0.0)


@pytest.mark.parametrize("s, b, r", [(3.0, 1.0, 0.2), (10.0, 100.0, 0.2), (100.0, 1e4, 0.3), (2.0, 0.5, 0.1),
                                     (40.0, 1e3, 0.05)])
def test_profiled_statistic_is_the_on_off_profile(s, b, r):
    assert limits.m2loglike(s, b, r) == pytest.approx(_on_off_profile(s, b, r), rel=1e-7)


def test_profiled_statistic_limits():
    s, b = np.array([0.0, 1.0, 5.0, 50.0]), np.array([2.0, 2.0, 0.0, 1e4])
    exact = limits.m2loglike(s, b)
    # a vanishing uncertainty is the paper's statistic, computed without the cancellations of the closed form
    np.testing.assert_allclose(limits.m2loglike(s, b, 1e-9), exact, rtol=1e-6, atol=1e-12)
    assert limits.m2loglike(0.0, 5.0, 0.3) == 0.0 and limits.m2loglike(5.0, 0.0, 0.3) == 10.0
    # S << B: S^2 / (B + sigma_B^2)
    assert limits.m2loglike(1.0, 1e6, 0.1) == pytest.approx(1.0 / (1e6 + 1e10), rel=1e-3)
    with pytest.raises(mcdh.ParameterError, match="background_uncertainty"):
        limits.m2loglike(1.0, 1.0, -0.1)


def test_signal_needed_grows_with_sigma_b_and_tends_to_sigma_b_times_b():
    for b in (1.0, 1e2, 1e4):
        values = [limits.signal_for_m2ll(b, limits.CL95, r) for r in (0.0, 0.1, 0.2, 0.3)]
        assert values == sorted(values) and values[0] < values[-1]
        for r, v in zip((0.1, 0.2, 0.3), values[1:]):
            assert limits.m2loglike(v, b, r) == pytest.approx(limits.CL95, rel=1e-10)
    # B >> S: the signal needed is proportional to sigma_B = r B (the ratio settles as B grows)
    for r in (0.1, 0.3):
        ratios = [limits.signal_for_m2ll(b, limits.CL95, r) / (r * b) for b in (1e5, 1e6, 1e7)]
        assert abs(ratios[2] - ratios[1]) < 0.2 * abs(ratios[1] - ratios[0]) + 1e-3 and 1.0 < ratios[2] < 2.0


# ---------------------------------------------------------------- the CLs statistic against pyhf


def _small_workspace(s, b, e, r):
    mods = [{"name": "stat", "type": "staterror", "data": list(e)}]
    if r:
        mods.append({"name": "norm", "type": "normsys", "data": {"hi": 1 + r, "lo": 1 - r}})
    return {"channels": [{"name": "c", "samples": [
        {"name": "signal", "data": list(s), "modifiers": [{"name": "mu", "type": "normfactor", "data": None}]},
        {"name": "background", "data": list(b), "modifiers": mods}]}],
        "observations": [{"name": "c", "data": list(b)}], "version": "1.0.0",
        "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": [{"name": "mu", "bounds": [[0, 100]]}]}}]}


def test_normsys_interpolation_is_pyhfs():
    model = pyhf.Workspace(_small_workspace([1.0], [1.0], [0.0], 0.25)).model()
    kappa = cls.normsys_factor(0.25)
    for alpha in (-3.0, -1.0, -0.6, -0.1, 0.0, 0.2, 0.99, 1.0, 2.5):
        pars = model.config.suggested_init()
        pars[model.config.poi_index] = 0.0
        pars[model.config.par_slice("norm")] = [alpha]
        assert kappa(alpha) == pytest.approx(float(model.expected_actualdata(pars)[0]), rel=1e-13), alpha


@pytest.mark.parametrize("r", [0.0, 0.15])
def test_q_asimov_is_pyhfs_test_statistic(r):
    """q_mu,A profiled in closed form (gamma) and in one dimension (alpha) equals pyhf's q~_mu from its fits."""
    rng = np.random.default_rng(5)
    s = rng.exponential(1.0, 8)
    b = rng.exponential(5.0, 8)
    b[2] = 0.0  # a bin without background: its staterror is fixed, as pyhf does
    e = 0.1 * b * rng.random(8)
    model = pyhf.Workspace(_small_workspace(s, b, e, r)).model()
    data = pyhf.Workspace(_small_workspace(s, b, e, r)).data(model)
    init, bounds, fixed = model.config.suggested_init(), model.config.suggested_bounds(), model.config.suggested_fixed()
    asimov = pyhf.infer.calculators.generate_asimov_data(0.0, data, model, init, bounds, fixed)
    channel = cls.BinnedChannel(s, b, e, 1e-4, r)
    for mu in (0.3, 1.0, 2.5):
        q = float(pyhf.infer.test_statistics.qmu_tilde(mu, asimov, model, init, bounds, fixed))
        assert channel.q(mu) == pytest.approx(q, rel=2e-4, abs=1e-6)  # pyhf's fits stop at their tolerance


# ---------------------------------------------------------------- studies


@pytest.fixture(scope="module")
def studies():
    def make(**kw):
        return mcdh.Study(n_signal=20_000, n_background=20_000, seed=4, **kw)
    return make


def test_zero_uncertainty_is_the_paper_bit_for_bit(studies):
    plain, zero = studies(n_b=1e4), studies(n_b=1e4, background_uncertainty=0.0)
    assert plain.reach("B1", 6.0) == zero.reach("B1", 6.0)
    assert plain.table_row("B1", 6.0, "gammaphi") == zero.table_row("B1", 6.0, "gammaphi")
    assert plain.theta_band("B1", 6.0, "phi") == zero.theta_band("B1", 6.0, "phi")


def test_background_uncertainty_weakens_the_reach_monotonically(studies):
    for statistic in ("paper", "cls"):
        reach = [studies(n_b=1e4, statistic=statistic, background_uncertainty=r).eps_reach("B1", 6.0, "phi").eps
                 for r in (0.0, 0.1, 0.3)]
        assert reach == sorted(reach) and reach[0] < reach[-1], (statistic, reach)
    # in the paper's window nothing measures the background: at B >> S the reach follows sigma_b B
    paper = [studies(n_b=1e4, background_uncertainty=r).eps_reach("B1", 6.0, "phi").eps for r in (0.1, 0.3)]
    assert (paper[1] / paper[0]) ** 2 > 2.0


@pytest.mark.slow
def test_cls_reach_is_pyhfs_limit(studies, tmp_path):
    """pyhf's expected CLs at mcdh's CLs limit is 0.05, and brackets it within 1 % in mu."""
    study = studies(n_b=1.0, statistic="cls")
    _agree_with_pyhf(study, "B1", 6.0, ("phi",), tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("bm, m_A, channels, n_b, syst", [
    ("B1", 4.0, ("phi", "gammaphi"), 1.0, 0.0), ("B2", 6.0, ("gammaphi",), 1e4, 0.2),
    ("B3", 3.0, ("phi",), 1e4, 0.0), ("B2", 2.0, ("phi", "gammaphi"), 1e4, 0.1), ("B3", 7.0, ("gammaphi",), 1.0, 0.3)])
def test_cls_reach_is_pyhfs_limit_at_five_points(studies, tmp_path, bm, m_A, channels, n_b, syst):
    study = studies(n_b=n_b, statistic="cls", background_uncertainty=syst)
    _agree_with_pyhf(study, bm, m_A, channels, tmp_path)


def _agree_with_pyhf(study, bm, m_A, channels, tmp_path):
    ws = study.workspace(bm, m_A, channels=channels)
    path, meta = ws.write(tmp_path / "ws.json")
    spec = json.loads(path.read_text())
    assert json.loads(meta.read_text())["eps_ref"] == study.eps_ref
    workspace = pyhf.Workspace(spec)
    model = workspace.model()
    data = workspace.data(model)
    channel = channels[0] if len(channels) == 1 else "combined"
    eps95 = study.eps_reach(bm, m_A, channel, theta=ws.metadata["theta"]).eps
    mu = (eps95 / study.eps_ref) ** 2

    def cls_expected(m):
        return float(pyhf.infer.hypotest(m, data, model, test_stat="qtilde", return_expected=True)[1])

    assert cls_expected(mu) == pytest.approx(0.05, abs=2e-3)
    assert cls_expected(0.99 * mu) > 0.05 > cls_expected(1.01 * mu)


def test_workspace_round_trips_with_mcdhs_histograms(studies, tmp_path):
    study = studies(n_b=1e4, background_uncertainty=0.2)
    ws = study.workspace("B1", 6.0)
    path, _ = ws.write(tmp_path / "ws.json")
    model = pyhf.Workspace(json.loads(path.read_text())).model()
    pars = model.config.suggested_init()
    pars[model.config.poi_index] = 0.0  # background only, nuisance parameters nominal
    expected = model.expected_actualdata(pars)
    total = 0
    for ch in ("phi", "gammaphi"):
        a = study.analysis("B1", 6.0, ch)
        bkg = a.background_hist(1e4)
        sig = a.signal_hists([ws.metadata["theta"]])[0]
        keep = (bkg > 0) | (sig > 0)
        np.testing.assert_allclose(expected[model.config.channel_slices[ch]], bkg[keep], rtol=1e-12, atol=0)
        bins = ws.metadata["bins"][ch]
        np.testing.assert_array_equal(bins["lower_edges"], a.binning.edges[:-1][keep])
        total += int(keep.sum())
    assert total == len(expected)
    assert {m["name"] for c in ws.spec["channels"] for s in c["samples"] for m in s["modifiers"]} == {
        "mu", "staterror_phi", "staterror_gammaphi", "bkg_norm_phi", "bkg_norm_gammaphi"}
    # the windows as single bins: one bin per channel, the window's sums
    win = study.workspace("B1", 6.0, windows=True)
    assert [len(c["samples"][0]["data"]) for c in win.spec["channels"]] == [1, 1]
    pyhf.Workspace(win.spec).model()


@pytest.mark.slow
def test_cli_export_and_bad_input(tmp_path, mcdh):
    out = tmp_path / "ws.json"
    assert main(["export-pyhf", "--benchmark", "B1", "--mA", "6", "--events", "5000", "--background-events", "5000",
                 "--nb", "1e4", "--bkg-syst", "0.1", "--output", str(out), "--json"]) == 0
    assert pyhf.Workspace(json.loads(out.read_text())).model().config.poi_name == "mu"
    assert (tmp_path / "ws.metadata.json").exists()
    for args, needle in ((["reach", "--mA", "6", "--statistic", "bayes"], "--statistic"),
                         (["reach", "--mA", "6", "--bkg-syst", "-0.2"], "--bkg-syst"),
                         (["table", "--channel", "phi", "--nb", "1", "--bkg-syst", "1.0"], "--bkg-syst"),
                         (["export-pyhf", "--mA", "6", "--benchmark", "B1", "--output", str(tmp_path), ], "directory")):
        r = mcdh(*args)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and len(lines) == 1 and needle in lines[0], (args, r.stderr)


def test_missing_extra_is_one_line(tmp_path, capsys, monkeypatch):
    import builtins

    real = builtins.__import__

    def no_pyhf(name, *args, **kwargs):
        if name == "pyhf" or name.startswith("pyhf."):
            raise ImportError("no pyhf")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyhf)
    monkeypatch.delitem(__import__("sys").modules, "pyhf", raising=False)
    assert main(["export-pyhf", "--benchmark", "B1", "--mA", "6", "--output", str(tmp_path / "w.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "mcdh[publish]" in err[0]


def test_statistic_settings_are_checked():
    for kw, name in (({"statistic": "bayes"}, "statistic"), ({"background_uncertainty": 1.0}, "background_uncertainty"),
                     ({"background_uncertainty": math.nan}, "background_uncertainty"),
                     ({"background_uncertainty": "0.1"}, "background_uncertainty")):
        with pytest.raises(mcdh.ParameterError, match=name):
            mcdh.Study(**kw)


# ---------------------------------------------------------------- HEPData


def _summary_for_hepdata():
    """A summary.json as mcdh reproduce writes it (two masses of B1), from the analysis itself."""
    from mcdh.paper import _analyse, _reach_summary
    from mcdh.settings import EPS_REF, NB_VALUES, THETA_EPS_SCAN, THETA_TABLE

    study = mcdh.Study(n_signal=5000, n_background=5000, seed=3)
    keys = [("B1", m, ch) for m in (3.0, 6.0) for ch in ("phi", "gammaphi")]
    results = [o[0] for o in _analyse(keys, study.replace(n_threads=1), 1, False, width_band=False)]
    tables = {}
    for name, (ch, n_b) in {"table3": ("phi", 1.0), "table6": ("gammaphi", 1e4)}.items():
        rows = [r.rows[n_b].as_csv_dict() for (_, _, c), r in zip(keys, results) if c == ch]
        tables[name] = {"channel": ch, "n_b": n_b, "rows": rows}
    return {"version": mcdh.__version__, "reach": _reach_summary(results, keys), "tables": tables, "settings": {
        "luminosity_fb": 1e4, "region": {"name": "uninstrumented", "r_in": 2.0, "r_out": 9.0}, "eps_table": EPS_REF,
        "theta_table": THETA_TABLE, "theta_eps_scan": THETA_EPS_SCAN, "n_b": list(NB_VALUES)}}


def test_hepdata_submission_validates_and_holds_the_summarys_numbers(tmp_path):
    import yaml

    from mcdh.publish import CHANNEL_NAMES, validate_submission

    summary = _summary_for_hepdata()
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "summary.json").write_text(json.dumps(summary))
    assert main(["hepdata", str(tmp_path / "run"), "--out", str(tmp_path / "hd"), "--quiet"]) == 0
    assert validate_submission(tmp_path / "hd") == []
    assert (tmp_path / "hd.tar.gz").stat().st_size > 0
    docs = list(yaml.safe_load_all((tmp_path / "hd" / "submission.yaml").read_text()))
    names = [d["name"] for d in docs[1:]]
    assert names == ["Figure 11 B1 eps reach", "Figure 11 B1 theta band", "Table 3", "Table 6"]
    eps = yaml.safe_load((tmp_path / "hd" / docs[1]["data_file"]).read_text())
    assert [v["value"] for v in eps["independent_variables"][0]["values"]] == [3.0, 6.0]
    k = 0
    for ch in ("phi", "gammaphi"):
        for n_b, values in summary["reach"]["B1"][ch]["eps95"].items():
            var = eps["dependent_variables"][k]
            quals = {q["name"]: q["value"] for q in var["qualifiers"]}
            assert quals["channel"] == CHANNEL_NAMES[ch] and float(quals["N_b (phi-channel events at 10 ab^-1)"]) == float(n_b)
            got = [v["value"] for v in var["values"]]
            for g, want in zip(got, values):  # hepdata-lib keeps five significant digits
                assert (g == "-" and want is None) or g == pytest.approx(want, rel=1e-4)
            k += 1
    table = yaml.safe_load((tmp_path / "hd" / docs[4]["data_file"]).read_text())
    sel = [v for v in table["dependent_variables"] if v["header"]["name"] == "selected signal events"][0]
    assert [v["value"] for v in sel["values"]] == pytest.approx([r["sel_sig"] for r in summary["tables"]["table6"]["rows"]],
                                                                rel=1e-4)
    # a folder with other files is not replaced; a damaged summary is one line
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    assert main(["hepdata", str(tmp_path / "run"), "--out", str(tmp_path / "other"), "--quiet"]) == 2
    (tmp_path / "run" / "summary.json").write_text("{")
    assert main(["hepdata", str(tmp_path / "run"), "--out", str(tmp_path / "hd2"), "--quiet"]) == 2
    assert (tmp_path / "other" / "notes.txt").read_text() == "mine" and not (tmp_path / "hd2").exists()
    # the paper's smearing is not mentioned; expected smearing is, in every table's description
    assert "smearing" not in (tmp_path / "hd" / "submission.yaml").read_text()
    summary["settings"]["smearing"] = "expected"
    (tmp_path / "run" / "summary.json").write_text(json.dumps(summary))
    assert main(["hepdata", str(tmp_path / "run"), "--out", str(tmp_path / "hd3"), "--quiet"]) == 0
    docs = list(yaml.safe_load_all((tmp_path / "hd3" / "submission.yaml").read_text()))
    assert all("infinitely many Gaussian copies" in d["description"] for d in docs[1:])


def test_systematics_figure(tmp_path):
    assert main(["figure", "systematics", "--out", str(tmp_path), "--benchmarks", "B1", "--mA-list", "3,6", "--events",
                 "4000", "--background-events", "4000", "--quiet"]) == 0
    import csv

    lines = [line for line in (tmp_path / "systematics.csv").read_text().splitlines() if not line.startswith("#")]
    reach = {}
    for r in csv.DictReader(lines):
        reach.setdefault(r["series"], []).append(float(r["y"]))
    assert len(reach) == 6 and all(len(v) == 2 for v in reach.values())
    for n_b in ("1", "10^{4}"):
        curves = [reach[f"$N_b = {n_b}$, $\\sigma_b = {p}\\%$"] for p in (0, 10, 30)]
        assert all(a <= b for a, b in zip(curves[0], curves[1])) and all(a <= b for a, b in zip(curves[1], curves[2]))
    assert reach["$N_b = 10^{4}$, $\\sigma_b = 30\\%$"][1] > 1.5 * reach["$N_b = 10^{4}$, $\\sigma_b = 0\\%$"][1]
    for name in ("systematics.png", "systematics.pdf", "systematics.txt"):
        assert (tmp_path / name).stat().st_size > 0
    assert main(["figure", "systematics", "--out", str(tmp_path), "--bkg-syst", "0.1"]) == 2


def test_the_profiled_statistic_joins_the_papers_continuously(studies):
    """sigma_b = 1e-9 runs through the profiled path (closed form, windows maximising it, the numerical root for
    the signal needed): the reach equals the paper's to 1e-6. (The sigma_b = 0 test compares two studies on
    one code path; this one compares the two paths.)"""
    paper = studies(n_b=1e4).reach("B1", 6.0)
    for r, rel in ((1e-9, 1e-9), (1e-4, 1e-4)):  # 1e-9 met a bracket without a sign change (fixed)
        small = studies(n_b=1e4, background_uncertainty=r).reach("B1", 6.0)
        for ch in paper:
            assert small[ch].eps == pytest.approx(paper[ch].eps, rel=rel), (r, ch)
            assert r < 1e-6 or small[ch].eps > paper[ch].eps, (r, ch)  # really the other path: a weaker reach


def test_scan_with_a_background_uncertainty(tmp_path):
    from mcdh.scan import ScanGrid, run_scan

    kw = dict(masses=(6.0,), channels=("phi",), thetas=(1.27e-4,), n_b=(1e4,), n_signal=3000, n_background=3000,
              seed=4)
    plain = run_scan(ScanGrid(**kw), tmp_path / "plain", serial=True, progress=False)
    syst = run_scan(ScanGrid(**kw, background_uncertainty=0.3), tmp_path / "syst", serial=True, progress=False)
    assert syst[0].eps95 > 1.5 * plain[0].eps95
    grid = json.loads((tmp_path / "syst" / "scan.json").read_text())
    assert grid["background_uncertainty"] == 0.3 and "background_uncertainty" not in json.loads(
        (tmp_path / "plain" / "scan.json").read_text())  # a scan of before resumes: its grid is unchanged
    study = mcdh.Study(n_signal=3000, n_background=3000, seed=4, n_b=1e4, background_uncertainty=0.3)
    assert syst[0].eps95 == study.eps_reach("B1", 6.0, "phi", theta=1.27e-4).eps
