"""The hadronic phi widths (issue 22): the corrected dispersive widths, the width models, their envelope, and
the low-energy theorem as an outside check."""
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import mcdh
from mcdh.errors import ParameterError
from mcdh.physics import dispersive as D
from mcdh.physics import widths as W
from mcdh.physics.constants import pdg_mass

DATA = Path(__file__).parent / "data"
LET_MASSES = np.linspace(0.28, 0.35, 36)


def _let_ratios(width) -> np.ndarray:
    return np.array([width(m) / W.low_energy_theorem_pipi(m) for m in LET_MASSES])


@pytest.mark.parametrize("model", W.HADRONIC_MODELS)
@pytest.mark.parametrize("which", ["central", "lower", "upper"])
def test_low_energy_theorem_near_threshold(model, which):
    """Gamma_pipi / Gamma_LET at 0.28-0.35 GeV: the pi pi rescattering enhancement, O(2), never the factor 4-10 of
    a normalisation error. BTPZ fixes the form factor's slope through G(0) rather than theta_P(0) and sits lower
    (1.2-1.6 with the same phase space in numerator and denominator): its bound is 1.2."""
    r = _let_ratios(lambda m: W.hadronic_width("pipi", m, model, which))
    low = 1.2 if model == "btpz" else 1.5
    assert np.all((r >= low) & (r <= 3.5)), (model, which, r.min(), r.max())


def test_low_energy_theorem_fails_hipsofcobra_as_shipped():
    """The regression: hipsofcobra 0.0.8's own band (the table mcdh shipped before) is 9-14 times the theorem."""
    old = np.loadtxt(DATA / "hipsofcobra_0.0.8_band.txt")
    r = _let_ratios(lambda m: float(np.interp(m, old[:, 0], old[:, 1])))
    assert np.all(r > 3.5), r.min()
    assert 9.0 < r[np.argmin(abs(LET_MASSES - 0.3))] < 9.7  # the 9.3 at 0.3 GeV


def test_low_energy_theorem_formula():
    """In the isospin limit the sum over pi+ pi- and pi0 pi0 is the textbook 3 G_F m^3 / (16 sqrt 2 pi) [...]^2 beta."""
    m = 0.9  # far above both thresholds the two sub-modes' velocities agree to 0.3 %
    gf = 1.0 / (math.sqrt(2.0) * 246.22**2)
    mpi = pdg_mass(211)
    textbook = 3 * gf * m**3 / (16 * math.sqrt(2) * math.pi) * (2 / 9 * (1 + 11 * mpi**2 / (2 * m**2))) ** 2 \
        * math.sqrt(1 - 4 * mpi**2 / m**2)
    assert W.low_energy_theorem_pipi(m) == pytest.approx(textbook, rel=5e-3)
    assert W.low_energy_theorem_pipi(m, theta=1e-3) == pytest.approx(math.sin(1e-3) ** 2 * W.low_energy_theorem_pipi(m))


def test_corrected_dgl_against_winkler():
    for m in np.linspace(0.3, 0.75, 10):
        r = W.hadronic_width("pipi", m, "dgl") / W.winkler_width("pipi", m)
        assert 0.7 <= r <= 1.15, (m, r)
    # the numbers (0.87, 0.85 at 0.4, 0.5 GeV: isospin-limit phase space there, equal to ours to 1 %)
    assert W.hadronic_width("pipi", 0.5, "dgl") / W.winkler_width("pipi", 0.5) == pytest.approx(0.85, abs=0.02)
    assert W.hadronic_width("pipi", 0.5, "btpz") / W.winkler_width("pipi", 0.5) == pytest.approx(0.41, abs=0.02)


def test_isospin_limit_splits():
    """Gamma(pi0 pi0) = Gamma(pi+ pi-) / 2 and Gamma(K0 K0bar) = Gamma(K+ K-) with equal masses, in the dispersive
    phase space and in the generator's decay table."""
    m = np.array([0.3, 0.6, 1.2])
    for channel, half in (("pipi", 0.5), ("KK", 1.0)):
        md = 0.137 if channel == "pipi" else 0.495
        both = W.phase_space(channel, m, (md, md))
        charged = np.sqrt(np.clip(1 - 4 * md**2 / m**2, 0, None))
        np.testing.assert_allclose(both, (1 + half) * charged, rtol=1e-15)


def test_isospin_limit_in_decay_table(monkeypatch):
    import mcdh.generate.decays as decays

    real = decays.pdg_mass
    monkeypatch.setattr(decays, "pdg_mass", lambda pdg: real(211) if pdg == 111 else real(321) if pdg == 311 else real(pdg))
    for wm in W.HADRONIC_MODELS:
        table = dict(decays.decay_table(mcdh.DarkSector.from_benchmark("B1", 7.2, width_model=wm)))  # m_phi = 1.2 GeV
        assert table[(111, 111)] == pytest.approx(0.5 * table[(211, -211)], rel=1e-12)
        assert table[(311, -311)] == pytest.approx(table[(321, -321)], rel=1e-12)


