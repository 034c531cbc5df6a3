"""The native signal generator: exact matrix elements and multi-channel mappings on top of flat phase space."""
import time

import mcdh
from mcdh.generate.signal import generate_signal
from mcdh.physics.model import DarkSector

from ._util import best_ratio, best_time

N = 500_000
POINTS = {"phi-B1-3": ("phi", "B1", 3.0), "gammaphi-B1-3": ("gammaphi", "B1", 3.0), "gammaphi-B1-7.5": ("gammaphi", "B1", 7.5)}


class Signal:
    params = list(POINTS)
    param_names = ["point"]
    timeout = 600

    def setup(self, point):
        self.process, bench, m_A = POINTS[point]
        self.model = DarkSector.from_benchmark(bench, m_A)
        m = self.model
        self.masses = (m.m_phi, m.m_chi, m.m_chi) if self.process == "phi" else (0.0, m.m_phi, m.m_chi, m.m_chi)
        generate_signal(self.model, self.process, 1000, 1, n_threads=1)  # load the compiled kernels

    def generate(self, threads):
        return generate_signal(self.model, self.process, N, 1, n_threads=threads)

    def time_two_threads(self, point):
        """5e5 weighted events on two threads (targets: 3e6/s for phi, 1e6/s for gamma-phi)."""
        self.generate(2)

    def track_time_over_rambo(self, point):
        """Time per weighted event over bare RAMBO's for the same final state, one thread each."""
        return best_ratio(lambda: self.generate(1), lambda: mcdh.rambo(10.58, self.masses, N, 1, n_threads=1), 3)

    track_time_over_rambo.unit = "ratio"

    def track_thread_scaling(self, point):
        return best_time(lambda: self.generate(1), 2, time.perf_counter) / best_time(lambda: self.generate(2), 2, time.perf_counter)

    track_thread_scaling.unit = "ratio"

    def track_events_per_unweighted_event(self, point):
        """Weighted events per unweighted one, 1 / the unweighting efficiency (target <= 10; lower is better): a
        property of the mappings, not the machine."""
        return 1.0 / self.generate(2).parameters["unweighting_efficiency"]

    track_events_per_unweighted_event.unit = "ratio"
