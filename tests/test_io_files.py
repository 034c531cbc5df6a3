"""LHE and HepMC3 export/import, streaming writers, bad files."""
import json
import math
import os
import re
from pathlib import Path

import numpy as np
import pytest

from mcdh.errors import FileFormatError, ParameterError
from mcdh.generate.decays import decay_table
from mcdh.generate.signal import SignalStream, generate_signal
from mcdh.io import file_format, open_writer, read_events, write_events
from mcdh.io.hepmc import read_hepmc, write_hepmc
from mcdh.io.lhe import PDG_IDS, read_lhe, write_lhe
from mcdh.io.root import read_root
from mcdh.physics.model import DarkSector

DATA = Path(__file__).parent / "data"
MG_FILE = DATA / "madgraph-wbj-head.lhe"


@pytest.fixture(scope="module")
def model():
    return DarkSector.from_benchmark("B1", 6.0)


@pytest.fixture(scope="module", params=[("phi", "cms"), ("gammaphi", "lab")], ids=["phi-cms", "gammaphi-lab"])
def sample(request, model):
    proc, frame = request.param
    return generate_signal(model, proc, 1500, 3, n_threads=1, frame=frame)


@pytest.mark.parametrize("suffix", [".lhe", ".lhe.gz", ".hepmc", ".root"])
def test_round_trip_is_exact(tmp_path, sample, suffix):
    path = write_events(tmp_path / f"s{suffix}", sample)
    back = read_events(path)
    assert np.array_equal(back.momenta, sample.momenta)
    assert np.array_equal(back.weights, sample.weights)
    assert back.particles == sample.particles and back.frame == sample.frame and back.process == sample.process
    assert back.parameters["sigma_fb"] == sample.parameters["sigma_fb"]
    assert [p.name for p in tmp_path.iterdir()] == [f"s{suffix}"]  # no temporary files left


def test_lhe_init_block_and_pb_weights(tmp_path, sample):
    import pylhe

    path = write_lhe(tmp_path / "s.lhe", sample)
    lhe = pylhe.LHEFile.fromfile(str(path), generator=False)
    info, proc = lhe.init.initInfo, lhe.init.procInfo[0]
    assert (info.beamA, info.beamB, info.weightingStrategy) == (11, -11, 4)
    # beams carry the events' total energy (lab: the CMS at 10.58 GeV boosted with the SuperKEKB boost)
    assert info.energyA + info.energyB == pytest.approx(sample.momenta[0, :, 0].sum(), rel=1e-12)
    assert proc.xSection == pytest.approx(sample.sigma_fb * 1e-3, rel=1e-14)
    xw = np.array([e.eventinfo.weight for e in lhe.events])
    assert xw.mean() == pytest.approx(proc.xSection, rel=1e-12)  # LHA: sigma = <XWGTUP> for IDWTUP = 4
    # the file read as a foreign one (XWGTUP, average normalisation) gives the same sample to rounding
    foreign = read_lhe(path, normalisation="average")
    ev = lhe.events[0]
    assert {p.id for p in ev.particles if p.status == 1} == {PDG_IDS[k] for k in sample.particles}
    assert foreign.sigma_fb == pytest.approx(sample.sigma_fb, rel=1e-12)


def test_lhe_phi_lifetime_column(tmp_path, model):
    ev = generate_signal(model, "phi", 20000, 5, n_threads=1)
    import pylhe

    path = write_lhe(tmp_path / "s.lhe", ev, seed=1)
    taus = np.array([[p.lifetime for p in e.particles if p.id == 54][0] for e in pylhe.LHEFile.fromfile(str(path), generator=False).events])
    # VTIMUP ~ Exp(c tau): its mean within 4 standard errors
    assert abs(taus.mean() - model.ctau_phi_mm) < 4 * model.ctau_phi_mm / math.sqrt(taus.size)


def _plain_parse(path):
    """An independent reading of the MadGraph file: final-state lines and XWGTUP of each event."""
    events, lines, inside = [], [], False
    for line in Path(path).read_text().splitlines():
        s = line.strip()
        if s.startswith("<event"):
            inside, lines = True, []
        elif s.startswith("</event>"):
            inside = False
            events.append(lines)
        elif inside and s and not s.startswith(("<", "#")):
            lines.append(s.split())
    return events


