"""The study facade: the same numbers as the analysis chain, the channel combination, N_b and luminosity, validity."""
import json
import math
import pydoc

import numpy as np
import pytest
from scipy.optimize import brentq

import mcdh
import mcdh as mcdh_api
from mcdh.analysis import limits
from mcdh.study import Study, reach_result

N = 6000  # small samples: identity tests need no statistics


@pytest.fixture(scope="module")
def study():
    return mcdh.Study(n_signal=N, n_background=N, seed=1)


def test_help_shows_the_facade():
    text = pydoc.render_doc(mcdh.Study, renderer=pydoc.plaintext)
    for method in ("table_row", "m2loglike", "eps_reach", "theta_band", "histograms", "reach"):
        assert method in text
    assert "10 ab^-1" in text  # the definition of N_b


def test_table_row_equals_the_table_command_path_bit_for_bit(study):
    for channel in ("phi", "gammaphi"):
        via_study = study.table_row("B1", 6.0, channel, eps=1e-4, theta=1e-4)
        via_table = Study(n_signal=N, n_background=N, seed=1).table("B1", channel, masses=[6.0])[0]
        assert via_study == via_table


def test_reach_and_band_equal_the_analysis(study):
    a = Study(n_signal=N, n_background=N, seed=1).analysis("B1", 6.0, "phi")
    assert study.eps_reach("B1", 6.0, "phi", theta=1.27e-4).eps == a.eps_reach(1.27e-4, 1.0).eps
    band = a.theta_band(1e-4, [1.0])[1.0]
    ours = study.theta_band("B1", 6.0, "phi", eps=1e-4)
    assert (ours.lower, ours.upper) == (band.lower, band.upper)


def test_combined_reach_at_least_as_strong_as_the_better_channel(study):
    for m_A in (3.0, 6.0):
        r = study.reach("B1", m_A)
        assert r["combined"].eps <= min(r["phi"].eps, r["gammaphi"].eps)
        # and -2 log L of the sum is 3.84 there
        g = study.m2loglike("B1", m_A, "combined", eps=r["combined"].eps, theta=1.27e-4)
        assert g[0, 0] == pytest.approx(3.84, rel=1e-8)


def test_combined_band_contains_each_channels(study):
    phi = study.theta_band("B1", 6.0, "phi")
    both = study.theta_band("B1", 6.0, "combined")
    assert both.lower <= phi.lower * (1 + 1e-9) and both.upper >= phi.upper * (1 - 1e-9)


def test_combination_equals_the_analytic_sum_on_constructed_histograms():
    # one bin per channel: the window is that bin, -2 log L = 2 (S - B log(1 + S/B)) with S = s (eps/eps_ref)^2
    s1, b1, s2, b2, eps_ref = 4.0, 2.0, 1.5, 0.3, 1e-4
    chans = [limits.ChannelHists(np.array([s1]), np.array([b1]), eps_ref, "from_zero"),
             limits.ChannelHists(np.array([s2]), np.array([b2]), eps_ref, "from_zero")]

    def q(s, b):
        return 2 * (s - b * math.log1p(s / b))

    def total(eps):
        k = (eps / eps_ref) ** 2
        return q(s1 * k, b1) + q(s2 * k, b2)

    exact = brentq(lambda e: total(e) - 3.84, 1e-7, 1e-2, xtol=1e-20, rtol=1e-14)
    assert limits.combined_eps_reach(chans) == pytest.approx(exact, rel=1e-10)
    assert limits.combined_m2ll(chans, 2e-4) == pytest.approx(total(2e-4), rel=1e-14)
    single = limits.eps_reach(np.array([s1]), np.array([b1]), eps_ref, "from_zero").eps
    assert limits.combined_eps_reach(chans) < single


def test_luminosity_with_nb_at_reference_background_free_sqrt5():
    reach = {}
    for lumi in (1e4, 5e4):
        st = mcdh.Study(n_signal=N, n_background=N, seed=1, n_b=0.0, luminosity_fb=lumi)
        reach[lumi] = st.eps_reach("B1", 6.0, "phi").eps
    assert reach[1e4] / reach[5e4] == pytest.approx(math.sqrt(5), rel=1e-9)


def test_background_scales_with_luminosity_at_fixed_nb():
    st10 = mcdh.Study(n_signal=N, n_background=N, seed=1, n_b=10.0)
    st50 = st10.replace(luminosity_fb=5e4)
    b10 = st10.histograms("B1", 4.5, "phi")["background"].sum().value
    b50 = st50.histograms("B1", 4.5, "phi")["background"].sum().value
    assert b10 == pytest.approx(10.0, rel=1e-12) and b50 == pytest.approx(50.0, rel=1e-12)
    bkg = mcdh.generate_background("gammaphi", 0.5, 1.0, 2000, 1, n_b=10.0)
    assert bkg.expected_events(1e4) == pytest.approx(2.2, rel=1e-12)  # 0.22 N_b at 10 ab^-1, whatever L later


