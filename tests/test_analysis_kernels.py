"""Displacement, smearing, binning: numba kernels against plain numpy references and analytic facts."""
import math

import numba
import numpy as np
import pytest
from scipy import stats

from mcdh.analysis.binning import GEOMETRIC, UNIFORM, Binning, mchichi_binning, uniform_binning, v_binning
from mcdh.analysis.displacement import (
    Region,
    decay_probabilities,
    decay_probability,
    decay_probability_reference,
    get_region,
    transverse_decay_length,
)
from mcdh.analysis.smearing import Resolution, _smear_fill, _smear_fill_reference, normals, seed_key
from mcdh.errors import ParameterError
from mcdh.physics.constants import HBAR_C_GEV_MM

# ----------------------------------------------------------------------
# displacement


def test_decay_probability_matches_reference_at_moderate_lengths():
    d = np.geomspace(0.5, 5e4, 200)
    for name in ("prompt", "uninstrumented", "instrumented", "invisible", "all"):
        np.testing.assert_allclose(decay_probability(d, name), decay_probability_reference(d, name), rtol=1e-12, atol=1e-300)


def test_decay_probability_long_lived_limit_keeps_precision():
    # d >> r_out: p -> (r_out - r_in) / d (1 - (r_in + r_out) / (2 d)); the naive difference loses digits
    d = np.array([1e8, 1e12, 1e16, 1e20])
    p = decay_probability(d, "uninstrumented")
    expected = 7.0 / d * (1.0 - 11.0 / (2.0 * d))
    np.testing.assert_allclose(p, expected, rtol=1e-12)
    naive = decay_probability_reference(d, "uninstrumented")
    assert naive[-1] == 0.0  # the naive formula has lost every digit at d = 1e20
    assert np.all(p > 0)


def test_decay_probability_short_lived_limit_and_edges():
    d = np.array([0.0, 1e-300, 1e-3, 0.05])
    p = decay_probability(d, "uninstrumented")
    assert np.all(np.isfinite(p)) and np.all(p >= 0)
    assert p[0] == 0.0 and p[1] == 0.0
    # exp(-2/0.05) is representable: the short-lived tail is still computed
    assert p[3] == pytest.approx(math.exp(-40.0) * (1 - math.exp(-140.0)), rel=1e-12)
    assert decay_probability(0.0, "prompt") == 1.0
    assert decay_probability(10.0, "invisible") == pytest.approx(math.exp(-110.0), rel=1e-12)


def test_regions_partition_the_space():
    d = np.geomspace(1e-2, 1e9, 300)
    parts = sum(decay_probability(d, r) for r in ("prompt", "uninstrumented", "instrumented", "invisible"))
    np.testing.assert_allclose(parts, 1.0, rtol=1e-12)
    np.testing.assert_allclose(decay_probability(d, "all"), 1.0, rtol=0, atol=0)


def test_user_defined_region_and_errors():
    assert decay_probability(100.0, (2.0, 9.0)) == decay_probability(100.0, "uninstrumented")
    assert get_region(Region("beam pipe", 0.0, 10.0)).r_out == 10.0
    with pytest.raises(ParameterError, match="region"):
        get_region("nowhere")
    with pytest.raises(ParameterError, match="r_out"):
        Region("bad", 5.0, 2.0)
    with pytest.raises(ParameterError, match="d_mm"):
        decay_probability([1.0, -1.0])


def test_probability_matrix_is_columnwise_rescaling():
    rng = np.random.default_rng(3)
    d = rng.uniform(0.1, 1e5, 500)
    scale = np.array([1e-4, 0.3, 1.0, 7.0, 1e3])
    m = decay_probabilities(d, scale, "instrumented")
    for k, s in enumerate(scale):
        np.testing.assert_allclose(m[:, k], decay_probability(d / s, "instrumented"), rtol=1e-14)


def test_transverse_decay_length_is_pt_over_m_times_ctau():
    width, m = 2e-15, 0.5
    ctau = HBAR_C_GEV_MM / width
    np.testing.assert_allclose(transverse_decay_length(np.array([1.0, 2.5]), m, width), np.array([1.0, 2.5]) / m * ctau)


# ----------------------------------------------------------------------
# smearing


def test_resolution_formula():
    res = Resolution()
    assert res.relative(1.0) == pytest.approx(math.sqrt(0.066e-2**2 + 0.81e-2**2 + 1.34e-2**2), rel=1e-14)
    e = np.array([0.25, 1.0, 5.0, 10.0])
    np.testing.assert_allclose(res.sigma(e), e * res.relative(e), rtol=1e-14)
    assert res.sigma(0.0) == pytest.approx(0.066e-2)  # finite at E = 0


