"""Expected smearing (the limit of infinitely many copies) against independent integrals, brute-force copies and
the paper's 100-copy analysis with its smearing error computed."""
import json
import math

import numpy as np
import pytest
from scipy import integrate, special, stats

from mcdh.analysis.binning import Binning, uniform_binning, v_binning
from mcdh.analysis.pipeline import CHUNK
from mcdh.analysis.smearing import (
    EXPECTED_P_MIN,
    Resolution,
    _expected_record,
    _product_cdf,
    _smear_chunk,
    _smear_fill,
)
from mcdh.errors import ParameterError
from mcdh.study import Study

RES = Resolution()


def quad_product_cdf(c, mu, su, mw, sw):
    """P(|U W| < c), U ~ N(mu, su), W ~ N(mw, sw), by adaptive quadrature over U with breakpoints where
    P(|W| < c / |u|) changes (independent of mcdh's rules)."""

    def f(u):
        g = 1.0 if u == 0 else special.ndtr((c / abs(u) - mw) / sw) - special.ndtr((-c / abs(u) - mw) / sw)
        return stats.norm.pdf(u, mu, su) * g

    lo, hi = mu - 12 * su, mu + 12 * su
    cuts = [0.0] + [s * c / (abs(mw) + k * sw) for k in (0.5, 1, 2, 4, 8) for s in (1, -1)]
    pts = [lo, *sorted(p for p in cuts if lo < p < hi), hi]
    return sum(integrate.quad(f, a, b, epsabs=1e-14, epsrel=1e-12, limit=400)[0] for a, b in zip(pts, pts[1:]))


@pytest.mark.parametrize("regime", ["both near zero", "one far from zero", "both far from zero"])
def test_product_cdf_matches_adaptive_quadrature(regime):
    rng = np.random.default_rng({"both near zero": 1, "one far from zero": 2, "both far from zero": 3}[regime])
    c = v_binning(3.0).edges[1:] ** 2  # the paper's geometric sqrt|v| edges, squared
    worst = 0.0
    for _ in range(25):
        su, sw = rng.uniform(0.005, 0.15, 2)
        a = {"both near zero": rng.uniform(0, 6), "one far from zero": rng.uniform(6, 200),
             "both far from zero": rng.uniform(6, 60)}[regime]
        b = rng.uniform(0, 6) if regime != "both far from zero" else rng.uniform(6, a)
        mu, mw = a * su, min(b, a) * sw
        out, generic = np.empty(c.size), np.empty(c.size)
        work = np.empty(4 if regime == "both near zero" else 4096)  # too small: it makes its own
        _product_cdf(c, 2 * math.log(v_binning(3.0).edges[2] / v_binning(3.0).edges[1]), mu, su, mw, sw, out, work)
        _product_cdf(c, 0.0, mu, su, mw, sw, generic, work)  # edges taken one by one (any binning)
        for k in range(0, c.size, 2):
            ref = quad_product_cdf(c[k], mu, su, mw, sw)
            worst = max(worst, abs(out[k] - ref), abs(generic[k] - ref))
    assert worst < 2e-6, worst  # measured: 4e-7 at most, where the two rules meet (mu / su = 6)


def test_value_mode_is_the_gaussian_integral_over_each_bin():
    rng = np.random.default_rng(4)
    b = uniform_binning(0.5, 8.0, 0.05)
    x = np.concatenate([rng.uniform(0.3, 8.3, 400), [0.5, 8.0, 0.2, 9.0]])  # edges and beyond the range
    offsets, bins, probs = _expected_record(x, x, 0, 0.0, 0.0, RES.as_array(), b.kind, b.p0, b.p1, b.edges)
    for i in range(x.size):
        s = float(RES.sigma(x[i]))
        cdf = stats.norm.cdf(b.edges, x[i], s)
        cdf[0], cdf[-1] = 0.0, 1.0  # under- and overflow go to the first and last bin, as the copies'
        full = np.diff(cdf)
        got = np.zeros(b.n_bins)
        got[bins[offsets[i]:offsets[i + 1]]] = probs[offsets[i]:offsets[i + 1]]
        np.testing.assert_allclose(got, np.where(full >= EXPECTED_P_MIN, full, 0.0), rtol=0, atol=1e-11)


