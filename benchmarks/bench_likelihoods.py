"""Likelihoods in the field's currency (issue 26): a pyhf workspace of one point, and what a background
uncertainty costs the reach.

Targets: export of one point <= 1 s (the point analysed; the export is the histograms, the paper reach that
sets mu's range, the JSON and pyhf's schema and model); the reach with --bkg-syst <= 1.5x the reach without
(same run, same analysed point).
"""
import json
import tempfile
from pathlib import Path

from ._util import best_ratio

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

    def track_bkg_syst_over_plain_reach(self):
        """The combined paper reach with sigma_b = 0.2 over the one without (same analyses)."""
        def reach(study):
            return lambda: study.eps_reach(*POINT, "combined")
        return best_ratio(reach(self.syst), reach(self.study), 9)

    track_bkg_syst_over_plain_reach.unit = "ratio"

    def track_cls_over_paper_reach(self):
        """The combined CLs reach (every bin, staterror and normsys profiled) over the paper's reach."""
        return best_ratio(lambda: self.cls.eps_reach(*POINT, "combined"),
                          lambda: self.study.eps_reach(*POINT, "combined"), 9)

    track_cls_over_paper_reach.unit = "ratio"
