"""Into Belle II's simulation (issue 24): what basf2 makes of mcdh's LHE files, and the steering that makes it right.

basf2 cannot be installed here; :func:`basf2_read` ports the parsing rules of its LHE chain, written from
the source (repository belle2/basf2):

* ``generators/lhe/src/LHEReader.cc``: ``open`` - a plain ``std::ifstream`` (no decompression);
  ``readEventHeader`` - lines are cut at ``#`` and trimmed, skipped up to one equal to ``<event>``, the next
  non-empty line is split at ``,; \\t`` into numbers of which the first is NUP, and the event weight is set
  to 1.0; ``readParticle`` - exactly 13 numbers, PDG id = field 0, mother = field 2, momentum = fields 6-8,
  mass = field 10 (the energy follows from them); ``getEvent`` - ``wrongSignPz`` mirrors p_z, the first
  ``nInitial`` particles are flagged initial, the next ``nVirtual`` virtual.
* ``generators/modules/src/LHEInputModule.cc``: the weight is stored only with ``useWeights``; defaults
  nInitialParticles = 0, nVirtualParticles = 0, wrongSignPz = True, useWeights = False.
"""
import ast
import gzip
import math
import re

import numpy as np
import pytest

import mcdh
from mcdh.analysis.lifetime import lifetime_weights
from mcdh.cli import main
from mcdh.errors import ParameterError
from mcdh.io.basf2 import basf2_config_for, evtgen_decay_file
from mcdh.kinematics.beams import Beams

MODEL = mcdh.DarkSector.from_benchmark("B1", 6.0)
SEPARATORS = re.compile(r"[,; \t]+")


def _lines(path):
    with open(path, "rb") as f:  # std::ifstream: bytes as they are
        for raw in f:
            line = raw.decode("latin-1").split("#", 1)[0].strip()
            yield line


def basf2_read(path, n_initial=0, n_virtual=0, wrong_sign_pz=True, use_weights=False):
    """basf2's LHEInput as ported above: a list of events, each {"weight", "particles": [(pdg, mother, p4,
    initial, virtual)]}."""
    lines = _lines(path)
    events = []
    for line in lines:
        if line != "<event>":
            continue
        head = next(line for line in lines if line)
        fields = [float(t) for t in SEPARATORS.split(head) if t]
        n = int(fields[0])
        particles = []
        for i in range(n):
            f = [float(t) for t in SEPARATORS.split(next(line for line in lines if line)) if t]
            assert len(f) == 13, f"LHEParticleFormatError: {len(f)} fields"
            px, py, pz, m = f[6], f[7], f[8], f[10]
            if wrong_sign_pz:
                pz = -pz
            e = math.sqrt(px * px + py * py + pz * pz + m * m)
            particles.append((int(f[0]), int(f[2]), np.array([e, px, py, pz]), i < n_initial,
                              n_initial <= i < n_initial + n_virtual))
        events.append({"weight": 1.0 if use_weights else None, "particles": particles})
    return events


SETTINGS = {"n_initial": 2, "n_virtual": 0, "wrong_sign_pz": False, "use_weights": True}  # the fragment's


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("basf2")
    out = {}
    for process in ("phi", "gammaphi"):
        for frame in ("cms", "lab"):
            ev = mcdh.generate_signal(MODEL, process, 300, 5, frame=frame, n_threads=1)
            path = d / f"{process}_{frame}.lhe"
            mcdh.write_events(path, ev, pdg={"phi": 9000005} if frame == "lab" else None)
            out[process, frame] = (path, ev)
    uw = d / "unit.lhe"
    assert main(["generate", "signal", "--process", "phi", "--benchmark", "B1", "--mA", "6", "--events", "2000",
                 "--unweight", "--frame", "lab", "--output", str(uw), "--quiet"]) == 0
    out["unit"] = (uw, None)
    return out


