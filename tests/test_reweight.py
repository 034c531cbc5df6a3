"""Lifetime reweighting of simulated ntuples (issue 24): one sample made equal to samples at other c tau."""
import json

import numpy as np
import pytest
from scipy.stats import chi2

import mcdh
from mcdh.analysis.lifetime import lifetime_weights
from mcdh.cli import main
from mcdh.errors import ParameterError

MODEL = mcdh.DarkSector.from_benchmark("B1", 6.0)
THETA0, THETA1 = 1e-4, 2e-4  # c tau 29 mm and 7.3 mm
MCDH_BRANCHES = "E=phi_E,px=phi_px,py=phi_py,pz=phi_pz,x=phi_vx,y=phi_vy,z=phi_vz"  # mcdh's ntuple (mm)
EDGES = np.linspace(0.0, 60.0, 31)  # transverse decay radius, mm


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    d = tmp_path_factory.mktemp("rw")
    out = {}
    for name, theta, seed in (("theta0", THETA0, 1), ("theta1", THETA1, 2)):
        path = d / f"{name}.root"
        ev = mcdh.generate_signal(MODEL.replace(theta=theta), "phi", 60_000, seed, frame="lab", n_threads=1)
        mcdh.write_events(path, ev, seed=seed)
        out[name] = path
    return out


def _tree(path):
    import uproot

    with uproot.open(path) as f:
        return f[f.keys()[0].split(";")[0]].arrays(library="np")


def _radius_hist(path, weights=None):
    t = _tree(path)
    w = t["__weight__"] * (1.0 if weights is None else weights)
    return np.histogram(t["phi_vr"], EDGES, weights=w)[0], np.histogram(t["phi_vr"], EDGES, weights=w * w)[0]


def _agree(a, b):
    (h1, v1), (h2, v2) = a, b
    keep = (v1 + v2) > 0
    stat = float(np.sum((h1 - h2)[keep] ** 2 / (v1 + v2)[keep]))
    return chi2.sf(stat, int(keep.sum()))


def test_reweighting_to_another_ctau_reproduces_a_sample_generated_there(samples, tmp_path):
    out = tmp_path / "w.root"
    ctau0, ctau1 = MODEL.replace(theta=THETA0).ctau_phi_mm, MODEL.replace(theta=THETA1).ctau_phi_mm
    assert main(["reweight", str(samples["theta0"]), "--output", str(out), "--branches", MCDH_BRANCHES, "--length-unit",
                 "mm", "--ctau-list", f"{ctau1!r},{ctau0!r}", "--ctau0", repr(ctau0), "--quiet"]) == 0
    w = _tree(out)
    assert np.array_equal(w["__entry__"], np.arange(60_000))
    (k1, k0) = [k for k in w if k.startswith("w_ctau")]
    np.testing.assert_allclose(w[k0], 1.0, rtol=1e-12)  # to the generated c tau: weight 1
    assert _agree(_radius_hist(samples["theta0"], w[k1]), _radius_hist(samples["theta1"])) > 0.01
    # and the samples really differ: without the weights they disagree
    assert _agree(_radius_hist(samples["theta0"]), _radius_hist(samples["theta1"])) < 1e-6
    # stored as 32-bit floats by default; --double keeps the kernel's 64-bit values, which round to the same
    assert w[k1].dtype == np.float32
    assert main(["reweight", str(samples["theta0"]), "--output", str(out), "--branches", MCDH_BRANCHES, "--length-unit",
                 "mm", "--ctau-list", repr(ctau1), "--ctau0", repr(ctau0), "--quiet", "--double"]) == 0
    w64 = _tree(out)[k1]
    assert w64.dtype == np.float64 and np.array_equal(w64.astype(np.float32), w[k1])
    assert not np.array_equal(w64, w[k1].astype(np.float64))


def test_flat_decays_reweighted_equal_exponential_ones(samples, tmp_path):
    """A basf2-like ntuple (MC-truth branches in cm) whose decays were drawn flat in [0, 30] cm along the flight
    (GeneratedVertexDisplacer 'flat'), reweighted with --theta: the sample generated at that theta."""
    import uproot

    t = _tree(samples["theta0"])
    p = np.stack([t["phi_px"], t["phi_py"], t["phi_pz"]], axis=1)
    length = np.random.default_rng(7).uniform(0.0, 30.0, len(p))  # cm
    v = p / np.linalg.norm(p, axis=1, keepdims=True) * length[:, None]
    basf2 = tmp_path / "basf2.root"
    cols = {"mcE": t["phi_E"], "mcPX": p[:, 0], "mcPY": p[:, 1], "mcPZ": p[:, 2], "mcDecayVertexX": v[:, 0],
            "mcDecayVertexY": v[:, 1], "mcDecayVertexZ": v[:, 2], "__weight__": t["__weight__"],
            "mcProductionVertexX": np.zeros(len(p)), "mcProductionVertexY": np.zeros(len(p)),
            "mcProductionVertexZ": np.zeros(len(p)), "phi_vr": np.hypot(v[:, 0], v[:, 1]) * 10.0}
    with uproot.recreate(basf2) as f:  # a TTree, as basf2's variablesToNtuple writes
        f.mktree("variables", {k: x.dtype for k, x in cols.items()})
        f["variables"].extend(cols)
    out = tmp_path / "wf.root"
    assert main(["reweight", str(basf2), "--output", str(out), "--source", "flat", "--flat-range", "0,30", "--theta-list",
                 str(THETA1), "--benchmark", "B1", "--mA", "6", "--quiet"]) == 0
    w = _tree(out)[f"w_theta_{THETA1:.6g}"]
    assert _agree(_radius_hist(basf2, w), _radius_hist(samples["theta1"])) > 0.01