def test_madgraph_lhe_import():
    roles = {"W+": 24, "b": 5, "d": 1}
    ev = read_lhe(MG_FILE, roles=roles)
    raw = _plain_parse(MG_FILE)
    assert len(ev) == len(raw) == 5
    assert ev.particles == ("W+", "b", "d") and ev.frame == "cms"
    for i, rows in enumerate(raw):
        xwgt = float(rows[0][2])
        assert ev.weights[i] == pytest.approx(xwgt * 1000 / 5, rel=1e-15)  # average normalisation, pb -> fb
        for slot, pdg in roles.items():
            (row,) = [r for r in rows[1:] if int(r[0]) == pdg and int(r[1]) == 1]
            px, py, pz, e = map(float, row[6:10])
            assert np.array_equal(ev.momentum(slot)[i], [e, px, py, pz])
    # sigma from <init>: 50.109086 pb; the weights average to XWGTUP = 50.109093 pb
    assert ev.parameters["sigma_fb"] == pytest.approx(50109.086, rel=1e-12)
    assert ev.parameters["sigma_err_fb"] == pytest.approx(89.185414, rel=1e-12)
    assert ev.parameters["weight_normalisation"] == "average"
    assert ev.parameters["beam_ids"] == [2212, 2212] and ev.parameters["weighting_strategy"] == -4
    assert ev.sigma_fb == pytest.approx(50109.093, rel=1e-12)
    assert read_lhe(MG_FILE, roles=roles, normalisation="sum").sigma_fb == pytest.approx(5 * 50109.093, rel=1e-12)


def test_madgraph_lhe_wrong_roles_named():
    with pytest.raises(FileFormatError, match=r"event 1: slot\(s\) phi \(PDG 54\) found 0 times"):
        read_lhe(MG_FILE)
    # incoming partons (status -1) never fill a slot: the u of event 1 is incoming only
    with pytest.raises(FileFormatError, match=r"event 1: slot\(s\) u \(PDG 2\) found 0 times"):
        read_lhe(MG_FILE, roles={"W+": 24, "u": 2})
    assert len(read_lhe(MG_FILE, roles={"b": 5})) == 5  # the outgoing b only, though a b also comes in
    with pytest.raises(ParameterError, match="roles"):
        read_lhe(MG_FILE, roles={"a": 5, "b": 5})


def _corrupt_third_event_number(text):
    """Replace a momentum of the 3rd event by a non-number; return the text and the 1-based line number."""
    lines = text.split("\n")
    k = [i for i, line in enumerate(lines) if line == "<event>"][2] + 4  # event line, 2 beams, first particle
    fields = lines[k].split()
    fields[7] = "x" + fields[7]
    lines[k] = " ".join(fields)
    return "\n".join(lines), k + 1


