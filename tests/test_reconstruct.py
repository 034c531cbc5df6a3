"""After a discovery (issue 17): pseudo-data, the model of the data, the joint fit, its coverage."""
import json
import math

import numpy as np
import pytest

from mcdh import DarkSector, Study
from mcdh.cli import main
from mcdh.errors import ParameterError
from mcdh.reconstruct.data import Data, asimov_data, poisson_data
from mcdh.reconstruct.fit import NO_INTERVALS, PARAMETERS, FitOptions, Likelihood, coverage, fit, toys
from mcdh.reconstruct.model import DataModel, FitConfig, default_truth

# the acceptance point: B1, m_A = 6 GeV, 50 ab^-1, N_b = 10; theta = 1e-3 (mean decay length 0.8 mm, so the
# radial shape measures it) and eps for ~100 phi signal events in the 2-9 mm region
POINT = DarkSector.from_benchmark("B1", 6.0, eps=4.2e-5, theta=1e-3)
SMALL = {"template_events": 4000, "background_events": 20_000}  # fast templates for the default run


@pytest.fixture(scope="module")
def model():
    return DataModel(FitConfig(POINT, luminosity_fb=50e3, n_b=10, **SMALL))


@pytest.fixture(scope="module")
def truth(model):
    return default_truth(model.config)


def test_yields_scale_exactly_as_eps_squared_and_stay_non_negative(model, truth):
    one = model.expected(truth)
    two = model.expected(truth | {"eps": 2 * truth["eps"]})
    bkg = {c: model.background(c) for c in one}
    for c in one:
        np.testing.assert_allclose(two[c] - bkg[c], 4 * (one[c] - bkg[c]), rtol=1e-12, atol=1e-12)
        assert np.all(one[c] >= 0)
    assert 80 < float((one["phi"] - bkg["phi"]).sum()) < 130  # ~100 phi signal events


def test_templates_have_no_steps_between_nodes(model, truth):
    """Common random numbers + expected smearing + cubic interpolation: the yield is smooth in m_A across
    grid nodes (a step would show as an outlier of the second difference)."""
    grid = model.grid["m_A"]
    m = np.linspace(grid[4], grid[8], 401)
    y = np.array([model.signal("phi", x, truth["m_phi"], truth["eps"], truth["theta"])[:12].sum() for x in m])
    d1 = np.diff(y)
    d2 = np.diff(d1)
    assert np.abs(d2).max() < 0.05 * np.abs(d1).max()


def test_asimov_fit_returns_the_truth_off_the_grid_nodes(model):
    """Asimov data of a truth between the nodes: the fit gives it back to better than 0.1 of its own errors,
    with two-sided MINOS intervals around it."""
    g = model.grid
    truth = {"m_A": 0.5 * (g["m_A"][6] + g["m_A"][7]), "m_phi": 0.5 * (g["m_phi"][2] + g["m_phi"][3]),
             "eps": 4.0e-5, "theta": 1.1e-3, "b": 1.0}
    data = asimov_data(model, truth)
    r = fit(model, data, options=FitOptions(ratio_test=True))
    assert r.valid, r.status
    for k in PARAMETERS:
        assert abs(r.values[k] - truth[k]) < 0.1 * r.errors[k], (k, r.values[k], truth[k], r.errors[k])
        lo, hi = r.minos[k]
        assert lo < truth[k] < hi
    assert abs(r.pulls()["m_A"]) < 0.1
    assert r.z_local > 5
    assert r.ratio_test["lambda"] < 1e-3  # the model's own ratio: nothing to gain from freeing it


def test_profile_in_m_A_is_smooth_and_parabolic_near_its_minimum(model, truth):
    r = fit(model, asimov_data(model), options=FitOptions(profiles=("m_A",)))
    x, delta = np.array(r.profiles["m_A"]["x"]), np.array(r.profiles["m_A"]["delta"])
    assert np.all(r.profiles["m_A"]["ok"])
    fit4 = np.polynomial.Polynomial.fit(x, delta, 4)
    assert np.abs(fit4(x) - delta).max() < 0.02  # no steps from binning or Monte Carlo noise
    assert abs(x[np.argmin(delta)] - truth["m_A"]) <= 1.01 * (x[1] - x[0])
    i = np.argmin(delta)
    assert np.all(np.diff(delta[:i + 1]) < 0) and np.all(np.diff(delta[i:]) > 0)


