"""No silent wrong answer from a file or folder (issue 15): every reproduction of the issue, one line each."""
import json
import math
import re
import subprocess

import numpy as np
import pytest

import mcdh
from conftest import mcdh_command
from mcdh import write_events
from mcdh.errors import FileFormatError, ParameterError

MODEL = mcdh.DarkSector.from_benchmark("B1", 6.0)


@pytest.fixture(scope="module")
def sample():
    return mcdh.generate_signal(MODEL, "gammaphi", 300, 2, n_threads=1)


@pytest.fixture(scope="module")
def files(sample, tmp_path_factory):
    d = tmp_path_factory.mktemp("good")
    out = {}
    for suffix in (".root", ".lhe", ".lhe.gz", ".hepmc"):
        out[suffix] = mcdh.write_events(d / f"s{suffix}", sample)
    return out


def _refused(path, *words, **kw):
    with pytest.raises((FileFormatError, ParameterError)) as err:
        mcdh.read_events(path, **kw)
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg, msg
    for w in words:
        assert re.search(w, msg), msg
    return msg


# ---------------------------------------------------------------- HepMC3


def _hepmc_text(files):
    return files[".hepmc"].read_text()


@pytest.mark.parametrize("unit, factor", [("MEV", 1e-3), ("GEV", 1.0)])
def test_hepmc_momentum_units_are_converted(tmp_path, files, sample, unit, factor):
    text = _hepmc_text(files)
    # rewrite every event in MeV: units line and momenta x 1000
    out = []
    for line in text.splitlines():
        if line.startswith("U "):
            line = f"U {unit} MM"
        elif line.startswith("P ") and unit == "MEV":
            f = line.split()
            f[4:9] = [repr(float(x) * 1e3) for x in f[4:9]]
            line = " ".join(f)
        out.append(line)
    p = tmp_path / "u.hepmc"
    p.write_text("\n".join(out) + "\n")
    back = mcdh.read_events(p)
    np.testing.assert_allclose(back.momenta, sample.momenta, rtol=1e-12)
    np.testing.assert_array_equal(back.weights, sample.weights)


def test_hepmc_damage_is_one_line(tmp_path, files):
    text = _hepmc_text(files)
    cases = {
        "badjson": (text.replace("A mcdh_parameters {", "A mcdh_parameters {,", 1), "not valid JSON"),
        "nopdg": (re.sub(r'\\?"pdg\\?": \{[^}]*\}, ', "", text, count=1), "pdg|cannot be read"),
        "utf8": (text.replace('"frame": "cms"', '"frame": "c\xffms"', 1), ""),
    }
    for name, (t, word) in cases.items():
        assert t != text, name
        p = tmp_path / f"{name}.hepmc"
        p.write_bytes(t.encode("utf-8", errors="surrogateescape") if name != "utf8" else t.encode("latin-1", "replace"))
        _refused(p, word)


def test_hepmc_weight_count_mismatch(tmp_path, files):
    text = _hepmc_text(files)
    lines = text.splitlines()
    first_event = next(i for i, line in enumerate(lines) if line.startswith("E "))
    k = next(i for i, line in enumerate(lines) if line.startswith("W ") and i > first_event)
    lines[k] = "W " + lines[k].split()[1]  # one weight where the run info names two
    p = tmp_path / "w.hepmc"
    p.write_text("\n".join(lines) + "\n")
    _refused(p)


# ---------------------------------------------------------------- LHE


@pytest.mark.parametrize("value, word", [("nan", "weight is nan"), ("inf", "weight is inf"), ("-1e6", "negative weight")])
def test_lhe_bad_weights_are_named(tmp_path, files, value, word):
    text = files[".lhe"].read_text()
    lines = text.split("\n")
    k = [i for i, line in enumerate(lines) if line.startswith("<wgt")][3]
    lines[k] = f'<wgt id="mcdh_fb"> {value}</wgt>'
    p = tmp_path / "w.lhe"
    p.write_text("\n".join(lines))
    _refused(p, "event 4", word)


def test_lhe_deep_nesting_and_bad_headers(tmp_path, files):
    text = files[".lhe"].read_text()
    deep = text.replace("<header>", "<header>" + "<a>" * 100_000 + "</a>" * 100_000, 1)
    cases = {
        "deep": deep,
        "list": re.sub(r"<!\[CDATA\[\{.*\}\]\]>", "<![CDATA[[1, 2]]]>", text, count=1),
        "nokeys": re.sub(r"<!\[CDATA\[\{.*\}\]\]>", '<![CDATA[{"process": "x"}]]>', text, count=1),
        "badpdg": text.replace('"pdg": {"gamma": 22', '"pdg": {"gamma": true', 1),
    }
    for name, t in cases.items():
        p = tmp_path / f"{name}.lhe"
        p.write_text(t)
        _refused(p)