@pytest.mark.parametrize("damage", ["truncated", "broken-xml", "bad-number"])
def test_damaged_lhe_is_reported_by_path_and_line(tmp_path, sample, damage):
    text = write_lhe(tmp_path / "good.lhe", sample).read_text()
    if damage == "truncated":
        text, line = text[: len(text) * 2 // 3], None
    elif damage == "broken-xml":
        text = text.replace("</init>", "</innit>", 1)
        line = text[: text.index("</innit>")].count("\n") + 1
    else:
        text, line = _corrupt_third_event_number(text)
    bad = tmp_path / "bad.lhe"
    bad.write_text(text)
    with pytest.raises(FileFormatError) as err:
        read_lhe(bad)
    msg = str(err.value)
    assert msg.startswith(str(bad)) and "nothing was read" in msg
    assert re.search(r"line \d+", msg)
    if line is not None:
        assert f"line {line}" in msg


def test_not_lhe_and_missing(tmp_path):
    p = tmp_path / "x.lhe"
    p.write_text("hello\n")
    with pytest.raises(FileFormatError, match="x.lhe"):
        read_lhe(p)
    with pytest.raises(FileFormatError, match="no such file"):
        read_lhe(tmp_path / "nope.lhe")


def test_hepmc_displaced_decay_physics(tmp_path, model):
    import pyhepmc

    ev = generate_signal(model, "phi", 4000, 9, n_threads=1, frame="lab")
    path = write_hepmc(tmp_path / "s.hepmc", ev, seed=2)
    table = dict(decay_table(model))
    assert sum(table.values()) == pytest.approx(1.0, rel=1e-12)
    # within pi pi: isospin 2 : 1 times the velocities (s-wave), and pi pi + K K + ... as the model's widths
    from mcdh.physics.constants import pdg_mass

    beta = {pid: math.sqrt(1 - 4 * pdg_mass(pid) ** 2 / model.m_phi**2) for pid in (211, 111, 321, 311)}
    assert table[(211, -211)] / table[(111, 111)] == pytest.approx(2 * beta[211] / beta[111], rel=1e-12)
    assert table[(321, -321)] / table[(311, -311)] == pytest.approx(beta[321] / beta[311], rel=1e-12)
    widths = model.widths_phi
    total = sum(widths.values())
    assert table[(211, -211)] + table[(111, 111)] == pytest.approx(widths["pipi"] / total, rel=1e-12)
    assert table[(13, -13)] == pytest.approx(widths["mumu"] / total, rel=1e-12)
    scaled, modes = [], {}
    with pyhepmc.open(str(path)) as f:
        for evt in f:
            (phi,) = [p for p in evt.particles if p.pid == 54]
            assert phi.status == 2
            v = phi.end_vertex
            kids = v.particles_out
            modes[tuple(sorted(k.pid for k in kids))] = modes.get(tuple(sorted(k.pid for k in kids)), 0) + 1
            p = np.array([phi.momentum.e, phi.momentum.px, phi.momentum.py, phi.momentum.pz])
            s = np.sum([[k.momentum.e, k.momentum.px, k.momentum.py, k.momentum.pz] for k in kids], axis=0)
            assert np.allclose(s, p, rtol=1e-12, atol=1e-12)
            for kid in kids:  # on shell at the PDG mass, as written in the file
                km = kid.momentum
                assert math.sqrt(max(km.e**2 - km.px**2 - km.py**2 - km.pz**2, 0)) == pytest.approx(pdg_mass(abs(kid.pid)), rel=1e-6, abs=1e-9)
                assert kid.generated_mass == pdg_mass(abs(kid.pid))
            x = np.array([v.position.x, v.position.y, v.position.z, v.position.t])
            # vertex along the phi direction, at t = x E/|p|
            assert np.allclose(np.cross(x[:3], p[1:]), 0, atol=1e-9 * max(1.0, np.linalg.norm(x[:3])) * np.linalg.norm(p[1:]))
            assert x[3] == pytest.approx(np.linalg.norm(x[:3]) * p[0] / np.linalg.norm(p[1:]), rel=1e-12)
            scaled.append(np.linalg.norm(x[:3]) * model.m_phi / np.linalg.norm(p[1:]))  # proper decay length
    scaled = np.array(scaled)
    assert abs(scaled.mean() - model.ctau_phi_mm) < 4 * model.ctau_phi_mm / math.sqrt(scaled.size)
    frac_pipi = modes.get((-211, 211), 0) / scaled.size
    assert abs(frac_pipi - table[(211, -211)]) < 4 * math.sqrt(table[(211, -211)] / scaled.size)


def test_truncated_hepmc(tmp_path, sample):
    good = write_hepmc(tmp_path / "g.hepmc", sample)
    bad = tmp_path / "b.hepmc"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(FileFormatError, match="truncated"):
        read_hepmc(bad)
    other = tmp_path / "o.hepmc"
    other.write_text("not hepmc\n")
    with pytest.raises(FileFormatError, match="not a HepMC3"):
        read_hepmc(other)


@pytest.mark.parametrize("suffix", [".root", ".lhe", ".hepmc"])
def test_streamed_file_equals_in_memory(tmp_path, model, suffix):
    # ROOT: 3 batches of 2 x 65536 events, each split by the writer at 200000 -> uneven parts
    ref = generate_signal(model, "gammaphi", 300_000 if suffix == ".root" else 3000, 4, n_threads=2)
    stream = SignalStream(model, "gammaphi", len(ref), 4, n_threads=2)
    with open_writer(tmp_path / f"s{suffix}", len(ref), tree="gammaphi") as out:
        for chunk in stream:
            out.write(chunk)
        out.set_parameters(stream.parameters)
    back = read_events(tmp_path / f"s{suffix}", tree="gammaphi")
    if suffix == ".root":
        import uproot

        with uproot.open(tmp_path / "s.root") as f:
            assert np.array_equal(f["gammaphi"]["__event__"].array(library="np"), np.arange(len(ref)))
    assert np.array_equal(back.momenta, ref.momenta) and np.array_equal(back.weights, ref.weights)
    # the stream keeps no per-event array: the same sums in another order
    for key in ("sigma_fb", "sigma_err_fb", "unweighting_efficiency"):
        assert stream.parameters[key] == pytest.approx(ref.parameters[key], rel=1e-12), key


def test_failed_write_leaves_nothing(tmp_path, sample):
    for suffix in (".root", ".lhe", ".hepmc"):
        target = tmp_path / f"x{suffix}"
        with pytest.raises(RuntimeError):
            with open_writer(target, len(sample)) as out:
                out.write(sample)
                raise RuntimeError("interrupted")
        assert not target.exists()
    # a short LHE/HepMC stream is an error too (its normalisation would be wrong)
    with pytest.raises(ParameterError, match="n_events"):
        with open_writer(tmp_path / "y.lhe", len(sample) + 1) as out:
            out.write(sample)
    assert os.listdir(tmp_path) == []


def test_suffix_picks_format(tmp_path):
    assert [file_format(n) for n in ("a.root", "b.LHE", "c.lhe.gz", "d.hepmc", "e.hepmc3")] == ["root", "lhe", "lhe", "hepmc", "hepmc"]
    with pytest.raises(ParameterError, match=r"\.root"):
        file_format(tmp_path / "x.csv")


def test_root_tree_named_after_process_and_weights_in_fb(tmp_path, model):
    ev = generate_signal(model, "phi", 2000, 1, n_threads=1)
    path = write_events(tmp_path / "s.root", ev, tree="phi")
    import uproot

    with uproot.open(path) as f:
        t = f["phi"]
        assert t.num_entries == 2000
        assert t["__weight__"].array(library="np").sum() == pytest.approx(ev.parameters["sigma_fb"], rel=1e-13)
    assert np.array_equal(read_root(path, "phi").momenta, ev.momenta)


def test_corrupt_hepmc_event_named_not_half_read(tmp_path, sample, capfd):
    good = write_hepmc(tmp_path / "g.hepmc", sample)
    lines = good.read_text().splitlines()
    k = [i for i, line in enumerate(lines) if line.startswith("P ")][40]
    lines[k] = "P 3 1 54 garbage"
    bad = tmp_path / "b.hepmc"
    bad.write_text("\n".join(lines) + "\n")
    capfd.readouterr()
    # refused by the structure check before HepMC3's reader, or by the reader: the line or event is named
    with pytest.raises(FileFormatError, match=r"b\.hepmc: (event \d+ \(from line \d+\) cannot be parsed.*nothing was "
                       r"read|line \d+: )"):
        read_hepmc(bad)
    out, err = capfd.readouterr()
    assert out == "" and err == ""  # HepMC3's own messages go into the error, not onto the terminal


def test_foreign_lhe_signal_import_matches(tmp_path, model):
    """An LHE file without mcdh's header or exact weights (as MadGraph writes it) imports to the same sample."""
    import re

    ev = generate_signal(model, "gammaphi", 2000, 8, n_threads=1)
    text = write_lhe(tmp_path / "ours.lhe", ev).read_text()
    text = re.sub(r"<mcdh.*?</mcdh>\n", "", text, flags=re.S)
    text = re.sub(r"<initrwgt>.*?</initrwgt>\n", "", text, flags=re.S)
    text = re.sub(r"<rwgt>.*?</rwgt>\n", "", text, flags=re.S)
    foreign = tmp_path / "foreign.lhe"
    foreign.write_text(text)
    back = read_lhe(foreign)
    assert back.particles == ("gamma", "phi", "chi", "chibar") and back.process == "lhe-import"
    assert np.array_equal(back.momenta, ev.momenta)
    assert np.allclose(back.weights, ev.weights, rtol=1e-14, atol=0)  # pb average normalisation, to rounding
    assert back.parameters["weight_normalisation"] == "average"
    assert back.parameters["sigma_fb"] == pytest.approx(ev.sigma_fb, rel=1e-14)


def test_hepmc_cross_section_record(tmp_path, sample):
    import pyhepmc

    path = write_hepmc(tmp_path / "s.hepmc", sample)
    with pyhepmc.open(str(path)) as f:
        last = None
        for evt in f:
            last = evt
    cs = last.cross_section
    # the last event carries the full-sample estimate (pb), printed with 9 digits
    assert cs.xsec() == pytest.approx(sample.sigma_fb * 1e-3, rel=1e-8)
    assert cs.xsec_err() == pytest.approx(sample.parameters["sigma_err_fb"] * 1e-3, rel=1e-6)
    # the cross section and the first weight in pb; mcdh's exact weight in fb by name, as in LHE
    assert last.run_info.weight_names == ["Default", "mcdh_fb"]
    assert last.weights[1] == sample.weights[-1] and last.weights[0] == sample.weights[-1] * 1e-3
    units = json.loads(str(last.run_info.attributes["mcdh_parameters"]))
    assert units["weight_units"] == {"Default": "pb", "mcdh_fb": "fb"} and units["cross_section_unit"] == "pb"


def test_phi_decay_stage_vertices_lengths_and_daughters():
    """generate/decays: L ~ Exp(c tau), vertex = p L / m, daughters on shell and conserving four-momentum,
    modes in the proportions of decay_table."""
    from scipy.stats import poisson

    from mcdh.generate.decays import PhiDecayer
    from mcdh.kinematics.variables import mass
    from mcdh.physics.constants import pdg_mass
    from mcdh.physics.model import DarkSector

    model = DarkSector.from_benchmark("B1", 6.0, theta=1e-3)  # m_phi = 1 GeV: leptons, pi pi and K K open
    sig = generate_signal(model, "phi", 60_000, 4)
    q = sig.momentum("phi")
    dec = PhiDecayer(model, seed=9)(q)
    n = len(sig)
    L = dec.proper_length_mm
    assert np.mean(L) == pytest.approx(model.ctau_phi_mm, rel=5 / np.sqrt(n))
    assert np.allclose(dec.vertex_mm, q * (L / model.m_phi)[:, None], rtol=1e-9)
    kids = dec.daughters
    assert np.allclose(kids[0] + kids[1], q, rtol=0, atol=1e-12 * q[:, :1].max())
    assert np.allclose(mass(kids[0]), dec.daughter_masses[:, 0], atol=1e-6)
    assert np.allclose(mass(kids[1]), dec.daughter_masses[:, 1], atol=1e-6)
    for (ids, br) in decay_table(model):
        count = int(np.sum(np.all(dec.daughter_ids == ids, axis=1)))  # binomial, ~Poisson (modes down to 1e-7)
        assert poisson.sf(count - 1, n * br) > 1e-4 and poisson.cdf(count, n * br) > 1e-4, (ids, count, n * br)
        assert dec.daughter_masses[np.all(dec.daughter_ids == ids, axis=1)][:, 0] == pytest.approx(pdg_mass(abs(ids[0])))
    # without daughters (the LHE writer): the same lengths from the same seed, no daughter draws
    bare = PhiDecayer(model, seed=9, daughters=False)(q)
    assert np.array_equal(bare.proper_length_mm, L) and bare.daughters.shape == (2, 0, 4)
