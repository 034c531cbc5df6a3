"""Lifetime reweighting of a simulated ntuple (issue 24): `mcdh reweight` streams the ntuple in chunks.

Target: 10^7 events x 50 theta <= 20 s on two cores, memory flat in the number of events. The ntuples here
have 5 x 10^5 and 2 x 10^6 events (basf2's MC-truth branches); the time of 10^7 is the larger run's plus
the per-event cost between the two (the start of the process counted once). The same-run ratio is the
reweighting's cost against reading the same branches with uproot.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

from ._util import best_time

N = 2_000_000
BASKET = 100_000
THETAS = ",".join(f"{x:.4g}" for x in np.logspace(-6, -3, 50))


def _ntuple(path, n):
    import uproot

    rng = np.random.default_rng(1)
    p = rng.normal(0.0, 2.0, (n, 3))
    e = np.sqrt(np.sum(p * p, axis=1) + 1.0)
    v = p * rng.exponential(1.0, n)[:, None]
    cols = {"mcE": e, "mcPX": p[:, 0], "mcPY": p[:, 1], "mcPZ": p[:, 2], "mcDecayVertexX": v[:, 0],
            "mcDecayVertexY": v[:, 1], "mcDecayVertexZ": v[:, 2]}
    with uproot.recreate(path) as f:
        f.mktree("variables", {k: np.float64 for k in cols})
        for start in range(0, n, BASKET):  # baskets of one size in both files, as basf2's are: memory compares events
            f["variables"].extend({k: c[start:start + BASKET] for k, c in cols.items()})


def _run(ntuple, out):
    code = ("import resource, sys; from mcdh.cli import main; rc = main(sys.argv[1:]); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(rc)")
    r = subprocess.run([sys.executable, "-c", code, "reweight", ntuple, "--output", out, "--theta-list", THETAS,
                        "--theta0", "1e-4", "--benchmark", "B1", "--mA", "6", "--quiet"], capture_output=True, text=True,
                       check=True)
    return int(r.stdout.strip().splitlines()[-1])  # peak RSS, kB


class Reweight:
    timeout = 900

    def setup(self):
        self.dir = tempfile.mkdtemp()
        self.small, self.large = os.path.join(self.dir, "small.root"), os.path.join(self.dir, "large.root")
        _ntuple(self.small, N // 4)  # 5 x 10^5: more than two chunks of mcdh.reweight.STEP
        _ntuple(self.large, N)
        self.out = os.path.join(self.dir, "w.root")

    def time_reweight_2e6_events_50_thetas(self):
        """mcdh reweight as a process (start, read, 50 weight columns, write) on 2 x 10^6 events."""
        _run(self.large, self.out)

    time_reweight_2e6_events_50_thetas.number = 1
    time_reweight_2e6_events_50_thetas.repeat = 3
    time_reweight_2e6_events_50_thetas.warmup_time = 0

    def track_memory_ratio_4x_events(self):
        """Peak memory of reweighting 4x the events over that of 1x (flat: ~1)."""
        return _run(self.large, self.out) / _run(self.small, self.out)

    track_memory_ratio_4x_events.unit = "ratio"

    def track_reweight_over_reading(self):
        """The reweighting's time over the time to read the same branches with uproot (same run)."""
        import uproot

        def read():
            with uproot.open(self.large) as f:
                for _ in f["variables"].iterate(step_size=1_000_000, library="np"):
                    pass
        return best_time(lambda: _run(self.large, self.out), repeats=1) / best_time(read, repeats=1)

    track_reweight_over_reading.unit = "ratio"