def test_normal_cdf_from_its_table_is_scipys():
    """The table-and-series normal CDF the expected smearing evaluates ~15 times an event: scipy's ndtr to
    rounding, also relative in the lower tail, and erfc's beyond the table."""
    from mcdh.analysis.smearing import _ndtr, _ndtr_in_table

    z = np.concatenate([np.linspace(-12.0, 12.0, 24001), np.random.default_rng(3).uniform(-9.5, 9.5, 4000)])
    got = np.array([_ndtr(v) for v in z])
    ref = special.ndtr(z)
    assert np.max(np.abs(got - ref)) < 1e-15
    low = z < 0
    assert np.max(np.abs(got[low] / ref[low] - 1.0)) < 5e-10  # (|z| / 64)^7 / 7! at |z| = 9
    inside = np.abs(z) < 9.0
    np.testing.assert_array_equal(np.array([_ndtr_in_table(v) for v in z[inside]]), got[inside])
    for v in (-50.0, 50.0):  # beyond the table: its end nodes (in Python an index outside would raise)
        _ndtr_in_table.py_func(v)


def _events(n, seed=5, peaked=0.6):
    """A signal-like gamma-phi sample: a fraction ``peaked`` of E near e_bar = 3.5 and of m near m_A = 6 GeV
    (one factor of v = (E - e_bar)(m - m_A) near zero, or both), the rest flat."""
    rng = np.random.default_rng(seed)
    e = np.where(rng.random(n) < peaked, 3.5 + rng.normal(0, 0.05, n), rng.uniform(0.5, 5.0, n))
    m = np.where(rng.random(n) < peaked, 6.0 + rng.normal(0, 0.1, n), rng.uniform(2.0, 9.0, n))
    return e, m, rng.uniform(0.5, 2.0, n)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["value", "sqrt_abs_v"])
def test_expected_is_the_limit_of_ten_thousand_copies(mode):
    n, copies = 10_000, 10_000
    e, m, w = _events(n, peaked=0.9)
    b = uniform_binning(2.0, 9.0, 0.1) if mode == "value" else v_binning(4.0)
    x = m if mode == "value" else e
    kw = dict(mode=mode, y=m, e_bar=3.5, m_A=6.0)
    brute, _ = _smear_fill(x, w, b, n_copies=copies, seed=11, **kw)
    exact, _ = _smear_fill(x, w, b, smearing="expected", **kw)
    # the copies' own error: each event lands in a bin with probability p (binomial over the copies)
    rec = _smear_chunk(x, b, smearing="expected", **kw)
    wi = np.repeat(w, np.diff(rec.offsets))
    var = np.bincount(rec.bins, wi**2 * rec.counts * (1 - rec.counts), b.n_bins) / copies
    sigma = np.sqrt(var)
    diff = brute[0] - exact[0]
    assert np.all(np.abs(diff) <= 5 * sigma + 1e-12)
    live = sigma > 0
    assert np.sum((diff[live] / sigma[live]) ** 2) / live.sum() < 2.0  # chi^2 / bins: agreement, not luck
    # 1e-3 per bin where 10^4 copies can tell 1e-3 at 4 sigma (the peak; elsewhere their own error is larger,
    # and the 5 sigma above applies)
    precise = sigma <= 2.5e-4 * exact[0]
    assert exact[0][precise].sum() > 0.1 * exact[0].sum()
    np.testing.assert_allclose(brute[0][precise], exact[0][precise], rtol=1e-3)


def test_every_event_is_whole():
    e, m, _ = _events(3000, seed=6)
    for mode, b in (("value", uniform_binning(2.0, 9.0, 0.1)), ("sqrt_abs_v", v_binning(4.0))):
        rec = _smear_chunk(e if mode == "sqrt_abs_v" else m, b, smearing="expected", mode=mode, y=m, e_bar=3.5,
                           m_A=6.0)
        np.testing.assert_allclose(np.add.reduceat(rec.counts, rec.offsets[:-1]), 1.0, atol=1e-11)


def test_a_fill_is_its_record_replayed():
    """A sample filled once (the background) goes through no record: the same sums, bit for bit, as recording
    its probabilities and replaying them (what the signal's every theta does)."""
    from mcdh.analysis.smearing import replay_fill

    e, m, w = _events(3000, seed=9)
    weights = np.column_stack([w, w[::-1]])
    for mode, b in (("value", uniform_binning(2.0, 9.0, 0.1)), ("sqrt_abs_v", v_binning(4.0))):
        x = e if mode == "sqrt_abs_v" else m
        kw = dict(mode=mode, y=m, e_bar=3.5, m_A=6.0, smearing="expected")
        hist, sumw2 = _smear_fill(x, weights, b, **kw)
        out = (np.zeros_like(hist), np.zeros_like(hist))
        replay_fill(_smear_chunk(x, b, **kw), weights, out)
        np.testing.assert_array_equal(hist, out[0])
        np.testing.assert_array_equal(sumw2, out[1])


