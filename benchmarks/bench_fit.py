"""The joint fit of issue 17 once its templates exist: one fit, and seeded Poisson toys on two processes.

Targets: one fit (MIGRAD + HESSE + MINOS of four parameters) <= 5 s on one core, 300 toys <= 10 min on
two cores. The same-run ratio is a fit's cost in evaluations of the likelihood (machine independent).
"""
from mcdh import DarkSector
from mcdh.reconstruct.data import asimov_data
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

    def track_fit_seconds(self):
        """One fit: MIGRAD, HESSE, MINOS of m_A, m_phi, eps, theta, the significance (s, one core)."""
        return best_time(lambda: fit(self.model, self.data))

    track_fit_seconds.unit = "s"

    def track_fit_in_likelihood_calls(self):
        """A fit's cost in likelihood evaluations: its time over one evaluation's."""
        lk = Likelihood(self.model, self.data.counts(self.model))
        x = [self.truth[k] for k in lk.names]
        one = best_time(lambda: [lk(x) for _ in range(200)]) / 200
        return best_time(lambda: fit(self.model, self.data)) / one

    track_fit_in_likelihood_calls.unit = "evaluations"

    def track_300_toys_seconds_two_processes(self):
        return best_time(lambda: toys(self.model, self.truth, 300, seed=1, n_workers=2), repeats=1)

    track_300_toys_seconds_two_processes.unit = "s"