@pytest.mark.parametrize("process", ["phi", "gammaphi"])
@pytest.mark.parametrize("frame", ["cms", "lab"])
def test_basf2s_reader_reads_every_variant(files, process, frame):
    path, ev = files[process, frame]
    events = basf2_read(path, **SETTINGS)
    assert len(events) == ev.n_events
    n_out = len(ev.particles)
    for e, p in zip(events, ev.momenta):
        parts = e["particles"]
        assert len(parts) == 2 + n_out
        assert [x[3] for x in parts] == [True, True] + [False] * n_out  # beams initial: not simulated
        assert not any(x[4] for x in parts)
        assert parts[0][0] == 11 and parts[1][0] == -11  # e- first, along +z (Belle II): wrongSignPz = False
        assert parts[0][2][3] > 0
        np.testing.assert_allclose(np.array([x[2] for x in parts[2:]]), p, rtol=1e-12, atol=1e-12)
    ids = {x[0] for x in events[0]["particles"][2:]}
    assert (9000005 if frame == "lab" else 54) in ids


def test_basf2s_defaults_and_a_gzipped_file_go_wrong_silently(files, tmp_path):
    """What a user who follows no steering gets: the beams not initial (simulated), every p_z mirrored, no
    weight; and from a .lhe.gz, no event at all."""
    path, ev = files["phi", "cms"]
    e = basf2_read(path)[0]
    assert not e["particles"][0][3] and e["weight"] is None
    np.testing.assert_allclose(e["particles"][2][2][3], -ev.momenta[0, 0, 3])
    gz = tmp_path / "s.lhe.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    assert basf2_read(gz, **SETTINGS) == []


def test_basf2s_weight_is_one_so_files_for_it_are_unweighted(files):
    path, _ = files["unit"]
    events = basf2_read(path, **SETTINGS)
    assert {e["weight"] for e in events} == {1.0}
    import pylhe

    w = np.array([e.eventinfo.weight for e in pylhe.LHEFile.fromfile(str(path)).events])
    assert len(w) == len(events)
    # unit weights w_max but for events above w_max, whose excess is <= 0.1 % of sigma: what basf2 loses
    assert (w.sum() - w.min() * len(w)) / w.sum() < 1.5e-3


def test_the_fragments_boost_gives_the_lab_files_momenta(files):
    """CMS file read with the fragment's settings, then boosted to the lab (BoostMCParticles): the lab file's
    momenta of the same seed, to 1e-6 GeV."""
    cms = basf2_read(files["phi", "cms"][0], **SETTINGS)
    lab = basf2_read(files["phi", "lab"][0], **SETTINGS)
    beams = Beams()
    worst = 0.0
    for a, b in zip(cms, lab):
        p_cms = np.array([x[2] for x in a["particles"][2:]])
        p_lab = np.array([x[2] for x in b["particles"][2:]])
        worst = max(worst, float(np.abs(beams.to_lab(p_cms) - p_lab).max()))
    assert worst < 1e-6


def _fragment(files, key, **kw):
    steering, dec = basf2_config_for(files[key][0], keep_weighted=key != "unit", **kw)
    tree = ast.parse(steering)
    return steering, dec, tree


def _calls(tree):
    """{(object, method, first argument): remaining arguments} of the fragment's calls with literal arguments."""
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            args = [ast.literal_eval(a) for a in node.args if isinstance(a, ast.Constant | ast.List | ast.UnaryOp)]
            kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords if isinstance(k.value, ast.Constant)}
            owner = node.func.value.id if isinstance(node.func.value, ast.Name) else None
            key = (owner, node.func.attr, args[0] if args else None)
            out[key] = (args[1:], kwargs)
    return out