def test_any_binning_of_sqrt_abs_v():
    """Edges that are not geometric are taken one by one: the same probabilities."""
    e, m, w = _events(2000, seed=7)
    geo = v_binning(4.0)
    variable = Binning(geo.edges)  # the same edges, searched instead of computed
    kw = dict(mode="sqrt_abs_v", y=m, e_bar=3.5, m_A=6.0, smearing="expected")
    np.testing.assert_allclose(_smear_fill(e, w, variable, **kw)[0], _smear_fill(e, w, geo, **kw)[0], rtol=1e-5)


def test_unknown_smearing_is_refused():
    with pytest.raises(ParameterError, match="smearing"):
        Study(smearing="infinite")
    with pytest.raises(ParameterError, match="smearing"):
        _smear_fill(np.ones(3), np.ones(3), uniform_binning(0, 2, 0.1), smearing="exact")


def _window_smearing_error(a, theta, lo, hi):
    """The 100-copy smearing error of the signal in bins lo..hi: sqrt(sum_i w_i^2 p_i (1 - p_i) / 100), p_i the
    event's probability to land in the window (from the expected record)."""
    w = a.decay_probability(theta) * a.truth()["events"]
    var = 0.0
    for k, rec in enumerate(a._records(a._sig_x, a._sig_y, a._key_sig, True)):
        inside = (rec.bins >= lo) & (rec.bins <= hi)
        p = np.add.reduceat(np.where(inside, rec.counts, 0.0), rec.offsets[:-1])
        wk = w[k * CHUNK:k * CHUNK + rec.n_events]
        var += float(np.sum(wk**2 * p * (1 - p))) / 100
    return math.sqrt(var)


@pytest.mark.parametrize("bench, m_A, channel", [("B1", 6.0, "phi"), ("B3", 3.0, "phi"), ("B2", 4.5, "gammaphi"),
                                                       ("B1", 1.5, "gammaphi")])
def test_tables_agree_with_the_paper_copies_within_their_smearing_error(bench, m_A, channel):
    copies = Study(n_signal=20_000, n_background=20_000, n_threads=1)
    expected = copies.replace(smearing="expected")
    row = copies.table_row(bench, m_A, channel)
    a = expected.analysis(bench, m_A, channel)
    lo, hi = a.binning.find(row.window_lo * 1.0000001), a.binning.find(row.window_hi * 0.9999999)
    sel_expected = float(a.signal_hists([row.theta])[0][lo:hi + 1].sum()) * a.eps_scale(row.eps)
    err = _window_smearing_error(a, row.theta, lo, hi) * a.eps_scale(row.eps)
    assert err > 0
    assert abs(row.sel_sig - sel_expected) <= 4 * err, (row.sel_sig, sel_expected, err)
    assert err < 0.1 * row.sel_sig_err  # smearing noise is a small part of the Monte Carlo error the table states
    assert expected.table_row(bench, m_A, channel).resc_sig == pytest.approx(row.resc_sig, rel=1e-12)  # same events


def test_cli_expected_smearing(mcdh):
    r = mcdh("reach", "--benchmark", "B1", "--mA", "6", "--events", "5000", "--background-events", "5000",
             "--smearing", "expected", "--json")
    assert r.returncode == 0, r.stderr
    rec = json.loads(r.stdout)
    assert rec["smearing"] == "expected" and rec["eps95"]["phi"] > 0
    r = mcdh("reach", "--benchmark", "B1", "--mA", "6", "--smearing", "infinite")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "--smearing" in r.stderr


# ----------------------------------------------------------------------
# theta on demand: the histograms from decay-length moments, the edges by Brent's method


@pytest.mark.parametrize("bench, m_A, channel, region", [("B1", 6.0, "phi", "uninstrumented"),
                                                         ("B2", 1.5, "gammaphi", "uninstrumented"),
                                                         ("B3", 3.0, "phi", "instrumented"),
                                                         ("B1", 4.5, "phi", (0.0, 9.0))])
