"""ROOT ntuples written with uproot and read back: exact round trips, errors by path, atomic writes."""
import json

import numpy as np
import pytest
import uproot

from mcdh.analysis.pipeline import ChannelAnalysis
from mcdh.errors import FileFormatError, ParameterError
from mcdh.generate.background import generate_background
from mcdh.generate.signal import generate_signal
from mcdh.io.root import read_histogram, read_root, tree_names, write_root
from mcdh.kinematics.variables import pair_mass
from mcdh.physics.model import DarkSector


@pytest.fixture(scope="module")
def samples():
    m = DarkSector.from_benchmark("B1", 4.5)
    return m, {
        "phi": generate_signal(m, "phi", 3000, 1, frame="lab"),
        "gammaphi": generate_signal(m, "gammaphi", 3000, 2),
        "background_gammaphi": generate_background("gammaphi", m.m_phi, m.m_chi, 2500, 3, n_b=10.0),
    }


def test_round_trip_is_exact_in_chunks(tmp_path, samples):
    _, s = samples
    path = write_root(tmp_path / "ev.root", s, chunk_events=777)
    assert tree_names(path) == list(s)
    for name, ev in s.items():
        back = read_root(path, name)
        np.testing.assert_array_equal(back.momenta, ev.momenta)
        np.testing.assert_array_equal(back.weights, ev.weights)
        assert back.particles == ev.particles and back.frame == ev.frame and back.process == ev.process
        assert json.dumps(back.parameters, sort_keys=True) == json.dumps(ev.parameters, sort_keys=True, default=list)
    assert [p.name for p in tmp_path.iterdir()] == ["ev.root"]


def test_flat_tree_layout_for_other_tools(tmp_path, samples):
    _, s = samples
    path = write_root(tmp_path / "ev.root", {"gammaphi": s["gammaphi"]}, chunk_events=1000)
    with uproot.open(path) as f:
        t = f["gammaphi"]
        assert t.num_entries == 3000
        a = t.arrays(["__event__", "__weight__", "mchichi", "E_gamma", "gamma_E", "chi_px"], library="np")
    ev = s["gammaphi"]
    np.testing.assert_array_equal(a["__event__"], np.arange(3000))
    assert a["__weight__"].sum() == pytest.approx(ev.sigma_fb, rel=1e-12)
    np.testing.assert_allclose(a["mchichi"], pair_mass(ev.momentum("chi"), ev.momentum("chibar")), rtol=1e-14)
    np.testing.assert_array_equal(a["E_gamma"], a["gamma_E"])


def test_histograms_as_th1(tmp_path, samples):
    import hist

    _, s = samples
    e = s["gammaphi"].momentum("gamma")[:, 0]
    h = hist.Hist.new.Reg(20, 0, 5.5, name="E_gamma").Weight()
    h.fill(e, weight=s["gammaphi"].weights)
    values, edges = np.histogram(e, bins=np.linspace(0, 5.5, 12))
    path = write_root(tmp_path / "h.root", s, histograms={"E_gamma": h, "counts": (values.astype(float), edges)})
    back = read_histogram(path, "E_gamma")
    np.testing.assert_allclose(back.values(), h.values(), rtol=1e-14)
    np.testing.assert_allclose(back.variances(), h.variances(), rtol=1e-14)
    np.testing.assert_array_equal(read_histogram(path, "counts").values(), values)
    with pytest.raises(ParameterError, match="name"):
        read_histogram(path, "nope")


def test_analysis_of_the_file_equals_the_analysis_in_memory(tmp_path, samples):
    m, s = samples
    path = write_root(tmp_path / "ev.root", s)
    bkg = s["background_gammaphi"]
    direct = ChannelAnalysis(m, "gammaphi", s["gammaphi"], bkg, seed=4).table_row(1e-4, 1e-4, 10.0)
    again = ChannelAnalysis(m, "gammaphi", read_root(path, "gammaphi"), read_root(path, "background_gammaphi"), seed=4)
    assert again.table_row(1e-4, 1e-4, 10.0) == direct


def test_bad_files_are_reported_by_path(tmp_path, samples):
    _, s = samples
    path = write_root(tmp_path / "ev.root", s)
    cut = tmp_path / "cut.root"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(FileFormatError, match="cut.root"):
        read_root(cut, "phi")
    with pytest.raises(FileFormatError, match="no such file"):
        read_root(tmp_path / "missing.root")
    foreign = tmp_path / "foreign.root"
    with uproot.recreate(foreign) as f:
        f["t"] = {"x": np.arange(3.0)}
    with pytest.raises(FileFormatError, match="foreign.root"):
        read_root(foreign)
    with pytest.raises(ParameterError, match="tree"):
        read_root(path)  # several trees: must pick one
    with pytest.raises(ParameterError, match="tree"):
        read_root(path, "nope")


def test_failed_write_leaves_old_file_and_no_temporary(tmp_path, samples):
    _, s = samples
    path = write_root(tmp_path / "ev.root", {"phi": s["phi"]})
    before = path.read_bytes()
    with pytest.raises(ParameterError, match="samples"):
        write_root(path, {"phi": s["phi"], "bad": "not events"})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ev.root"]
