"""The joint fit of issue 17 once its templates exist: one fit, and seeded Poisson toys on two processes.

Targets: one fit (MIGRAD + HESSE + MINOS of four parameters) <= 0.5 s on one core, 300 toys <= 10 min on
two cores, the global significance and goodness of fit of one data set (300 + 300 toys) <= 60 s on two
cores. The same-run ratios are a fit's cost in evaluations of the likelihood and the calibration's cost in
fits (machine independent).
"""
from mcdh import DarkSector
from mcdh.reconstruct.calibration import calibrate
from mcdh.reconstruct.data import asimov_data, poisson_data
from mcdh.reconstruct.fit import Likelihood, fit, toys
from mcdh.reconstruct.model import DataModel, FitConfig, default_truth

from ._util import best_time

POINT = DarkSector.from_benchmark("B1", 6.0, eps=4.2e-5, theta=1e-3)  # ~100 phi signal events at 50 ab^-1


class Fit:
    timeout = 900

    def setup(self):
        self.model = DataModel(FitConfig(POINT, luminosity_fb=5e4, n_b=10))  # default templates (40000 events/node)
        self.data = asimov_data(self.model)
        self.truth = default_truth(self.model.config)
        self.poisson = poisson_data(self.model.config, seed=3, mc_events=50_000)
        self.fitted = fit(self.model, self.poisson)

    def time_fit(self):
        """One fit: MIGRAD, HESSE, MINOS of m_A, m_phi, eps, theta, the significance (one core)."""
        fit(self.model, self.data)

    def track_fit_in_likelihood_calls(self):
        """A fit's cost in likelihood evaluations: its time over one evaluation's."""
        lk = Likelihood(self.model, self.data.counts(self.model))
        x = [self.truth[k] for k in lk.names]
        one = best_time(lambda: [lk(x) for _ in range(200)]) / 200
        return best_time(lambda: fit(self.model, self.data)) / one

    track_fit_in_likelihood_calls.unit = "evaluations"

    def time_300_toys_two_processes(self):
        """300 seeded Poisson toys of the fit on two processes."""
        toys(self.model, self.truth, 300, seed=1, n_workers=2)

    time_300_toys_two_processes.number = 1
    time_300_toys_two_processes.repeat = 1
    time_300_toys_two_processes.warmup_time = 0

    def time_calibration_two_processes(self):
        """The global significance and the goodness of fit of one Poisson data set: 300 + 300 toys."""
        calibrate(self.model, self.fitted, self.poisson.counts(self.model), n_toys=300, n_workers=2)

    time_calibration_two_processes.number = 1
    time_calibration_two_processes.repeat = 1
    time_calibration_two_processes.warmup_time = 0

    def track_calibration_in_fits(self):
        """The calibration's cost (two processes) in fits of the data with MINOS (one core)."""
        r = fit(self.model, self.poisson)
        counts = self.poisson.counts(self.model)
        one = best_time(lambda: fit(self.model, self.poisson))
        return best_time(lambda: calibrate(self.model, r, counts, n_toys=300, n_workers=2), repeats=1) / one

    track_calibration_in_fits.unit = "fits"