def test_decay_moments_equal_the_replayed_histograms(bench, m_A, channel, region):
    """The moments' histogram at any theta is the replay of the record with the events' decay probabilities,
    from long-lived (both exponentials near 1) to prompt phi (a region from 0 or to infinity included)."""
    study = Study(n_signal=20_000, n_background=2000, n_threads=1, smearing="expected", region=region)
    a = study.analysis(bench, m_A, channel)
    thetas = np.geomspace(1e-7, 1.0, 29)
    replayed = a.signal_hists(thetas, with_variance=True)[0]  # the replay of the record (with the variance)
    moments = np.array([a._decay_moments().hist(t) for t in thetas])
    scale = replayed.sum(axis=1)
    resolved = scale > 1e-15 * scale.max()  # below, a histogram is no signal for any statistic
    assert resolved.sum() > 10
    np.testing.assert_allclose(moments[resolved], replayed[resolved], rtol=0,
                               atol=1e-12 * scale[resolved, None].max())
    worst = np.max(np.abs(moments - replayed)[resolved].max(axis=1) / scale[resolved])
    assert worst < 1e-11, worst


@pytest.mark.parametrize("bench, m_A, channel", [("B1", 6.0, "phi"), ("B3", 3.0, "phi"), ("B1", 6.0, "gammaphi"),
                                                 ("B2", 3.0, "gammaphi")])
def test_theta_on_demand_finds_the_grid_edges(bench, m_A, channel):
    """The on-demand search's edges against the grid's, refined 5 times (brackets / 16^5), at several points."""
    from mcdh.analysis.pipeline import AnalysisConfig
    from mcdh.study import point_results

    def results(search, refinements):
        study = Study(n_signal=30_000, n_background=30_000, n_threads=1, smearing="expected",
                      options=AnalysisConfig(theta_search=search, theta_refinements=refinements))
        a = study.analysis(bench, m_A, channel)
        return point_results(a), len(a._cache)

    (demand, n_demand), (grid, n_grid) = results("on_demand", 2), results("grid", 5)
    edges = 0
    for n_b in demand.band:
        for bands in ((demand.band, grid.band), (demand.band_cut_and_count, grid.band_cut_and_count)):
            d, g = bands[0][n_b], bands[1][n_b]
            assert (d.below_range, d.above_range, d.excluded) == (g.below_range, g.above_range, g.excluded)
            for x, y in ((d.lower, g.lower), (d.upper, g.upper)):
                assert math.isnan(x) == math.isnan(y)
                if not math.isnan(x):
                    assert x == pytest.approx(y, rel=1e-6)
                    edges += 1
    assert edges >= 4
    assert n_demand < n_grid / 3  # the theta values it visits


def test_on_demand_is_the_default_of_expected_smearing_only():
    assert Study().config.band_search == "grid" and Study(smearing="expected").config.band_search == "on_demand"
    with pytest.raises(ParameterError, match="theta_search"):
        from mcdh.analysis.pipeline import AnalysisConfig

        AnalysisConfig(theta_search="bisect")


def test_decay_moments_over_any_range_of_decay_lengths():
    """Decay lengths over 200 decades (and 0: never in the region): the same histogram as event by event, with
    a map of cells as large as the occupied groups, not the range."""
    from mcdh.analysis.decay_moments import DecayMoments
    from mcdh.analysis.displacement import decay_probabilities
    from mcdh.analysis.smearing import SmearRecord

    rng = np.random.default_rng(8)
    n = 400
    d = np.concatenate([10.0 ** rng.uniform(-200, 5, n - 1), [0.0]])
    w = rng.uniform(0.5, 2.0, n)
    p = rng.uniform(0.1, 0.9, n)  # two bins an event: p and 1 - p
    rec = SmearRecord(np.arange(0, 2 * n + 1, 2), np.tile(np.array([0, 1], np.int32), n),
                      np.column_stack([p, 1 - p]).ravel(), 1)
    moments = DecayMoments(d, w, [rec], 2, 2.0, 9.0)
    assert moments.centres.size <= n and moments.nu.shape[0] <= 2 * n
    for theta in (1e-6, 1e-3, 0.3):
        prob = decay_probabilities(d, np.array([math.sin(theta) ** 2]), (2.0, 9.0))[:, 0]
        exact = np.array([np.sum(w * prob * p), np.sum(w * prob * (1 - p))])
        np.testing.assert_allclose(moments.hist(theta), exact, rtol=1e-10, atol=1e-16 * w.sum())


@pytest.mark.parametrize("span", [50, 6000])
def test_dense_groups_are_numpys_unique(span):
    """The groups of decay lengths, numbered without a sort where their range is at most 4 x their number
    (here all groups occupied, and 1 in 4 of them): np.unique's values and indices. A wider range takes
    np.unique itself (the 200-decade test above)."""
    from mcdh.analysis.decay_moments import _dense_groups

    bucket = np.random.default_rng(span).integers(-span, span, 3000)
    values, index = _dense_groups(bucket)
    ref_values, ref_index = np.unique(bucket, return_inverse=True)
    np.testing.assert_array_equal(values, ref_values)
    np.testing.assert_array_equal(index, ref_index)
    assert _dense_groups(bucket[:0])[0].size == 0