def test_envelope_contains_every_model():
    """Below 1 GeV the envelope holds every model and their 1 sigma; it closes below the pi pi threshold."""
    for m in np.linspace(0.1, 1.0, 46):
        env = W.width_envelope(m)
        assert env.note is None
        for model in W.HADRONIC_MODELS:
            for which in ("central", "lower", "upper"):
                assert env.lower <= W.unit_mixing_width(m, model, which) <= env.upper
    below = W.width_envelope(0.25)
    assert below.lower == below.upper == W.unit_mixing_width(0.25)
    assert 2.0 < W.width_envelope(0.5).upper / W.width_envelope(0.5).lower < 2.5
    assert "winkler" in W.width_envelope(2.2).note  # beyond Winkler's table: said, not hidden


def test_width_model_names():
    with pytest.raises(ParameterError, match="winkler, dgl, btpz"):
        mcdh.DarkSector.from_benchmark("B1", 3.0, width_model="dispersive")
    with pytest.raises(ParameterError, match="withdrawn"):
        mcdh.DarkSector.from_benchmark("B1", 3.0, width_model="hipsofcobra")
    with pytest.raises(ParameterError, match="band, not one width"):
        mcdh.DarkSector.from_benchmark("B1", 3.0, width_model="envelope")
    with pytest.raises(ParameterError, match="envelope"):
        mcdh.Study(width_model="Winkler")
    assert mcdh.Study(width_model="envelope").model("B1", 3.0).width_model == "winkler"
    m = mcdh.DarkSector.from_benchmark("B1", 4.8, width_model="dgl")
    assert m.widths_phi["pipi"] == pytest.approx(math.sin(1e-4) ** 2 * W.dispersive_width("DGL", "pipi", 0.8), rel=1e-12)


