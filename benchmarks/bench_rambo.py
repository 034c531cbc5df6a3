"""The C RAMBO core: against the numpy implementation of the same map and against itself on one thread."""
import time

import numpy as np

import mcdh
from mcdh.generate.background import generate_background
from mcdh.generate.phasespace import rambo_numpy_generate

from ._util import best_ratio, best_time

SQRT_S = 10.58
MASSES = {"2to4": (0.0, 1.0, 2.0, 2.0), "2to3": (1.0, 2.0, 2.0)}
N = 1_000_000


class Rambo:
    params = ["2to4", "2to3"]
    param_names = ["final_state"]
    timeout = 300

    def setup(self, final_state):
        self.masses = MASSES[final_state]
        self.p = np.empty((N, len(self.masses), 4))
        self.w = np.empty(N)
        self.run(1)  # touch the pages and the code

    def run(self, threads):
        mcdh.rambo(SQRT_S, self.masses, N, 1, out=(self.p, self.w), n_threads=threads)

    def time_one_thread(self, final_state):
        """1e6 events on one core (target: <= 100 ns/event for 2 -> 4, i.e. 0.1 s)."""
        self.run(1)

    def track_time_over_numpy(self, final_state):
        """The C core's time per event over numpy's, for the same map and statistics (lower is better)."""
        n_np = N // 5
        return best_ratio(lambda: self.run(1), lambda: rambo_numpy_generate(SQRT_S, self.masses, n_np, 1), 3) * n_np / N

    track_time_over_numpy.unit = "ratio"

    def track_thread_scaling(self, final_state):
        """Time on one thread over time on two (2 on two idle cores)."""
        return best_time(lambda: self.run(1), clock=time.perf_counter) / best_time(lambda: self.run(2), clock=time.perf_counter)

    track_thread_scaling.unit = "ratio"


class Background:
    timeout = 300

    def track_time_over_rambo(self):
        """gamma-phi mock background (acceptance rounds, normalisation) over bare RAMBO for the same events."""
        n = 250_000
        generate_background("gammaphi", 1.0, 2.0, 1000, 1, n_threads=1)
        # best of 9, not 5: the background's rounds are memory-bound, RAMBO is not, so a neighbour's load can weigh
        # on one side only (a gate run measured 4.87 against 3.4-3.6 in three reruns of the same code)
        return best_ratio(lambda: generate_background("gammaphi", 1.0, 2.0, n, 1, n_threads=1),
                          lambda: mcdh.rambo(SQRT_S, MASSES["2to4"], n, 1, n_threads=1), 9)

    track_time_over_rambo.unit = "ratio"