def test_contours_enclose_the_best_fit(model):
    r = fit(model, asimov_data(model), options=FitOptions(minos=False, contours=(("m_A", "eps"),)))
    for level in (0.68, 0.95):
        pts = np.array(r.contours["m_A,eps"][level])
        assert len(pts) >= 10
        assert pts[:, 0].min() < r.values["m_A"] < pts[:, 0].max()
        assert pts[:, 1].min() < r.values["eps"] < pts[:, 1].max()
    inner = np.ptp(np.array(r.contours["m_A,eps"][0.68])[:, 0])
    outer = np.ptp(np.array(r.contours["m_A,eps"][0.95])[:, 0])
    # 2-D regions: 68 % spans 2 x 1.52 sigma in m_A, 95 % 2 x 2.45 sigma
    assert inner == pytest.approx(2 * 1.515 * r.errors["m_A"], rel=0.15)
    assert outer / inner == pytest.approx(2.448 / 1.515, rel=0.1)


def test_model_test_sees_a_gamma_phi_rate_the_model_does_not_predict(model, truth):
    counts = model.expected(truth | {"eps_gammaphi": 2.0 * truth["eps"]})
    r = fit(model, counts, options=FitOptions(ratio_test=True, minos=False))
    assert r.ratio_test["lambda"] > 9
    assert r.ratio_test["free"]["eps_gammaphi"] == pytest.approx(2.0 * truth["eps"], rel=0.05)


def test_background_only_gives_no_signal_and_an_upper_limit(model, truth):
    data = asimov_data(model, truth | {"eps": 0.0})
    r = fit(model, data, options=FitOptions(upper_limit=True))
    assert r.z_local < 0.1 and r.q0 < 0.01
    assert not r.valid and "no significant signal" in r.status
    assert r.minos == {}  # masses and theta are undetermined without a signal: no intervals are made up
    assert any("undetermined" in n for n in r.notes)
    assert 0 < r.eps_upper_95 < truth["eps"]


def test_flat_direction_is_reported_not_measured():
    """Long-lived phi (theta = 1e-4, mean decay length 80 mm >> 9 mm): the rate fixes eps x theta, the flat
    radial distribution hardly fixes theta: eps and theta are strongly anticorrelated."""
    m = DarkSector.from_benchmark("B1", 6.0, eps=4.1e-5, theta=1e-4)
    dm = DataModel(FitConfig(m, luminosity_fb=50e3, n_b=10, m_A_nodes=5, **SMALL), channels=("phi",))
    r = fit(dm, asimov_data(dm))
    assert r.correlation()["eps"]["theta"] < -0.9
    assert any("degenerate" in n for n in r.notes)


def test_poisson_pseudo_data_follow_the_model(model, truth):
    data = poisson_data(model.config, seed=5, mc_events=50_000)
    mu = model.expected(truth)
    for c, n in data.counts(model).items():
        assert abs(n.sum() - mu[c].sum()) < 4 * math.sqrt(mu[c].sum())
        cols = data.events[c]
        reg = model.config.region
        assert np.all((cols["phi_vr"] >= reg.r_in) & (cols["phi_vr"] <= reg.r_out))
        assert set(np.unique(cols["is_signal"])) <= {0.0, 1.0}
    r = fit(model, data)
    assert r.valid, r.status
    for k, p in r.pulls().items():
        assert abs(p) < 4, (k, p)


def test_toys_are_seeded_and_independent_of_workers(model, truth):
    a = toys(model, truth, 4, seed=9, n_workers=1, options=NO_INTERVALS)
    b = toys(model, truth, 4, seed=9, n_workers=2, options=NO_INTERVALS)
    assert [x.values for x in a] == [x.values for x in b]
    cov = coverage(a, truth)
    assert cov["_all"]["toys"] == 4 and set(PARAMETERS) <= set(cov)