def test_cli_width_model_is_one_line(capsys):
    from mcdh.cli import main

    assert main(["xsec", "--process", "phi", "--benchmark", "B1", "--mA", "3", "--width-model", "foo"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "--width-model" in err and "winkler, dgl, btpz" in err
    assert main(["table", "--channel", "phi", "--nb", "1", "--mA-list", "3", "--width-model", "envelope"]) == 2
    assert "band, not one width" in capsys.readouterr().err


def test_table_csv_records_the_width_model(capsys):
    from mcdh.cli import main

    assert main(["table", "--channel", "phi", "--nb", "1", "--mA-list", "4.5", "--events", "300", "--background-events",
                 "300", "--width-model", "dgl", "--csv", "--quiet", "--threads", "1"]) == 0
    assert "width_model=dgl" in capsys.readouterr().out.splitlines()[0]


def test_reach_with_other_widths_is_the_reach_at_another_theta():
    """Theta enters only through Gamma_phi = sin^2(theta) Gamma_1: the reach with DGL's widths equals Winkler's
    reach at sin^2(theta') = r sin^2(theta), and DGL's theta-band edges are Winkler's moved to
    sin(theta') = sin(theta) / sqrt(r) - the rule the envelope is built on, checked against a full second analysis."""
    kw = dict(n_signal=3000, n_background=3000, seed=5, n_threads=1)
    w, d = mcdh.Study(**kw), mcdh.Study(width_model="dgl", **kw)
    m_A, theta = 4.5, 1.27e-4
    r = W.unit_mixing_width(0.75, "dgl") / W.unit_mixing_width(0.75)
    moved = math.asin(math.sqrt(r) * math.sin(theta))
    assert d.eps_reach("B1", m_A, theta=theta).eps == pytest.approx(w.eps_reach("B1", m_A, theta=moved).eps, rel=1e-9)
    bw, bd = w.theta_band("B1", m_A), d.theta_band("B1", m_A)
    for edge in ("lower", "upper"):
        expected = math.asin(math.sin(getattr(bw, edge)) / math.sqrt(r))
        assert getattr(bd, edge) == pytest.approx(expected, rel=2e-3)  # (each band interpolates its own grid)


def test_study_envelope_brackets_the_default():
    kw = dict(n_signal=3000, n_background=3000, seed=5, n_threads=1)
    env, default = mcdh.Study(width_model="envelope", **kw), mcdh.Study(**kw)
    for m_A in (1.5, 4.5):  # m_phi = 0.25 GeV (below pi pi: the band closes) and 0.75 GeV
        for ch, reach in env.reach("B1", m_A).items():
            assert reach.eps == default.reach("B1", m_A)[ch].eps
            assert reach.eps_lower <= reach.eps <= reach.eps_upper
            if m_A == 1.5:
                assert reach.eps_lower == reach.eps == reach.eps_upper
            else:
                assert reach.eps_upper > 1.2 * reach.eps_lower
        band = env.theta_band("B1", m_A, "phi")
        assert band.lower_range[0] <= band.lower <= band.lower_range[1]
        assert band.upper_range[0] <= band.upper <= band.upper_range[1]
    assert "width envelope" in str(env.reach("B1", 4.5)["phi"])
    # full analyses with the other models' widths (not grid points of the envelope) fall inside its band
    phi = env.reach("B1", 4.5)["phi"]
    for wm in ("dgl", "btpz"):
        other = mcdh.Study(width_model=wm, **kw).eps_reach("B1", 4.5, "phi").eps
        assert phi.eps_lower <= other <= phi.eps_upper, wm
    assert mcdh.Study(width_model="btpz", **kw).eps_reach("B1", 4.5, "phi").eps > 1.2 * phi.eps


def test_envelope_out_of_reach_is_said():
    """A width the envelope needs but no theta <= pi/2 gives: no band, not a truncated one."""
    from mcdh.study import envelope_thetas, eps_envelope, reach_result

    assert envelope_thetas((0.5, 2.0), 1.2) is None
    assert envelope_thetas((1.0, 1.0), 1.2) == []
    model = mcdh.DarkSector.from_benchmark("B1", 4.5)
    reach = reach_result(1e-4, "phi", 1.2, model)
    assert eps_envelope(lambda t: 2e-4, (0.5, 2.0), 1.2, reach, model) == (None, None)
    assert eps_envelope(lambda t: 2e-4, (0.5, 2.0), 0.1, reach, model) == (1e-4, 2e-4)


def test_table_uses_the_study_width_model():
    """Study.table (and mcdh table) analyse with the study's widths: it used to build Winkler models always."""
    kw = dict(n_signal=3000, n_background=3000, seed=5, n_threads=1)
    btpz = mcdh.Study(width_model="btpz", **kw)
    row = btpz.table("B1", "phi", masses=[4.5])[0]
    assert row == btpz.table_row("B1", 4.5, "phi")
    assert row.resc_sig != mcdh.Study(**kw).table("B1", "phi", masses=[4.5])[0].resc_sig


def test_fit_note_names_the_width_model():
    from mcdh.reconstruct.model import width_model_note

    note = width_model_note(0.75, "btpz")
    assert "btpz" in note and "factor" in note
    assert width_model_note(0.25, "winkler") is None  # below pi pi every model has the same width
    assert "4 pi" in width_model_note(1.3, "dgl")


@pytest.mark.slow
def test_shipped_dispersive_table_is_recomputed():
    """data/dispersive_widths.txt is what mcdh.physics.dispersive computes from hipsofcobra's Omnes tables."""
    pytest.importorskip("hipsofcobra")
    shipped = (Path(mcdh.__file__).parent / "data" / "dispersive_widths.txt").read_text()
    assert D.table_text() == shipped


@pytest.mark.slow
def test_upstream_reproduction_equals_the_package(tmp_path):
    """mcdh's implementation with hipsofcobra's defects left in reproduces the package itself (run in a child
    process whose working directory is a temporary folder: the package writes ./results on import)."""
    pytest.importorskip("hipsofcobra")
    script = ("import json, numpy as np, hipsofcobra.classes as hc\n"
              "hc.rng = np.random.default_rng(0)\n"
              "out = {}\n"
              "for p in ('pi', 'K'):\n"
              "    b = np.array(hc.HipsofCobra([1.0, 1.0, 1.0], p, 'DGL').width_band_list)\n"
              "    out[p] = b.tolist()\n"
              "print(json.dumps(out))\n")
    res = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True)
    import json

    theirs = json.loads(res.stdout.strip().splitlines()[-1])
    ours = D.upstream_widths("DGL")
    for channel, key in (("pipi", "pi"), ("KK", "K")):
        t = np.array(theirs[key])[1:]  # (s = 0 dropped, as ours)
        m, band = ours[channel]
        np.testing.assert_allclose(np.sqrt(t[:, 0]), m, rtol=1e-12)
        sel = t[:, 1] > 0
        sigma = 0.5 * (t[sel, 3] - t[sel, 2])
        # the same Omnes solutions, other draws of the low-energy constants: the means agree within their spread
        assert np.all(np.abs(band[sel, 0] - t[sel, 1]) <= 0.35 * sigma + 1e-3 * t[sel, 1]), channel