def test_corrupt_gzip_stream(tmp_path, files):
    raw = bytearray(files[".lhe.gz"].read_bytes())
    raw[len(raw) // 2: len(raw) // 2 + 64] = bytes(64)
    p = tmp_path / "c.lhe.gz"
    p.write_bytes(bytes(raw))
    _refused(p, "compressed|cannot be read|not a")


# ---------------------------------------------------------------- ROOT


def _rewrite_root(tmp_path, sample, name, change, meta=None):
    """A ROOT file like mcdh's with one branch changed (``change(arrays)``) or another metadata string."""
    import uproot

    from mcdh.io.root import METADATA_KEY, _branches, _tree_meta

    data = _branches(sample, 0, len(sample))
    change(data)
    p = tmp_path / f"{name}.root"
    with uproot.recreate(p) as f:
        f.mktree("t", {k: v.dtype for k, v in data.items()})
        f["t"].extend(data)
        m = {"trees": {"t": _tree_meta(sample, len(sample), sample.parameters)}} if meta is None else meta
        f[METADATA_KEY] = json.dumps(m)
    return p


def test_root_types_and_values_are_checked(tmp_path, sample):
    def bool_weight(d):
        d["__weight__"] = d["__weight__"] > 0

    def int_momentum(d):
        d["phi_px"] = d["phi_px"].astype(np.int32)

    def nan_momentum(d):
        d["phi_px"] = d["phi_px"].copy()
        d["phi_px"][7] = np.nan

    def inf_weight(d):
        d["__weight__"] = d["__weight__"].copy()
        d["__weight__"][2] = np.inf

    def missing(d):
        del d["chi_E"]

    for change, word in ((bool_weight, "__weight__.*bool"), (int_momentum, "phi_px.*int32"),
                         (nan_momentum, "event 8: non-finite"), (inf_weight, "event 3: weight is inf"),
                         (missing, "lacks the branch.*chi_E")):
        _refused(_rewrite_root(tmp_path, sample, change.__name__, change), word)


@pytest.mark.parametrize("meta", [None, [], {"trees": None}, {"trees": {"t": None}}, {"trees": {"t": {"process": "x"}}}])
def test_root_metadata_is_checked(tmp_path, sample, meta):
    p = _rewrite_root(tmp_path, sample, "meta", lambda d: None, meta=meta if meta is not None else "null")
    _refused(p)


def test_jagged_root_branch(tmp_path, sample):
    import awkward as ak
    import uproot

    from mcdh.io.root import METADATA_KEY, _tree_meta

    p = tmp_path / "jag.root"
    n = len(sample)
    columns = {f"{name}_{c}": sample.momenta[:, k, j] for k, name in enumerate(sample.particles)
               for j, c in enumerate(("E", "px", "py", "pz"))}
    # every branch right but the weights: a list of 0-2 values per event, then an array of 3 per event
    for name, weights, words in (("jag", ak.Array([[x] * (i % 3) for i, x in enumerate(sample.weights)]),
                                  "'__weight__' is jagged"),
                                 ("array", np.stack([sample.weights] * 3, axis=1),
                                  "'__weight__' holds an array of 3 values per event")):
        p = tmp_path / f"{name}.root"
        with uproot.recreate(p) as f:
            f["t"] = columns | {"__weight__": weights}
            f[METADATA_KEY] = json.dumps({"trees": {"t": _tree_meta(sample, n, {})}})
        _refused(p, words)


# ---------------------------------------------------------------- writing and the command line


@pytest.mark.slow
def test_pdg_that_collides_is_refused_on_writing(tmp_path, sample, mcdh):
    with pytest.raises(ParameterError, match="pdg"):
        write_events(tmp_path / "x.lhe", sample, pdg={"phi": 22})  # (the fixture ``mcdh`` shadows the module here)
    r = mcdh("generate", "signal", "--process", "gammaphi", "--benchmark", "B1", "--mA", "6", "--events", "200",
             "--output", tmp_path / "y.lhe", "--pdg", "phi=22")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "--pdg" in r.stderr
    assert not (tmp_path / "y.lhe").exists()


def test_numbers_are_not_bools():
    with pytest.raises(ParameterError, match="bool"):
        mcdh.DarkSector(m_A=True, m_chi=1.0, m_phi=0.5)
    with pytest.raises(ParameterError, match="bool"):
        mcdh.rambo(10.58, [True, 1.0], 10, 1)


def test_region_with_a_negative_number_and_absurd_coupling(mcdh):
    r = mcdh("reach", "--benchmark", "B1", "--mA", "6", "--nb", "1", "--events", "1000", "--background-events", "1000",
             "--region", "-1,5")
    assert r.returncode == 2 and "--region" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    r = mcdh("xsec", "--process", "phi", "--benchmark", "B1", "--mA", "6", "--g-chi", "1e100", "--events", "1000")
    assert r.returncode == 2 and "--g-chi" in r.stderr and "Traceback" not in r.stderr, r.stderr


@pytest.mark.slow
def test_json_is_strict(mcdh):
    r = mcdh("reach", "--benchmark", "B1", "--mA", "7.5", "--nb", "1e14", "--events", "1000", "--background-events",
             "1000", "--json")
    assert r.returncode == 0, r.stderr
    json.loads(r.stdout, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))


