"""Streaming signal events to a ROOT ntuple (SignalStream -> RootWriter, LZ4 baskets)."""
import os
import tempfile

import numpy as np

from mcdh.generate.signal import SignalStream
from mcdh.io.root import RootWriter, _branches
from mcdh.physics.model import DarkSector

from ._util import best_time

N = 1_000_000


def _write(path, n):
    model = DarkSector.from_benchmark("B1", 3.0)
    with RootWriter(path, tree="phi") as out:
        stream = SignalStream(model, "phi", n, 1, n_threads=2)
        for chunk in stream:
            out.write(chunk)
        out.set_parameters(stream.parameters)


class RootWrite:
    timeout = 600

    def setup(self):
        self.tmp = tempfile.mkdtemp()
        self.model = DarkSector.from_benchmark("B1", 3.0)
        list(SignalStream(self.model, "phi", 1000, 0, n_threads=2))  # load the kernels

    def teardown(self):
        for name in os.listdir(self.tmp):
            os.unlink(os.path.join(self.tmp, name))
        os.rmdir(self.tmp)

    def time_generate_and_write(self):
        """1e6 phi events generated and written."""
        _write(os.path.join(self.tmp, "s.root"), N)

    def track_write_over_np_save(self):
        """The ROOT writer's share of generate + write over the time np.save takes for the branches (lower is
        better)."""
        t_gen = best_time(lambda: [None for _ in SignalStream(self.model, "phi", N, 1, n_threads=2)], 2)
        t_all = best_time(lambda: _write(os.path.join(self.tmp, "s.root"), N), 2)
        chunk = next(iter(SignalStream(self.model, "phi", 131072, 2, n_threads=2)))
        cols = _branches(chunk, 0, len(chunk))

        def save():
            for k, v in cols.items():
                np.save(os.path.join(self.tmp, k + ".npy"), v)

        t_npy = best_time(save) * N / len(chunk)
        return max(t_all - t_gen, 0.0) / t_npy

    track_write_over_np_save.unit = "ratio"

    def peakmem_generate_and_write(self):
        """Peak memory of streaming 1e6 events to ROOT (bounded: chunks, not the sample)."""
        _write(os.path.join(self.tmp, "s.root"), N)


class LheHeader:
    """Reading an LHE file whose header holds a long comment: linear in its size (issue 15)."""

    timeout = 300

    def setup(self):
        import mcdh

        self.tmp = tempfile.mkdtemp()
        ev = mcdh.generate_signal(DarkSector.from_benchmark("B1", 6.0), "phi", 100, 1, n_threads=1)
        plain = os.path.join(self.tmp, "plain.lhe")
        mcdh.write_events(plain, ev)
        text = open(plain).read()
        self.paths = {}
        for mb in (25, 50):
            path = os.path.join(self.tmp, f"h{mb}.lhe")
            with open(path, "w") as f:
                f.write(text.replace("<header>", "<header>\n<!-- " + ("x" * 99 + "\n") * (mb * 10_000) + " -->", 1))
            self.paths[mb] = path

    def teardown(self):
        for name in os.listdir(self.tmp):
            os.unlink(os.path.join(self.tmp, name))
        os.rmdir(self.tmp)

    def time_read_50mb_header(self):
        """A 50 MB header comment (was quadratic: 20 MB took 32 s)."""
        from mcdh.io import read_events

        read_events(self.paths[50])

    def track_50mb_over_25mb(self):
        """Time for 50 MB over time for 25 MB: ~2 when linear, ~4 when quadratic."""
        from mcdh.io import read_events

        return best_time(lambda: read_events(self.paths[50]), 3) / best_time(lambda: read_events(self.paths[25]), 3)

    track_50mb_over_25mb.unit = "ratio"


class GenerateMemory:
    """Peak memory of `mcdh generate` into a ROOT file at two sizes (issue 16's target: the same within 10 %).

    Both stream in bounded memory: the signal keeps no per-event array (`WeightSummary`), the background
    (`BackgroundStream`) makes its events twice from the same streams, first to sum the weights.
    """

    timeout = 900
    params = (["signal", "background"], [1_000_000, 4_000_000])
    param_names = ["sample", "events"]

    def setup(self, sample, events):
        self.tmp = tempfile.mkdtemp()

    def teardown(self, sample, events):
        for name in os.listdir(self.tmp):
            os.unlink(os.path.join(self.tmp, name))
        os.rmdir(self.tmp)

    def peakmem_generate(self, sample, events):
        from mcdh.cli import main

        common = ["--benchmark", "B1", "--mA", "3", "--events", str(events), "--output",
                  os.path.join(self.tmp, "s.root"), "--quiet"]
        args = ["generate", "signal", "--process", "phi", *common] if sample == "signal" else \
            ["generate", "background", "--channel", "phi", *common]
        assert main(args) == 0