@pytest.mark.parametrize("key", [("phi", "cms"), ("phi", "lab")])
def test_the_fragment_sets_every_value(files, key):
    steering, dec, tree = _fragment(files, key)
    calls = _calls(tree)
    assert calls["lhe", "param", "nInitialParticles"][0] == [2]
    assert calls["lhe", "param", "nVirtualParticles"][0] == [0]
    assert calls["lhe", "param", "wrongSignPz"][0] == [False]
    assert calls["lhe", "param", "useWeights"][0] == [True]
    assert calls["lhe", "param", "inputFileList"][0] == [[str(files[key][0].resolve())]]
    boosted = ("main", "add_module", "BoostMCParticles") in calls
    assert boosted == (key[1] == "cms")  # a lab file boosted again would be boosted twice
    phi = 54 if key[1] == "cms" else 9000005
    assert calls["displacer", "param", "pdgVal"][0] == [[phi]]
    assert calls["displacer", "param", "lifetime"][0] == [[pytest.approx(MODEL.ctau_phi_mm / 10, rel=1e-12)]]  # cm
    assert calls["displacer", "param", "lifetimeOption"][0] == ["exponential"]
    args, kwargs = calls["pdg", "add_particle", "phi_dark"]
    assert args[0] == phi and args[1] == MODEL.m_phi and kwargs["lifetime"] == 0
    assert calls["pdg", "add_particle", "chi_dark"][0][0] == 52
    assert f"expected events at 10000 fb^-1: {files[key][1].sigma_fb * 1e4:.6g}" in steering
    assert "WEIGHTED EVENTS" in steering  # these files are weighted: the fragment says where the weights are
    assert "WEIGHTED EVENTS" not in _fragment(files, "unit")[0]
    # the decay file: the model's branching ratios, K0 pairs as CP-even K_S K_S / K_L K_L
    modes = {tuple(line.split()[1:3]): float(line.split()[0]) for line in dec.splitlines()
             if line.endswith("PHSP;")}
    assert sum(modes.values()) == pytest.approx(1.0, abs=1e-9)
    table = dict(mcdh.generate.decays.decay_table(MODEL))
    assert modes["pi+", "pi-"] == pytest.approx(table[211, -211], rel=1e-9)
    assert modes["K_S0", "K_S0"] == modes["K_L0", "K_L0"] == pytest.approx(table[311, -311] / 2, rel=1e-9)
    assert dec.startswith("# EvtGen") and "Decay phi_dark" in dec and dec.rstrip().endswith("End")


def test_the_flat_option_and_its_weights(files):
    steering, _, tree = _fragment(files, ("phi", "lab"), lifetime_option="flat", flat_max_cm=120.0)
    calls = _calls(tree)
    assert calls["displacer", "param", "lifetimeOption"][0] == ["flat"]
    assert calls["displacer", "param", "maxDecayTime"][0] == [120.0]
    with pytest.raises(ParameterError, match="lifetime_option"):
        basf2_config_for(files["phi", "lab"][0], keep_weighted=True, lifetime_option="fixed")


def test_flat_decays_weighted_equal_exponential_ones():
    """GeneratedVertexDisplacer's flat option, then the weight: the decay-length distribution of the
    exponential option at c tau (chi^2 against a directly drawn exponential sample, p > 0.01)."""
    from scipy.stats import chi2

    rng = np.random.default_rng(3)
    n, l_max, ctau = 400_000, 60.0, 3.0
    bg = rng.uniform(0.5, 4.0, n)  # beta gamma of each phi
    flat = rng.uniform(0.0, l_max, n)
    w = lifetime_weights(flat, bg, [ctau], "flat", flat_range=(0.0, l_max))[0]
    bg2 = rng.uniform(0.5, 4.0, n)
    expo = -np.log(rng.random(n)) * ctau * bg2
    edges = np.linspace(0, l_max, 41)
    h_flat, _ = np.histogram(flat, edges, weights=w)
    v_flat, _ = np.histogram(flat, edges, weights=w * w)
    h_exp, _ = np.histogram(expo, edges)
    stat = float(np.sum((h_flat - h_exp) ** 2 / (v_flat + h_exp)))
    assert chi2.sf(stat, edges.size - 1) > 0.01, stat
    # each flat event's weight averages to P(L < L_max) of its exponential: the sample keeps its normalisation
    assert w.sum() == pytest.approx(np.sum(-np.expm1(-l_max / (ctau * bg))), rel=0.01)


@pytest.mark.slow
def test_refusals_are_one_line(files, tmp_path, mcdh):
    gz = tmp_path / "s.lhe.gz"
    gz.write_bytes(gzip.compress(files["unit"][0].read_bytes()))
    foreign = tmp_path / "foreign.lhe"
    foreign.write_text(re.sub(r"<mcdh.*?</mcdh>", "", files["unit"][0].read_text(), flags=re.S))
    for args, needle in (([gz], "gunzip"), ([files["phi", "cms"][0]], "--unweight"), ([foreign], "model"),
                         ([files["unit"][0], "--lifetime-option", "fixed"], "lifetime_option")):
        r = mcdh("basf2-config", *args)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and len(lines) == 1 and needle in lines[0], r.stderr
    out = tmp_path / "steer.py"
    r = mcdh("basf2-config", foreign, "--benchmark", "B1", "--mA", "6", "--output", out)
    assert r.returncode == 0, r.stderr
    ast.parse(out.read_text())
    assert (tmp_path / "steer_phi.dec").read_text() == evtgen_decay_file(MODEL)