# ---------------------------------------------------------------- scans

SCAN = ["--benchmarks", "B1", "--channels", "phi", "--events", "2000", "--background-events", "2000", "--quiet"]


@pytest.mark.slow
def test_masses_0p4_mev_apart_are_two_points(tmp_path, mcdh):
    out = tmp_path / "s"
    for _ in range(2):
        r = mcdh("scan", "--out", out, "--serial", "--mA-list", "3.0,3.0004", *SCAN)
        assert r.returncode == 0, r.stderr
    rows = json.loads((out / "results.json").read_text())
    assert sorted(r["mA"] for r in rows) == [3.0, 3.0, 3.0004, 3.0004]  # N_b 1 and 1e4 each
    assert len(list((out / "points").glob("*.json"))) == 2


@pytest.mark.slow
def test_a_second_scan_on_a_locked_folder_refuses(tmp_path):
    from filelock import FileLock

    out = tmp_path / "s"
    out.mkdir()
    with FileLock(str(out / ".scan.lock")):  # as a running scan holds it
        for mode in (["--serial"], ["--workers", "1"]):
            r = subprocess.run([*mcdh_command(), "scan", "--out", str(out), *mode, "--mA-list", "3", *SCAN],
                               capture_output=True, text=True, timeout=300)
            assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
            assert str(out) in r.stderr and "another running scan" in r.stderr
    assert not (out / "scan.json").exists()


@pytest.mark.slow
def test_point_files_are_validated_on_resume(tmp_path, mcdh):
    out = tmp_path / "s"
    assert mcdh("scan", "--out", out, "--serial", "--mA-list", "3", *SCAN).returncode == 0
    ref = (out / "results.json").read_text()
    (point,) = (out / "points").glob("*.json")
    data = json.loads(point.read_text())
    data["task"]["mA"] = 3.5  # a point file of another task under this name
    data["rows"][0]["sel_sig"] = 1e9
    point.write_text(json.dumps(data))
    assert mcdh("scan", "--out", out, "--serial", "--mA-list", "3", *SCAN).returncode == 0
    assert (out / "results.json").read_text() == ref  # recomputed, not taken


@pytest.mark.slow
def test_two_dask_scans_at_once_print_nothing(tmp_path):
    """Two LocalCluster scans side by side: no 'port 8787 is already in use' warning."""
    cmd = lambda out: [*mcdh_command(), "scan", "--out", str(out), "--mA-list", "3", *SCAN]  # noqa: E731
    procs = [subprocess.Popen(cmd(tmp_path / name), stderr=subprocess.PIPE, text=True) for name in ("a", "b")]
    errs = [p.communicate(timeout=600)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0] and errs == ["", ""], errs


def test_rambo_refuses_overflow_and_bad_uniforms():
    from mcdh.generate.phasespace import log_massless_volume, rambo_from_uniforms

    p, w = mcdh.rambo(10.58, np.zeros(141), 50, 1, n_threads=1)  # the volume, ~1e-168, is a double
    assert np.all(np.isfinite(p)) and np.allclose(w, mcdh.massless_volume(141, 10.58), rtol=1e-12)
    assert math.log(w[0]) == pytest.approx(log_massless_volume(141, 10.58), rel=1e-12)
    for sqrt_s, masses in ((1e300, [0.0, 0.0, 0.0]), (10.58, np.full(2000, 1e-4))):
        with pytest.raises(ParameterError, match="double precision"):
            mcdh.rambo(sqrt_s, masses, 10, 1)
    for u in (0.0, 1.0, np.nan):
        with pytest.raises(ParameterError, match=r"\(0, 1\)"):
            rambo_from_uniforms(10.58, [0.0, 0.0], np.full((1, 8), u))
