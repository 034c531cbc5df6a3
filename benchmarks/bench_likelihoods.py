"""Likelihoods in the field's currency (issue 26): a pyhf workspace of one point, and what a background
uncertainty costs the reach.

Targets: export of one point <= 1 s (the point analysed; the export is the histograms, the paper reach that
sets mu's range, the JSON and pyhf's schema and model); the reach with --bkg-syst <= 1.5x the reach without
(same run, same analysed point).
"""
import json
import tempfile
from pathlib import Path

from ._util import best_ratio, reference_work

POINT = ("B1", 6.0)


class Likelihoods:
    timeout = 600

    def setup(self):
        import mcdh

        self.study = mcdh.Study(n_b=1e4, seed=2)
        self.syst = self.study.replace(background_uncertainty=0.2)
        self.cls = self.study.replace(statistic="cls", background_uncertainty=0.2)
        for s in (self.study, self.syst, self.cls):
            for ch in ("phi", "gammaphi"):
                s.analysis(*POINT, ch)  # generated and smeared once: the benchmarks time the statistics
        self.dir = Path(tempfile.mkdtemp())

    def _export(self):
        import pyhf

        ws = self.cls.workspace(*POINT)
        path, _ = ws.write(self.dir / "ws.json")
        pyhf.Workspace(json.loads(path.read_text())).model()

    def time_export_one_point(self):
        """Workspace of one analysed point (both channels, every bin), written and built by pyhf."""
        self._export()

    def _reach(self, study):
        return lambda: study.eps_reach(*POINT, "combined")

    def track_bkg_syst_over_plain_reach(self):
        """The combined paper reach with sigma_b = 0.2 over the one without (same analyses): what the
        systematics cost. Not gated: a faster plain reach raises it."""
        return best_ratio(self._reach(self.syst), self._reach(self.study), 9)

    track_bkg_syst_over_plain_reach.unit = "ratio"

    def track_cls_over_paper_reach(self):
        """The combined CLs reach (every bin, staterror and normsys profiled) over the paper's reach. Not gated:
        a faster paper reach raises it."""
        return best_ratio(self._reach(self.cls), self._reach(self.study), 9)

    track_cls_over_paper_reach.unit = "ratio"

    def track_paper_reach_over_reference(self):
        """The combined paper reach over the fixed reference workload (benchmarks/_util.py): gated."""
        return best_ratio(self._reach(self.study), reference_work, 9)

    track_paper_reach_over_reference.unit = "ratio"

    def track_bkg_syst_reach_over_reference(self):
        """The combined reach with sigma_b = 0.2 over the reference workload: gated."""
        return best_ratio(self._reach(self.syst), reference_work, 9)

    track_bkg_syst_reach_over_reference.unit = "ratio"

    def track_cls_reach_over_reference(self):
        """The combined CLs reach over the reference workload: gated."""
        return best_ratio(self._reach(self.cls), reference_work, 9)

    track_cls_reach_over_reference.unit = "ratio"