def test_histograms_are_hist_objects_with_variances(study):
    h = study.histograms("B1", 6.0, "gammaphi", eps=2e-4, theta=1e-4)
    sig, bkg = h["signal"], h["background"]
    assert sig.sum().value == pytest.approx(study.table_row("B1", 6.0, "gammaphi", eps=2e-4).resc_sig, rel=1e-12)
    assert np.all(sig.variances() >= 0) and np.any(bkg.variances() > 0)


@pytest.mark.parametrize("kw, name", [({"eps": 2.0}, "eps"), ({"eps": 0.0}, "eps"), ({"theta": 2.0}, "theta"),
                                      ({"theta": -1e-4}, "theta")])
def test_unphysical_eps_theta_are_errors(study, kw, name):
    with pytest.raises(mcdh.ParameterError) as exc:
        study.table_row("B1", 6.0, "phi", **kw)
    assert exc.value.parameter == name


def test_reach_beyond_validity_is_no_sensitivity():
    model = mcdh.DarkSector.from_benchmark("B1", 3.0)
    assert reach_result(2.5, "phi", 1e-4, model).eps is None
    assert "kinetic mixing" in reach_result(2.5, "phi", 1e-4, model).reason
    assert reach_result(math.inf, "phi", 1e-4, model).eps is None
    strong = model.replace(g_chi=5.0)
    r = reach_result(1e-5, "phi", 1e-4, strong)
    assert r.eps is None and "perturbativity" in r.reason
    assert reach_result(1e-5, "phi", 1e-4, model).eps == 1e-5


def test_huge_background_gives_no_sensitivity_not_a_number():
    st = mcdh.Study(n_signal=N, n_background=N, seed=1, n_b=1e14, luminosity_fb=1.0)
    r = st.eps_reach("B1", 3.0, "phi")
    assert not r.sensitive and "eps =" in r.reason
    b = st.theta_band("B1", 3.0, "combined")
    assert not b.sensitive and b.lower is None


def test_imported_sample_with_other_masses_is_refused(study):
    sample = mcdh.generate_signal(mcdh.DarkSector.from_benchmark("B2", 4.5), "phi", 2000, 3)
    with pytest.raises(mcdh.ParameterError) as exc:
        study.analysis("B1", 3.0, "phi", signal=sample)
    assert "m_A = 3" in str(exc.value) and "m_A = 4.5" in str(exc.value)
    # the record cannot be edited; the momenta are checked when nothing is recorded
    sample.parameters.clear()
    assert sample.info.model["m_A"] == 4.5
    sample = mcdh.Events(sample.momenta, sample.weights, sample.particles, sample.process)
    with pytest.raises(mcdh.ParameterError, match="momenta"):
        study.analysis("B1", 3.0, "phi", signal=sample)
    # an explicit override analyses anyway (a sample without a record needs its generation eps; not kept: the
    # study is shared by the other tests)
    assert study.analysis("B1", 3.0, "phi", signal=sample, check_masses=False, eps_gen=1e-4,
                          keep=False).model.m_A == 3.0


@pytest.mark.slow
def test_cli_reach_json_agrees_with_python_and_scales_sqrt5(mcdh):
    common = ["reach", "--benchmark", "B1", "--mA", "6", "--nb", "0", "--events", str(N), "--background-events", str(N),
              "--json"]
    r10 = json.loads(mcdh(*common).stdout)
    r50 = json.loads(mcdh(*common, "--lumi-fb", "5e4").stdout)
    st = mcdh_api.Study(n_signal=N, n_background=N, seed=1, n_b=0.0)
    assert r10["eps95"]["phi"] == st.eps_reach("B1", 6.0, "phi").eps
    for ch in ("phi", "gammaphi", "combined"):
        assert r10["eps95"][ch] / r50["eps95"][ch] == pytest.approx(math.sqrt(5), rel=1e-9)


def test_one_definition_of_sigma_error_and_selections_keep_the_record():
    model = mcdh.DarkSector.from_benchmark("B1", 3.0)
    ev = mcdh.generate_signal(model, "gammaphi", 20_000, 5)
    assert ev.sigma_err_fb == ev.parameters["sigma_err_fb"]
    assert ev.sigma_fb == pytest.approx(ev.parameters["sigma_fb"], rel=1e-12)
    hard = ev.select(ev.momentum("gamma")[:, 0] > 2.0)
    assert hard.parameters["sigma_fb"] == hard.sigma_fb < ev.sigma_fb
    assert hard.parameters["sigma_err_fb"] == hard.sigma_err_fb
    assert hard.parameters["selected"]["of"] == len(ev) and hard.parameters["selected"]["kept"] == len(hard)


def test_reproduce_takes_a_study(tmp_path):
    from mcdh.paper import reproduce

    with pytest.raises(mcdh.ParameterError, match="study"):
        reproduce(tmp_path, {"n_signal": 1000})
    with pytest.raises(mcdh.ParameterError, match="xsec_events"):
        reproduce(tmp_path, mcdh.Study(), xsec_events=0)
