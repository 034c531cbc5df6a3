"""No silent wrong answer on import, second pass (issue 25): HepMC3 weights and units, LHE's NUP, the physics
of every file checked against its own record, damaged references refused before HepMC3's reader sees them,
and values out of any sensible range refused in one line."""
import re
import subprocess
import sys

import numpy as np
import pytest

import mcdh
from mcdh.errors import FileFormatError, ParameterError
from mcdh.io.hepmc import read_hepmc

MODEL = mcdh.DarkSector.from_benchmark("B1", 6.0)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("imp")
    ev = mcdh.generate_signal(MODEL, "phi", 6, 2, n_threads=1)
    return ev, {s: mcdh.write_events(d / f"s{s}", ev) for s in (".hepmc", ".lhe", ".root")}


def _edit(src, dst, fn):
    dst.write_text(fn(src.read_text()))
    return dst


def test_hepmc_event_without_its_weight_is_refused(files, tmp_path):
    """awk '/^W [0-9]/{n++; if(n==5) next} {print}': read with weight 1.0 before (sigma x26)."""
    lines = files[1][".hepmc"].read_text().splitlines(keepends=True)
    k = [i for i, line in enumerate(lines) if re.match(r"W [0-9]", line)][3]
    bad = tmp_path / "now.hepmc"
    bad.write_text("".join(lines[:k] + lines[k + 1:]))
    with pytest.raises(FileFormatError, match=r"now\.hepmc: event 4 .*no weight record"):
        mcdh.read_events(bad)


def test_hepmc_without_weight_names_needs_their_unit(files, tmp_path):
    """Its pb weight was read as fb (x1000 too low) before."""
    ev, f = files
    bad = _edit(f[".hepmc"], tmp_path / "nonames.hepmc", lambda t: re.sub(r"(?m)^W Default.*\n", "", t))
    with pytest.raises(FileFormatError, match=r"nonames\.hepmc: does not name its weights.*weight_unit"):
        mcdh.read_events(bad)
    got = read_hepmc(bad, weight_unit="pb")
    np.testing.assert_allclose(got.weights, ev.weights, rtol=1e-15)  # the first weight is mcdh's pb weight


@pytest.mark.parametrize("units", ["KEV CM", "GEV KM", "TEV"])
def test_hepmc_units_that_are_not_hepmc3_units_are_refused(files, tmp_path, units):
    bad = _edit(files[1][".hepmc"], tmp_path / "u.hepmc", lambda t: t.replace("U GEV MM", f"U {units}", 1))
    with pytest.raises(FileFormatError, match=r"u\.hepmc: line \d+: units"):
        mcdh.read_events(bad)