def test_weights_are_exact_and_normalised():
    rng = np.random.default_rng(1)
    bg = rng.uniform(0.5, 3.0, 200_000)
    length = -np.log(rng.random(bg.size)) * 2.0 * bg
    w, sums = lifetime_weights(length, bg, [2.0, 1.0, 4.0], "exponential", ctau0=2.0, with_sums=True)
    np.testing.assert_allclose(w[0], 1.0, rtol=1e-14)
    assert w.mean(axis=1)[1:] == pytest.approx([1.0, 1.0], rel=0.02)  # reweighting keeps the normalisation
    np.testing.assert_allclose(w[1, :3], 2.0 * np.exp(length[:3] / (2.0 * bg[:3]) - length[:3] / bg[:3]), rtol=1e-13)
    np.testing.assert_allclose(sums, np.stack([w.sum(axis=1), np.square(w).sum(axis=1)], axis=1), rtol=1e-10)
    for kw, needle in (({"ctau0": None}, "ctau0"), ({"ctau0": -1.0}, "ctau0")):
        with pytest.raises(ParameterError, match=needle):
            lifetime_weights(length, bg, [1.0], "exponential", **kw)
    with pytest.raises(ParameterError, match="flat_range"):
        lifetime_weights(length, bg, [1.0], "flat", flat_range=(3.0, 1.0))
    with pytest.raises(ParameterError, match="length"):
        lifetime_weights([np.nan], [1.0], [1.0], "exponential", ctau0=1.0)


@pytest.mark.slow
def test_damaged_or_foreign_ntuples_are_refused_in_one_line(samples, tmp_path, mcdh):
    import uproot

    text = tmp_path / "text.root"
    text.write_text("not a ROOT file\n")
    truncated = tmp_path / "truncated.root"
    truncated.write_bytes(samples["theta0"].read_bytes()[:5000])
    spacelike = tmp_path / "spacelike.root"
    with uproot.recreate(spacelike) as f:
        cols = {b: np.ones(5) for b in ("mcE", "mcPX", "mcPY", "mcPZ", "mcDecayVertexX", "mcDecayVertexY",
                                        "mcDecayVertexZ")}
        f.mktree("t", {k: np.float64 for k in cols})
        f["t"].extend(cols)
    jagged = tmp_path / "jagged.root"
    with uproot.recreate(jagged) as f:
        import awkward as ak

        branches = ("mcE", "mcPX", "mcPY", "mcPZ", "mcDecayVertexX", "mcDecayVertexY", "mcDecayVertexZ")
        f.mktree("t", {b: "var * float64" for b in branches})
        f["t"].extend({b: ak.Array([[1.0] * (i % 3) for i in range(5)]) for b in branches})
    base = ["--ctau-list", "1"]
    for args, needle in (([text] + base + ["--ctau0", "1"], "text.root"),
                         ([truncated] + base + ["--ctau0", "1"], "truncated.root"),
                         ([samples["theta0"]] + base + ["--ctau0", "1"], "mcE"),  # basf2's names by default
                         ([spacelike] + base + ["--ctau0", "1"], "entry 0"),
                         ([spacelike] + base, "ctau0"),
                         ([spacelike, "--theta-list", "1e-4", "--ctau0", "1"], "model"),
                         ([spacelike] + base + ["--ctau0", "1", "--branches", "mass=m"], "roles"),
                         ([jagged] + base + ["--ctau0", "1"], "is jagged")):
        r = mcdh("reweight", *args)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and len(lines) == 1 and needle in lines[0], (args, r.stderr)


def test_json_summary(samples, tmp_path, capsys):
    out = tmp_path / "j.root"
    assert main(["reweight", str(samples["theta1"]), "--output", str(out), "--branches", MCDH_BRANCHES,
                 "--length-unit", "mm", "--theta-list", "1e-4,2e-4", "--theta0", "2e-4", "--benchmark", "B1", "--mA", "6",
                 "--json", "--quiet"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["events"] == 60_000 and set(s["sum_of_weights"]) == {"w_theta_0.0001", "w_theta_0.0002"}
    assert s["sum_of_weights"]["w_theta_0.0002"] == pytest.approx(60_000, rel=1e-12)
    assert s["effective_events"]["w_theta_0.0002"] == pytest.approx(60_000, rel=1e-12)
    # theta 1e-4 from 2e-4: c tau 4x the sample's, weights of infinite variance - said, with few effective events
    assert s["effective_events"]["w_theta_0.0001"] < 0.5 * 60_000
    assert len(s["notes"]) == 1 and "w_theta_0.0001" in s["notes"][0] and "infinite variance" in s["notes"][0]