def test_kernel_normals_are_standard_normal():
    z = normals(seed_key(11), 0, 2000, 100).ravel()
    assert abs(z.mean()) < 5 / math.sqrt(z.size)
    assert abs(z.var() - 1) < 5 * math.sqrt(2 / z.size)
    assert stats.kstest(z, "norm").pvalue > 1e-3
    # the tails (ziggurat base layer beyond r = 3.654) have the right weight
    frac = np.mean(np.abs(z) > 3.6541528853610088)
    expected = math.erfc(3.6541528853610088 / math.sqrt(2))
    assert abs(frac - expected) < 5 * math.sqrt(expected / z.size)
    # events are independent streams: neighbouring events are uncorrelated
    zz = normals(seed_key(11), 0, 20000, 2)
    assert abs(np.corrcoef(zz[:-1, 0], zz[1:, 0])[0, 1]) < 5 / math.sqrt(20000)


@pytest.mark.parametrize("mode", ["value", "sqrt_abs_v"])
def test_smear_fill_matches_numpy_reference(mode):
    rng = np.random.default_rng(5)
    n = 3000
    x = rng.uniform(0.3, 5.0, n) if mode == "sqrt_abs_v" else rng.uniform(1.0, 9.0, n)
    y = rng.uniform(2.0, 9.0, n)
    w = rng.random((n, 3))
    b = v_binning(8.0) if mode == "sqrt_abs_v" else mchichi_binning(4.0, 0.8, 10.0)
    kw = dict(mode=mode, y=y, e_bar=4.5, m_A=4.0, n_copies=100, seed=42)
    h, s2 = _smear_fill(x, w, b, **kw)
    h_ref, s2_ref = _smear_fill_reference(x, w, b, **kw)
    np.testing.assert_allclose(h, h_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(s2, s2_ref, rtol=1e-10, atol=1e-14)
    # every copy lands in some bin: total weight is conserved
    np.testing.assert_allclose(h.sum(axis=1), w.sum(axis=0), rtol=1e-12)


def test_smear_fill_agrees_in_distribution_with_numpy_normal():
    # a monochromatic line at 5 GeV: the smeared histogram is a Gaussian of width sigma(5)
    res = Resolution()
    n = 20000
    x = np.full(n, 5.0)
    b = uniform_binning(4.0, 6.0, 0.01)
    h, _ = _smear_fill(x, np.full(n, 100.0), b, seed=3)  # weight 100: each copy counts 1
    rng = np.random.default_rng(3)
    h_np, _ = np.histogram(5.0 + res.sigma(5.0) * rng.normal(size=(n, 100)).ravel(), bins=b.edges)
    c = b.centers
    mean, var = np.average(c, weights=h[0]), np.average((c - 5.0) ** 2, weights=h[0])
    assert mean == pytest.approx(5.0, abs=5 * res.sigma(5.0) / math.sqrt(n * 100))
    assert math.sqrt(var - 0.01**2 / 12) == pytest.approx(res.sigma(5.0), rel=0.01)
    # chi2 between the two histograms (copies of one event are independent draws)
    both = (h[0] > 0) | (h_np > 0)
    chi2 = np.sum((h[0][both] - h_np[both]) ** 2 / (h[0][both] + h_np[both]))
    assert stats.chi2.sf(chi2, both.sum() - 1) > 1e-4


def test_smear_fill_chunks_and_columns_do_not_change_copies():
    rng = np.random.default_rng(8)
    x = rng.uniform(1, 9, 5000)
    w = rng.random(5000)
    b = mchichi_binning(3.0, 0.8, 10.0)
    whole, _ = _smear_fill(x, w, b, seed=1)
    h = np.zeros_like(whole)
    s2 = np.zeros_like(whole)
    _smear_fill(x[:1234], w[:1234], b, seed=1, out=(h, s2))
    _smear_fill(x[1234:], w[1234:], b, seed=1, first_index=1234, out=(h, s2))
    np.testing.assert_allclose(h, whole, rtol=1e-12)
    # an extra weight column fills its own row with the very same copies
    two, _ = _smear_fill(x, np.column_stack([w, 2 * w]), b, seed=1)
    np.testing.assert_allclose(two[0], whole[0], rtol=1e-12)
    np.testing.assert_allclose(two[1], 2 * whole[0], rtol=1e-12)
    other, _ = _smear_fill(x, w, b, seed=2)
    assert not np.allclose(other, whole)


def test_unsmeared_fill_is_a_plain_histogram():
    rng = np.random.default_rng(9)
    x = rng.uniform(1, 9, 4000)
    w = rng.random(4000)
    b = mchichi_binning(5.0, 0.8, 10.0)
    h, s2 = _smear_fill(x, w, b, smear=False)
    np.testing.assert_allclose(h[0], np.histogram(x, b.edges, weights=w)[0], rtol=1e-12)
    np.testing.assert_allclose(s2[0], np.histogram(x, b.edges, weights=w**2)[0], rtol=1e-12)


def test_smear_fill_input_errors():
    b = uniform_binning(0, 1, 0.1)
    with pytest.raises(ParameterError, match="mode"):
        _smear_fill(np.ones(3), np.ones(3), b, mode="energy")
    with pytest.raises(ParameterError, match="weights"):
        _smear_fill(np.ones(3), np.ones(4), b)
    with pytest.raises(ParameterError, match="y"):
        _smear_fill(np.ones(3), np.ones(3), b, mode="sqrt_abs_v")
    with pytest.raises(ParameterError, match="n_copies"):
        _smear_fill(np.ones(3), np.ones(3), b, n_copies=0)


# ----------------------------------------------------------------------
# binning


def test_v_binning_follows_eq_4_10():
    b = v_binning(7.3)
    e = b.edges
    assert b.kind == GEOMETRIC
    assert e[0] == 0.0 and e[1] == pytest.approx(0.01)
    rel = (e[2:] - e[1:-1]) / (0.5 * (e[2:] + e[1:-1]))
    np.testing.assert_allclose(rel, 0.30, rtol=1e-12)
    assert e[-2] <= 7.3 < e[-1]


def test_mchichi_binning_is_resolution_wide_and_centred_on_m_A():
    res = Resolution()
    b = mchichi_binning(3.3, 2.2, 9.5, width_sigma=1.0)
    assert b.kind == UNIFORM
    np.testing.assert_allclose(b.widths, res.sigma(3.3), rtol=1e-9)
    k = b.find(3.3)
    assert b.centers[k] == pytest.approx(3.3, abs=1e-12)
    assert b.edges[0] <= 2.2 and b.edges[-1] >= 9.5
    assert mchichi_binning(3.3, 2.2, 9.5, width_sigma=2.0).n_bins < b.n_bins


@pytest.mark.parametrize("binning", [mchichi_binning(6.0, 4.0, 9.0), v_binning(6.0), Binning(np.array([0.0, 0.5, 0.7, 3.0]))])
def test_kernel_bin_finding_equals_searchsorted(binning):
    rng = np.random.default_rng(4)
    e = binning.edges
    x = np.concatenate([rng.uniform(e[0] - 1, e[-1] + 1, 5000), e, np.nextafter(e, -np.inf)])
    x = x[x >= 0]
    # the kernel path: unsmeared fill, one event per value
    h, _ = _smear_fill(x, np.ones(x.size), binning, smear=False)
    np.testing.assert_array_equal(h[0], np.bincount(binning.index(x), minlength=binning.n_bins))


def test_binning_errors():
    with pytest.raises(ParameterError, match="edges"):
        Binning(np.array([0.0, 0.0, 1.0]))
    with pytest.raises(ParameterError, match="step"):
        v_binning(5.0, step=2.5)
    with pytest.raises(ParameterError, match="width"):
        uniform_binning(0, 1, 0)


@numba.njit
def _full_expression(d, r_in, r_out):
    # the same libm as the kernel (numpy's own SIMD exp may round differently)
    out = np.empty(d.size)
    for i in range(d.size):
        head = math.exp(-r_in / d[i])
        out[i] = head if r_out == math.inf else head * -math.expm1(-(r_out - r_in) / d[i])
    return out


@pytest.mark.parametrize("region", ["uninstrumented", "prompt", "instrumented", "invisible", (170.0, 600.0)])
def test_decay_probability_shortcuts_are_exact(region):
    """The kernel skips exp when it underflows to 0 and expm1 when it is exactly -1: the same bits as the
    full expression exp(-r_in/d) * -expm1(-(r_out - r_in)/d), also right at both thresholds."""
    reg = get_region(region)
    span = reg.r_out - reg.r_in
    d = np.concatenate([
        np.geomspace(1e-6, 1e6, 20001),
        reg.r_in / np.linspace(744.0, 747.0, 3001) if reg.r_in > 0 else np.empty(0),
        span / np.linspace(37.0, 41.0, 4001) if math.isfinite(span) else np.empty(0),
    ])
    full = _full_expression(d, reg.r_in, reg.r_out)
    p = decay_probability(d, region)
    assert np.array_equal(p, full)
    assert np.array_equal(np.signbit(p), np.signbit(full))
