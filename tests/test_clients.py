"""mcdh's files in the programs users feed them to: Pythia 8, HepMC3's own bindings, ROOT (issue 13).

Each test runs where its client is installed (pythia8mc and hepmc3 are in the [test] extras; ROOT only
where someone installed it) and is skipped otherwise.
"""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import mcdh
from mcdh.io.pythia import pythia_settings, pythia_settings_for

pytestmark = pytest.mark.client
CLIENTS = Path(__file__).parent / "clients"
MODEL = mcdh.DarkSector.from_benchmark("B1", 6.0)
N = 2000
FREE_PHI_ID = {"phi": 9000005}


def _run(script: str, *args, env=None) -> tuple[dict, str]:
    r = subprocess.run([sys.executable, str(CLIENTS / script), *map(str, args)], capture_output=True, text=True,
                       env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout.strip().splitlines()[-1]), r.stdout + r.stderr


@pytest.fixture(scope="module")
def samples():
    return {frame: mcdh.generate_signal(MODEL, "phi", N, 11, frame=frame, n_threads=1) for frame in ("cms", "lab")}


@pytest.mark.parametrize("frame", ["cms", "lab"])
def test_pythia8_reads_decays_and_places_the_vertex(tmp_path, samples, frame):
    pytest.importorskip("pythia8mc")
    ev = samples[frame]
    lhe, root, cmnd = tmp_path / "s.lhe", tmp_path / "s.root", tmp_path / "s.cmnd"
    mcdh.write_events(lhe, ev, pdg=FREE_PHI_ID, seed=4)
    mcdh.write_events(root, ev, seed=4)  # the same decay lengths as the LHE file's VTIMUP
    cmnd.write_text(pythia_settings_for(lhe))
    out, log = _run("pythia_run.py", cmnd)
    problems = [line for line in log.splitlines() if any(w in line for w in ("Error", "Warning", "Abort"))
                and "reached end of Les Houches Events File" not in line]
    assert problems == [] and out["init"] and out["failed"] == 0
    assert out["events"] == N
    assert out["sigma_fb"] == pytest.approx(ev.sigma_fb, rel=1e-6)
    # every phi decays, into the model's channels
    modes = {tuple(sorted(ids)) for (ids, _) in mcdh.generate.decays.decay_table(MODEL)}
    assert len(out["daughters"]) == N and {tuple(d) for d in out["daughters"]} <= modes
    # the decay length: mean c tau beta gamma within errors, and event by event the length mcdh sampled
    p = np.array(out["phi_p"])
    length = np.array(out["decay_mm"])
    bg = np.linalg.norm(p[:, 1:], axis=1) / MODEL.m_phi
    ctau = MODEL.ctau_phi_mm
    assert abs(length.mean() - ctau * bg.mean()) < 4 * ctau * np.sqrt(np.mean(bg**2) / N)
    import uproot

    with uproot.open(root) as f:
        t = f["signal_phi"].arrays(["phi_L"], library="np")
    np.testing.assert_allclose(length, t["phi_L"] * bg, rtol=1e-8)  # VTIMUP carries 10 digits


def test_pythia_settings_refuse_ids_pythia_recomputes():
    with pytest.raises(mcdh.ParameterError, match="9000005"):
        pythia_settings(MODEL)  # PDG 54: Pythia's own dark-matter mediator
    text = pythia_settings(MODEL, pdg=FREE_PHI_ID, frame="lab")
    assert "9000005:new" in text and "LesHouches:matchInOut = off" in text and "52:isVisible = off" in text


def test_hepmc3_official_bindings_read_the_file(tmp_path, samples):
    if importlib.util.find_spec("pyHepMC3") is None:  # (it imports only with its library path, set below)
        pytest.skip("HepMC3's bindings (pip install hepmc3)")
    ev = samples["lab"]
    path, root = tmp_path / "s.hepmc", tmp_path / "s.root"
    mcdh.write_events(path, ev, seed=9)
    mcdh.write_events(root, ev, seed=9)
    env = dict(os.environ)  # the hepmc3 wheel puts libHepMC3.so in <prefix>/lib64
    env["LD_LIBRARY_PATH"] = os.pathsep.join(filter(None, [os.path.join(sys.prefix, "lib64"), env.get("LD_LIBRARY_PATH")]))
    out, _ = _run("hepmc3_read.py", path, env=env)
    assert out["events"] == N and out["units"] == [["GEV", "MM"]]
    assert out["weight_names"] == ["Default", "mcdh_fb"]
    w = np.array(out["weights"])
    np.testing.assert_array_equal(w[:, 1], ev.weights)  # exact fb weights
    np.testing.assert_allclose(w[:, 0], ev.weights * 1e-3, rtol=1e-15)  # pb, the unit of the cross section
    assert out["xsec_pb"] == pytest.approx(ev.sigma_fb * 1e-3, rel=1e-8)
    # the displaced vertices agree event by event with the ROOT ntuple's MC truth (both in the lab frame here)
    import uproot

    with uproot.open(root) as f:
        t = f["signal_phi"].arrays(["phi_vx", "phi_vy", "phi_vz"], library="np")
    v = np.array(out["phi_vertex"])
    np.testing.assert_allclose(v[:, :3], np.stack([t["phi_vx"], t["phi_vy"], t["phi_vz"]], axis=1), rtol=1e-12, atol=1e-12)


def test_root_rdataframe_reads_the_ntuple(tmp_path, samples):
    ROOT = pytest.importorskip("ROOT", reason="ROOT (pip install root)")
    ev = samples["cms"]
    path = tmp_path / "s.root"
    mcdh.write_events(path, ev, seed=2)
    df = ROOT.RDataFrame("signal_phi", str(path))
    assert df.Count().GetValue() == N
    assert df.Sum("__weight__").GetValue() == pytest.approx(ev.sigma_fb, rel=1e-12)
    assert df.Filter("phi_vr >= 2 && phi_vr <= 9").Count().GetValue() > 0
    f = ROOT.TFile.Open(str(path))
    title = f.Get("signal_phi").GetTitle()
    assert "cms frame" in title and "lab frame" in title
    f.Close()


def test_lhe_mass_column_agrees_with_the_momenta(tmp_path, samples):
    """Lab frame included: every M equals sqrt(E^2 - p^2) of the written momenta to rounding (beams: massless)."""
    import pylhe

    path = tmp_path / "lab.lhe"
    mcdh.write_events(path, samples["lab"], pdg=FREE_PHI_ID)
    worst = 0.0
    for e in pylhe.LHEFile.fromfile(str(path), generator=False).events:
        for p in e.particles:
            m2 = p.e**2 - p.px**2 - p.py**2 - p.pz**2
            worst = max(worst, abs(np.sqrt(abs(m2)) - p.m))
    assert worst < 1e-6