def test_a_dangling_vertex_reference_is_refused_not_a_segfault(files, tmp_path):
    """V -1 0 [1,2,99999] crashed HepMC3's reader (exit 139): refused before it parses, in a child process
    so that a crash would show as its exit status."""
    bad = _edit(files[1][".hepmc"], tmp_path / "dangling.hepmc", lambda t: t.replace("V -1 0 [1,2]", "V -1 0 [1,2,99999]", 1))
    code = "import sys, mcdh\ntry:\n    mcdh.read_events(sys.argv[1])\nexcept mcdh.FileFormatError as e:\n    print(e)\n    sys.exit(2)"
    r = subprocess.run([sys.executable, "-c", code, str(bad)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "dangling reference" in r.stdout, (r.returncode, r.stdout, r.stderr[-500:])


@pytest.mark.parametrize("nup", ["999999999", "-3", "4"])
def test_lhe_nup_must_be_the_number_of_particle_lines(files, tmp_path, nup):
    bad = _edit(files[1][".lhe"], tmp_path / "nup.lhe", lambda t: re.sub(r"<event>\n\s*\d+", f"<event>\n {nup}", t, count=1))
    with pytest.raises(FileFormatError, match=r"nup\.lhe: event 1: NUP"):
        mcdh.read_events(bad)


def test_changed_numbers_that_still_parse_are_refused(files, tmp_path):
    """A chibar with p_x = 1e308 (analysed with exit 0 before), an energy changed in the 4th digit, a weight
    doubled: each contradicts the file's own record (beams, masses, sigma)."""
    ev, f = files

    def px(t):  # the third outgoing particle (chibar) of the first event
        lines = t.splitlines(keepends=True)
        k = [i for i, line in enumerate(lines) if line.strip().startswith("-52 ")][0]
        fields = lines[k].split()
        fields[6] = "1e308"
        lines[k] = " ".join(fields) + "\n"
        return "".join(lines)

    with pytest.raises(FileFormatError, match=r"event 1: the final state does not balance the beams"):
        mcdh.read_events(_edit(f[".lhe"], tmp_path / "px.lhe", px))

    import uproot

    with uproot.open(f[".root"]) as src:
        cols = src["signal_phi"].arrays(library="np")
        meta = str(src["mcdh_parameters"])
    for name, change, needle in (("e.root", ("phi_E", 1, 1.001), "does not balance"),
                                 ("w.root", ("__weight__", 2, 2.0), "weights add up to")):
        c = {k: v.copy() for k, v in cols.items()}
        c[change[0]][change[1]] *= change[2]
        path = tmp_path / name
        with uproot.recreate(path) as out:
            out.mktree("signal_phi", {k: v.dtype for k, v in c.items()})
            out["signal_phi"].extend(c)
            out["mcdh_parameters"] = meta
        with pytest.raises(FileFormatError, match=needle):
            mcdh.read_events(path)
    assert mcdh.read_events(f[".root"]).sigma_fb == pytest.approx(ev.sigma_fb, rel=1e-15)  # the original reads


@pytest.mark.parametrize("args", [
    ["pseudodata", "--benchmark", "B1", "--mA", "6", "--lumi-fb", "1e300", "--output", "x.root"],
    ["table", "--channel", "phi", "--nb", "1", "--lumi-fb", "1e300", "--json", "--mA-list", "6"],
    ["xsec", "--process", "phi", "--benchmark", "B1", "--mA", "6", "--g-chi", "1e-200", "--eps", "1e-200"],
    ["xsec", "--process", "phi", "--benchmark", "B1", "--mA", "6", "--lumi-fb", "1e300"],
])
def test_absurd_magnitudes_are_one_line_not_a_traceback(args, tmp_path, mcdh):
    r = mcdh(*args, cwd=tmp_path)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and ("at most" in lines[0] or "at least" in lines[0]), r.stderr


def test_the_library_refuses_them_too():
    with pytest.raises(ParameterError, match="luminosity_fb"):
        mcdh.Study(luminosity_fb=1e300)
    with pytest.raises(ParameterError, match="g_chi"):
        MODEL.replace(g_chi=1e-200)


def test_closed_stdout_read_only_buffers_and_absurd_weights_are_one_line(tmp_path):
    """table --csv with stdout closed (AttributeError before), rambo into a read-only weight buffer (a bare
    ValueError), a data event of weight 1e300 (brentq's sign error)."""
    import os

    from conftest import mcdh_command

    r = subprocess.run([*mcdh_command(), "table", "--channel", "phi", "--nb", "1", "--mA-list", "6", "--csv"],
                       stderr=subprocess.PIPE, text=True, preexec_fn=lambda: os.close(1), timeout=120)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and "standard output is closed" in lines[0], r.stderr
    p, w = np.empty((5, 3, 4)), np.empty(5)
    w.flags.writeable = False
    with pytest.raises(ParameterError, match="weights"):
        mcdh.rambo(10.0, [0.0, 0.0, 0.0], 5, 1, out=(p, w), n_threads=1)
    from mcdh.reconstruct.data import Data
    from mcdh.reconstruct.fit import fit
    from mcdh.reconstruct.model import DataModel, FitConfig

    dm = DataModel(FitConfig(MODEL.replace(eps=4.2e-5, theta=1e-3), luminosity_fb=5e4, n_b=10, template_events=300,
                             background_events=1000, m_A_nodes=4, m_phi_nodes=4), channels=("phi",))
    one = {"phi": {"mchichi": np.array([6.0]), "phi_vr": np.array([3.0]), "m_vtx": np.array([1.0]),
                   "__weight__": np.array([1e300])}}
    with pytest.raises(ParameterError, match=r"one\.root.*at most 1e\+12 events"):
        fit(dm, Data(one, dm.config, source="one.root"))


def test_memory_is_checked_before_anything_is_made(tmp_path, mcdh):
    """pseudodata --nb 1e9 grew to 15.7 GB before; a fit file whose header asks for 1e12 template events ran
    without bound: both refused in one line, the file named when the size came from it."""
    from mcdh.reconstruct.data import Data
    from mcdh.reconstruct.model import FitConfig

    r = mcdh("pseudodata", "--benchmark", "B1", "--mA", "6", "--nb", "1e9", "--lumi-fb", "5e4", "--output",
             tmp_path / "x.root")
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and "--nb" in lines[0] and "GB of memory" in lines[0], r.stderr
    with pytest.raises(ParameterError, match="template_events.*GB of memory"):
        FitConfig(MODEL, template_events=10**12)
    good = FitConfig(MODEL.replace(eps=4.2e-5, theta=1e-3), luminosity_fb=5e4, n_b=10)
    record = good.as_dict() | {"template_events": 10**12}
    cols = {"phi": {"mchichi": np.array([6.0]), "phi_vr": np.array([3.0]), "m_vtx": np.array([1.0]),
                    "__weight__": np.array([1.0])}}
    from mcdh.io.root import write_columns

    path = tmp_path / "big.root"
    write_columns(path, cols, {"pseudodata": {"config": record, "truth": None, "asimov": False, "seed": 1}})
    with pytest.raises(ParameterError, match=r"big\.root.*template_events"):
        Data.read(path)


def test_values_from_a_file_name_the_file_not_a_flag(files, tmp_path, mcdh):
    """A header's m_A = -6 was reported as '--mA: m_A = -6.0 is invalid'; a folder as 'no such file'."""
    bad = _edit(files[1][".lhe"], tmp_path / "neg.lhe", lambda t: t.replace('"m_A": 6.0', '"m_A": -6.0', 1))
    for command in ("pythia-config", "basf2-config"):
        r = mcdh(command, bad, "--keep-weighted") if command == "basf2-config" else mcdh(command, bad)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and len(lines) == 1 and "neg.lhe" in lines[0] and "--mA" not in lines[0], r.stderr
    folder = tmp_path / "adir"
    folder.mkdir()
    r = mcdh("fit", folder)
    assert r.returncode == 2 and "is a folder, not a file" in r.stderr, r.stderr


@pytest.mark.slow
def test_fit_options_that_would_be_ignored_are_refused(tmp_path, mcdh):
    """Without --mA the file's record is the model of the data: --template-events 0, --lumi-fb 0, --g-chi 5 were
    silently ignored."""
    path = tmp_path / "any.root"
    path.write_text("not read: the options are checked first\n")
    for args in (["--template-events", "0"], ["--lumi-fb", "0"], ["--g-chi", "5"], ["--nb", "3"]):
        r = mcdh("fit", path, *args)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and len(lines) == 1 and args[0] in lines[0] and "--mA" in lines[0], r.stderr


def test_a_line_break_in_a_file_name_cannot_reach_pythias_settings():
    from mcdh.io.pythia import pythia_settings

    with pytest.raises(ParameterError, match="line break"):
        pythia_settings(MODEL, lhe="a.lhe\nHadronLevel:all = off", pdg={"phi": 9000005})