@pytest.mark.parametrize("e_bar, m_A", [(3.2, 5.6), (3.45, 6.3)])
def test_expected_against_copies_with_a_hypothesis_off_the_sample(e_bar, m_A):
    """v built with a hypothesis (e_bar, m_A) the sample does not peak at - as an analyst's scan meets it: the
    factors of v sit a few resolutions from zero, where the two quadratures meet. 10^4 copies agree within 5
    sigma of their own binomial error in every bin, and chi^2 per bin stays below 2."""
    n, copies = 2000, 10_000
    e, m, w = _events(n, seed=9, peaked=0.9)  # peaked at e_bar = 3.5, m_A = 6
    b = v_binning(4.0)
    kw = dict(mode="sqrt_abs_v", y=m, e_bar=e_bar, m_A=m_A)
    brute, _ = _smear_fill(e, w, b, n_copies=copies, seed=12, **kw)
    exact, _ = _smear_fill(e, w, b, smearing="expected", **kw)
    rec = _smear_chunk(e, b, smearing="expected", **kw)
    wi = np.repeat(w, np.diff(rec.offsets))
    sigma = np.sqrt(np.bincount(rec.bins, wi**2 * rec.counts * (1 - rec.counts), b.n_bins) / copies)
    diff, live = brute[0] - exact[0], sigma > 0
    assert live.sum() >= 8
    assert np.all(np.abs(diff) <= 5 * sigma + 1e-12)
    assert np.sum((diff[live] / sigma[live]) ** 2) / live.sum() < 2.0


def test_on_demand_finds_a_band_narrower_than_its_first_scan():
    """A synthetic -2 log L: a bump in log theta narrower than the coarse scan's step, peaking between two of its
    points (none of them reaches 3.84). The golden-section search finds it and Brent's method gives the edges of
    the closed form ln theta0 +- w sqrt(ln(A / 3.84))."""
    from mcdh.analysis.pipeline import COARSE_PER_DECADE, AnalysisConfig, theta_bands_on_demand

    config = AnalysisConfig()
    lo, hi = (math.log(t) for t in config.theta_range)
    n = int(math.ceil((hi - lo) / math.log(10.0) * COARSE_PER_DECADE)) + 1
    coarse = np.linspace(lo, hi, n)
    log_t0, width, height = 0.5 * (coarse[9] + coarse[10]), 0.12, 10.0

    def g(_key, thetas):
        return height * np.exp(-(((np.log(thetas) - log_t0) / width) ** 2))

    assert g(None, np.exp(coarse)).max() < 3.84  # the coarse scan alone sees no band
    band = theta_bands_on_demand(config, ["k"], g, lambda thetas: None)["k"]
    half = width * math.sqrt(math.log(height / 3.84))
    assert band.excluded and not band.below_range and not band.above_range
    assert band.lower == pytest.approx(math.exp(log_t0 - half), rel=1e-9)
    assert band.upper == pytest.approx(math.exp(log_t0 + half), rel=1e-9)


def test_an_analysis_is_freed_after_its_band_search():
    """The on-demand band search solves with scipy's brentq, which keeps the function it is given in a reference
    cycle; that function holds the analysis (samples, smearing record). Without the garbage collector the
    analysis must still be freed when dropped: a run over many points grew by ~370 MB before."""
    import gc
    import weakref

    from mcdh.study import point_results

    study = Study(n_signal=2000, n_background=2000, n_threads=1, smearing="expected")
    # compiled first: a first compilation leaves caught exceptions whose frames (and their locals) are in cycles
    point_results(study.analysis("B1", 6.0, "phi", keep=False))
    gc.collect()
    a = study.analysis("B1", 6.0, "phi", keep=False)
    gone = weakref.ref(a)
    gc.disable()
    try:
        point_results(a)
        del a
        assert gone() is None
    finally:
        gc.enable()


def test_warm_up_compiles_the_chain_of_the_smearing_in_use():
    """Points run on threads only after the chain they use is compiled (numba's first compilation is not
    thread-safe): with expected smearing that includes its own kernels. In a fresh process, so that no other
    test has compiled them."""
    import subprocess
    import sys

    code = ("from mcdh.study import warm_up\nfrom mcdh.analysis import smearing, decay_moments\n"
            "warm_up('expected')\n"
            "assert smearing._expected.signatures and decay_moments._add_moments.signatures\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=600)