@pytest.mark.slow
def test_toys_run_where_processes_spawn(model, truth, monkeypatch):
    """Where processes spawn (macOS, Windows; forkserver on Python 3.14) the shared templates are pickled once
    per worker, not inherited: the toys are the same."""
    import concurrent.futures
    import multiprocessing as mp

    monkeypatch.setattr(mp.context._default_context, "_actual_context", mp.get_context("spawn"))
    used = []

    class Recording(concurrent.futures.ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            used.append(self._mp_context.get_start_method())

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", Recording)
    a = toys(model, truth, 4, seed=9, n_workers=1, options=NO_INTERVALS)
    b = toys(model, truth, 4, seed=9, n_workers=2, options=NO_INTERVALS)
    assert used == ["spawn"]  # the workers were spawned (a forced fork would show here)
    assert [x.values for x in a] == [x.values for x in b]


def test_bad_starts_and_empty_data_are_refused(model, truth):
    with pytest.raises(ParameterError, match=r"start\['m_A'\]"):
        fit(model, asimov_data(model), start={"m_A": 9.0})
    with pytest.raises(ParameterError, match=r"start\['theta'\]"):
        fit(model, asimov_data(model), start={"theta": -1.0})
    with pytest.raises(ParameterError, match="no events"):
        Likelihood(model, {c: np.zeros_like(m) for c, m in model.expected(truth).items()})
    phi_only = Data({"phi": asimov_data(model).events["phi"]}, model.config)
    with pytest.raises(ParameterError, match="channels"):
        Study().fit(phi_only, channels=("gammaphi",))


def test_a_fit_outside_the_models_validity_gives_no_numbers(model):
    import dataclasses

    bad = dataclasses.replace(model.config, model=model.config.model.replace(g_chi=5.0))
    with pytest.raises(ParameterError, match="validity"):
        Study().fit(Data(asimov_data(model).events, bad))


def test_gamma_phi_can_have_its_own_region():
    """The paper's conclusion: the 17-60 cm instrumented region for gamma-phi, 2-9 mm for phi."""
    cfg = FitConfig(POINT.replace(theta=1e-5), luminosity_fb=50e3, n_b=10, region_gammaphi=(170.0, 600.0))
    assert cfg.axes("gammaphi")[-1][[0, -1]].tolist() == [170.0, 600.0]
    assert cfg.axes("phi")[-1][[0, -1]].tolist() == [2.0, 9.0]
    assert FitConfig.from_dict(json.loads(json.dumps(cfg.as_dict()))) == cfg
    data = poisson_data(cfg, seed=1, mc_events=20_000)
    r = data.events["gammaphi"]["phi_vr"]
    assert r.size and np.all((r >= 170.0) & (r <= 600.0))


def test_a_config_with_an_infinite_region_is_refused():
    with pytest.raises(ParameterError, match="region"):
        FitConfig(POINT, region="invisible")


# ----------------------------------------------------------------------
# files and the command line


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("pd") / "data.root"
    assert main(["pseudodata", "--benchmark", "B1", "--mA", "6", "--eps", "4.2e-5", "--theta", "1e-3", "--lumi-fb",
                 "50000", "--nb", "10", "--template-events", "4000", "--mc-events", "50000", "--seed", "3",
                 "--output", str(path), "--quiet"]) == 0
    return path


def test_pseudo_data_ntuple_has_the_generate_layout_and_the_fit_record(data_file):
    import uproot

    with uproot.open(data_file) as f:
        meta = json.loads(str(f["mcdh_parameters"]))
        assert set(meta["trees"]) == {"phi", "gammaphi"}
        for tree, branches in (("phi", {"mchichi", "phi_vr", "m_vtx"}), ("gammaphi", {"E_gamma", "mchichi", "phi_vr"})):
            keys = set(f[tree].keys())
            assert branches | {"__event__", "__weight__", "phi_E", "phi_px", "is_signal"} <= keys
    rec = meta["pseudodata"]
    assert rec["truth"]["eps"] == 4.2e-5 and rec["asimov"] is False and rec["config"]["template_events"] == 4000
    back = Data.read(data_file)
    assert back.config.model == FitConfig.from_dict(rec["config"]).model


@pytest.mark.slow
def test_cli_fit_writes_json_and_figures(data_file, tmp_path, capsys):
    out = tmp_path / "fit"
    assert main(["fit", str(data_file), "--out", str(out), "--json", "--toys", "100"]) == 0
    printed = json.loads(capsys.readouterr().out)
    saved = json.loads((out / "fit.json").read_text())
    assert saved["result"]["valid"] is True and printed["valid"] is True
    lee = saved["result"]["lee"]
    assert lee["toys"] == 100 and lee["z_local"] >= lee["z_window"] >= lee["z_range"] > 5
    assert saved["result"]["gof"]["p_value"]["combined"] > 0.01
    assert saved["result"]["values"]["m_A"] == pytest.approx(6.0, abs=0.1)
    assert set(saved["result"]["contours"]) == {"m_A,eps", "eps,theta", "m_A,m_phi"}
    for stem in ("fit_channels", "fit_contours"):
        for suffix in (".png", ".pdf", ".csv"):
            assert (out / f"{stem}{suffix}").stat().st_size > 0


@pytest.mark.slow
def test_cli_refuses_files_it_cannot_fit_in_one_line(data_file, tmp_path, mcdh):
    import uproot

    gen = tmp_path / "generated.root"
    assert main(["generate", "signal", "--process", "phi", "--benchmark", "B1", "--mA", "6", "--events", "2000",
                 "--output", str(gen), "--quiet"]) == 0
    with uproot.open(data_file) as f:
        meta = str(f["mcdh_parameters"])
        cols = f["phi"].arrays(library="np")
    empty = tmp_path / "empty.root"
    no_vtx = tmp_path / "no_vtx.root"
    from mcdh.io.root import write_columns

    rec = {"pseudodata": json.loads(meta)["pseudodata"]}
    write_columns(empty, {"phi": {k: v[:0] for k, v in cols.items() if k != "__event__"}}, rec)
    write_columns(no_vtx, {"phi": {k: v for k, v in cols.items() if k not in ("__event__", "m_vtx")}}, rec)
    for args, needle in (([gen], "generated events"), ([empty], "no events"), ([no_vtx], "m_vtx"),
                         ([tmp_path / "missing.root"], "no such file"), ([data_file, "--start", "m_A=9"], "start['m_A']"),
                         ([data_file, "--start", "mass=1"], "start")):
        r = mcdh("fit", *map(str, args))
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and len(lines) == 1 and needle in lines[0], r.stderr


def test_cli_fit_refuses_a_bad_start_or_output_before_making_templates(data_file, tmp_path, capsys, monkeypatch):
    """A wrong --start or an --out that is a file fails at once (it failed after minutes of templates)."""
    from mcdh.reconstruct import model as model_module

    def no_templates(*args, **kwargs):
        raise AssertionError("templates were made")

    monkeypatch.setattr(model_module.DataModel, "__init__", no_templates)
    afile = tmp_path / "afile"
    afile.write_text("x")
    for args, needle in ((["--out", str(afile)], "afile is a file, not a folder"),
                         (["--out", str(afile / "sub")], "afile is a file, not a folder"),
                         (["--start", "m_A=9"], "start['m_A']"), (["--start", "theta=nan"], "start['theta']"),
                         (["--start", "mass=1"], "names parameters the fit does not have")):
        assert main(["fit", str(data_file), *args, "--quiet"]) == 2, args
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and needle in err[0], (args, err)


# ----------------------------------------------------------------------
# coverage (slow: thousands of fits on two processes)

COVERAGE_POINTS = {
    # eps for ~100 phi signal events at 50 ab^-1; theta for a mean lab decay length near 1 mm
    "B1": DarkSector.from_benchmark("B1", 6.0, eps=4.2e-5, theta=1e-3),
    "B3": DarkSector.from_benchmark("B3", 4.0, eps=4.35e-5, theta=7e-3),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(COVERAGE_POINTS))
def test_coverage_of_1000_poisson_toys(name):
    """Pulls (HESSE) with mean within +-0.1 and width 0.9-1.1, MINOS 68 % intervals covering the truth in
    68 +- 4 % of 1000 seeded toys (1000, not 300: the statistical error of the coverage is then 1.5 %)."""
    dm = DataModel(FitConfig(COVERAGE_POINTS[name], luminosity_fb=50e3, n_b=10, template_events=20_000))
    truth = default_truth(dm.config)
    results = toys(dm, truth, 1000, seed=2026, n_workers=2)
    cov = coverage(results, truth)
    assert cov["_all"]["valid"] >= 990, cov["_all"]
    for k in PARAMETERS:
        c = cov[k]
        assert abs(c["pull_mean"]) < 0.1, (k, c)
        assert 0.9 < c["pull_width"] < 1.1, (k, c)
        assert 0.64 <= c["minos_coverage"] <= 0.72, (k, c)
        assert c["n_minos"] >= 950, (k, c)


@pytest.mark.slow
def test_background_only_toys_find_no_signal_and_limits_agree_with_the_reach():
    """eps = 0: no 3 sigma signal in >= 95 % of toys (the local significance: with m_A, m_phi and theta free
    the fit finds the largest fluctuation, so 2 sigma happens more often than 2.3 %), and the 95 % CL upper
    limits on eps bracket the facade's reach (paper's window analysis, Asimov background)."""
    dm = DataModel(FitConfig(COVERAGE_POINTS["B1"], luminosity_fb=50e3, n_b=10, template_events=20_000))
    truth = default_truth(dm.config) | {"eps": 0.0}
    results = toys(dm, truth, 300, seed=7, n_workers=2, options=FitOptions(minos=False, upper_limit=True))
    z = np.sqrt([r.q0 for r in results])  # q0 also where the fit ended at the edge (no z_local printed there)
    assert np.mean(z < 3) >= 0.95
    limits = np.array([r.eps_upper_95 for r in results], dtype=float)
    assert np.all(np.isfinite(limits))
    reach = Study(luminosity_fb=50e3, n_b=10).eps_reach("B1", 6.0, "combined", theta=1e-3).eps
    lo, hi = np.quantile(limits, [0.025, 0.975])
    assert lo < reach < hi, (lo, reach, hi)


@pytest.mark.slow
def test_event_level_pseudo_data_are_fitted_without_bias():
    """Pseudo-data drawn from independent generator samples (not the templates): the pulls of 100 data sets
    average to zero within three standard errors, so templates and generator agree."""
    dm = DataModel(FitConfig(COVERAGE_POINTS["B1"], luminosity_fb=50e3, n_b=10, template_events=20_000))
    pulls = {k: [] for k in PARAMETERS}
    for seed in range(100):
        r = fit(dm, poisson_data(dm.config, seed=seed, mc_events=100_000), options=NO_INTERVALS)
        if r.valid:
            for k, p in r.pulls().items():
                pulls[k].append(p)
    for k, p in pulls.items():
        assert len(p) >= 95
        assert abs(np.mean(p)) < 3 / math.sqrt(len(p)), (k, np.mean(p))
        assert 0.8 < np.std(p) < 1.2, (k, np.std(p))


@pytest.mark.slow
def test_an_analysts_own_ntuple_is_fitted_with_the_hypothesis_given(data_file, tmp_path, mcdh):
    """A plain ntuple written by another program (no mcdh header): the model of the data comes from the
    command line; without it, one line says what is missing."""
    import uproot

    with uproot.open(data_file) as f:
        trees = {t: f[t].arrays(["__weight__", "mchichi", "E_gamma", "phi_vr", "m_vtx"] if t == "gammaphi" else
                                ["__weight__", "mchichi", "phi_vr", "m_vtx"], library="np") for t in ("phi", "gammaphi")}
    plain = tmp_path / "plain.root"
    with uproot.recreate(plain) as f:
        for t, cols in trees.items():
            f[t] = {k: v.astype(np.float32) for k, v in cols.items()}  # another program's floats
    r = mcdh("fit", str(plain))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "--mA" in r.stderr, r.stderr
    out = tmp_path / "own"
    assert main(["fit", str(plain), "--benchmark", "B1", "--mA", "6", "--eps", "4.2e-5", "--theta", "1e-3",
                 "--lumi-fb", "5e4", "--nb", "10", "--template-events", "4000", "--no-contours", "--toys", "0",
                 "--out", str(out), "--quiet"]) == 0
    saved = json.loads((out / "fit.json").read_text())
    assert saved["result"]["valid"] and saved["data"]["events"]["phi"] == trees["phi"]["__weight__"].sum()
