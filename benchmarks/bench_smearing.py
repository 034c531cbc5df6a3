"""The fused smearing + histogram kernel (eq. A.1, 100 copies per event) against numpy's normals + np.histogram."""

import numpy as np

from mcdh.analysis.binning import mchichi_binning, v_binning
from mcdh.analysis.smearing import Resolution, _smear_fill

from ._util import best_ratio, best_time

N = 200_000
COPIES = 100


def _inputs(n):
    rng = np.random.default_rng(2)
    return rng.uniform(1.0, 9.0, n), rng.uniform(0.25, 5.0, n), rng.random(n)


def _numpy_fill(x, w, edges, sigma):
    g = np.random.default_rng(1)
    v = (x[:, None] + sigma[:, None] * g.normal(size=(x.size, COPIES))).ravel()
    return np.histogram(v, bins=edges, weights=np.repeat(w / COPIES, COPIES))


class Smearing:
    timeout = 300

    def setup(self):
        self.x, self.e, self.w = _inputs(N)
        self.b_m = mchichi_binning(4.0, 0.8, 10.0)
        self.b_v = v_binning(8.0)
        _smear_fill(self.x[:10], self.w[:10], self.b_m)  # compile or load the kernels
        _smear_fill(self.e[:10], self.w[:10], self.b_v, mode="sqrt_abs_v", y=self.x[:10], e_bar=4.5, m_A=4.0)

    def fill_mchichi(self):
        _smear_fill(self.x, self.w, self.b_m, seed=1)

    def fill_v(self):
        _smear_fill(self.e, self.w, self.b_v, mode="sqrt_abs_v", y=self.x, e_bar=4.5, m_A=4.0, seed=1)

    def time_mchichi(self):
        """2e7 smeared entries of m_chichi on one core (target >= 3e7 entries/s)."""
        self.fill_mchichi()

    def time_sqrt_abs_v(self):
        self.fill_v()

    def track_time_over_numpy(self):
        """The fused kernel's time per smeared entry over numpy's (m_chichi; lower is better)."""
        n_np = N // 4
        sigma = np.asarray(Resolution().sigma(self.x[:n_np]))
        return best_ratio(self.fill_mchichi, lambda: _numpy_fill(self.x[:n_np], self.w[:n_np], self.b_m.edges, sigma),
                          3) * n_np / N

    track_time_over_numpy.unit = "ratio"

    def track_many_theta_columns_cost(self):
        """Time of one pass filling 71 theta columns over one pass filling one: drawing normals dominates."""
        n = N // 4
        w71 = np.repeat(self.w[:n, None], 71, axis=1)
        t71 = best_time(lambda: _smear_fill(self.x[:n], w71, self.b_m, seed=1))
        t1 = best_time(lambda: _smear_fill(self.x[:n], self.w[:n], self.b_m, seed=1))
        return t71 / t1

    track_many_theta_columns_cost.unit = "ratio"


class SmearingMemory:
    """Peak memory of filling 1e5 events x 100 copies: the fused kernel never holds the copies."""

    timeout = 300

    def setup(self):
        self.x, _, self.w = _inputs(100_000)
        self.b = mchichi_binning(4.0, 0.8, 10.0)
        _smear_fill(self.x[:10], self.w[:10], self.b)

    def peakmem_fused(self):
        _smear_fill(self.x, self.w, self.b, seed=1)

    def peakmem_numpy(self):
        _numpy_fill(self.x, self.w, self.b.edges, np.asarray(Resolution().sigma(self.x)))


class AnalysisPoint:
    """One point of mcdh reproduce (B1, m_A' = 6 GeV, phi; 100k signal and background events): how often its
    samples are smeared, and its CPU time in units of one smearing pass of its signal (issue 16)."""

    timeout = 600

    def setup(self):
        from mcdh.study import Study

        self.study = Study(n_threads=1)
        self.study.analysis("B1", 6.0, "phi", keep=False)  # load the kernels

    def _point(self):
        from mcdh.study import point_results

        a = self.study.analysis("B1", 6.0, "phi", keep=False)
        point_results(a)
        return a

    def track_smearing_passes_per_point(self):
        """Smearing passes of one point (signal and background): 2 when each sample is smeared once."""
        return self._point().smearing_passes

    track_smearing_passes_per_point.unit = "passes"

    def track_point_over_one_smearing_pass(self):
        """CPU time of a whole point (generation, smearing, table, reach, theta band) over one smearing pass of its
        signal, the two measured interleaved (best of 3)."""
        from mcdh.analysis.smearing import _smear_chunk

        a = self._point()

        def one_pass():
            _smear_chunk(a._sig_x, a.binning, n_copies=a.config.n_copies, seed=a._key_sig)

        return best_ratio(self._point, one_pass, 3)

    track_point_over_one_smearing_pass.unit = "ratio"

    def track_width_envelope_over_point(self):
        """CPU time of a point's results with the hadronic-width envelope of figure 11 over the same without it,
        two fresh analyses of the same point in one run (issue 22: 9 more eps reaches at replayed widths; the
        theta-band edges move in closed form)."""
        import time

        from mcdh.study import point_results

        plain, envelope = (self.study.analysis("B1", 6.0, "phi", keep=False) for _ in range(2))
        t0 = time.process_time()
        point_results(plain)
        t1 = time.process_time()
        point_results(envelope, width_envelope=True)
        return (time.process_time() - t1) / (t1 - t0)

    track_width_envelope_over_point.unit = "ratio"


class PointCpu:
    """CPU seconds of one analysis point at the paper's statistics (B1, m_A' = 6 GeV; 10^5 signal and 10^5
    background events): generation, smearing, every theta the table, eps reach and theta bands need (N_b = 1 and
    10^4, optimised windows and cut-and-count), windows and reach - with expected smearing (issue 28: <= 0.1) and,
    beside it, the paper's 100 copies; and the gamma-phi channel's."""

    timeout = 600
    params = (["phi", "gammaphi"],)
    param_names = ["channel"]

    def setup(self, channel):
        from mcdh.study import Study, point_results

        for smearing in ("expected", "copies"):  # compile the kernels outside the measurement
            point_results(Study(n_threads=1, smearing=smearing).analysis("B1", 6.0, channel, keep=False))

    @staticmethod
    def _point(channel, smearing):
        from mcdh.study import Study, point_results

        study = Study(n_threads=1, smearing=smearing)
        return lambda: point_results(study.analysis("B1", 6.0, channel, keep=False))

    def track_point_cpu_seconds_expected(self, channel):
        """CPU seconds of the point with expected smearing (best of 3)."""
        return best_time(self._point(channel, "expected"), 3)

    track_point_cpu_seconds_expected.unit = "CPU seconds"

    def track_point_cpu_seconds_copies(self, channel):
        """CPU seconds of the point with the paper's 100 copies (best of 3)."""
        return best_time(self._point(channel, "copies"), 3)

    track_point_cpu_seconds_copies.unit = "CPU seconds"

    def track_expected_over_copies(self, channel):
        """The point's CPU time with expected smearing over the same with the paper's copies, measured
        interleaved (best of 3; lower is better)."""
        return best_ratio(self._point(channel, "expected"), self._point(channel, "copies"), 3)

    track_expected_over_copies.unit = "ratio"
