"""mcdh's likelihood as a pyhf (HistFactory JSON) workspace.

One channel per analysis channel: every bin of its observable (m_chichi for phi, sqrt|v| for gamma-phi) that
holds signal or background, or - ``windows=True`` - the paper's optimised window as one bin. Two samples:

* ``signal``, the smeared signal at eps_ref, scaled by the normfactor ``mu`` = (eps / eps_ref)^2 (the rate is
  exactly proportional to eps^2);
* ``background``, with its Monte Carlo error as ``staterror`` and, when a relative uncertainty sigma_b is
  given, the normalisation as ``normsys`` (hi 1 + sigma_b, lo 1 - sigma_b; one per channel: the backgrounds
  of the two channels are different processes).

The observations are the background-only expectation (the Asimov data set of a null result), so pyhf's
observed and expected limits coincide. pyhf's schema takes no free-form metadata: what the numbers mean
(eps_ref, theta, the model, the luminosity, N_b, the bin edges) is in :attr:`Workspace.metadata`, written next
to the workspace. The signal's own Monte Carlo error is not included (it does not enter the paper's statistic
either).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._atomic import json_default, write_text
from .._version import __version__
from . import limits
from .pipeline import ChannelAnalysis


@dataclass(frozen=True)
class Workspace:
    """A pyhf workspace (``spec``: ``pyhf.Workspace(spec)`` takes it) and what its numbers mean (``metadata``)."""

    spec: dict
    metadata: dict

    def write(self, path: str | Path) -> tuple[Path, Path]:
        """The workspace to ``path`` (JSON) and the metadata to ``<stem>.metadata.json`` beside it, atomically."""
        path = Path(path)
        meta = path.with_name(path.stem + ".metadata.json")
        write_text(path, json.dumps(self.spec, indent=1, default=json_default, allow_nan=False) + "\n")
        write_text(meta, json.dumps(self.metadata, indent=1, default=json_default, allow_nan=False) + "\n")
        return path, meta


def build_workspace(analyses: list[ChannelAnalysis], *, theta: float, n_b: float, eps_ref: float,
                    rel_unc: float = 0.0, windows: bool = False, poi_max: float | None = None) -> Workspace:
    """The workspace of ``analyses`` (one per channel, of one model point) at ``theta`` and N_b, the signal
    normalised to ``eps_ref``; ``windows``: each channel's paper window, optimised at its reach, as one bin.
    ``poi_max``: the upper bound of mu (default 10 x the largest (eps95 / eps_ref)^2 of the paper's statistic, at
    least 10)."""
    stat = limits.Statistic("paper", rel_unc)
    channels, observations, bins, reach_mu = [], [], {}, []
    for a in analyses:
        sig = a.signal_hists([theta])[0] * (eps_ref / a.model.eps) ** 2
        bkg = a.background_hist(n_b)
        err = np.sqrt(a.background_variance(n_b))
        edges = a.binning.edges
        reach = a.eps_reach(theta, n_b, statistic=stat)
        if math.isfinite(reach.eps):
            reach_mu.append((reach.eps / eps_ref) ** 2)
        if windows and reach.window is not None:
            lo, hi = reach.window.lo, reach.window.hi
            s, b, e = [float(sig[lo:hi + 1].sum())], [float(bkg[lo:hi + 1].sum())], [math.sqrt(float(np.sum(err[lo:hi + 1] ** 2)))]
            bins[a.channel] = {"edges": [float(edges[lo]), float(edges[hi + 1])], "window": True}
        else:
            keep = (sig > 0) | (bkg > 0)  # a bin with neither changes nothing (and pyhf needs nonzero expectations)
            s, b, e = sig[keep].tolist(), bkg[keep].tolist(), err[keep].tolist()
            bins[a.channel] = {"lower_edges": edges[:-1][keep].tolist(), "upper_edges": edges[1:][keep].tolist(),
                               "window": False}
        bins[a.channel]["observable"] = "m_chichi [GeV]" if a.channel == "phi" else "sqrt|v| [GeV]"
        modifiers: list[dict] = [{"name": f"staterror_{a.channel}", "type": "staterror", "data": e}]
        background = {"name": "background", "data": b, "modifiers": modifiers}
        if rel_unc > 0:
            modifiers.append({"name": f"bkg_norm_{a.channel}", "type": "normsys",
                                            "data": {"hi": 1.0 + rel_unc, "lo": 1.0 - rel_unc}})
        channels.append({"name": a.channel, "samples": [
            {"name": "signal", "data": s, "modifiers": [{"name": "mu", "type": "normfactor", "data": None}]},
            background]})
        observations.append({"name": a.channel, "data": b})
    if poi_max is None:
        poi_max = max([10.0] + [10.0 * m for m in reach_mu])
    model = analyses[0].model
    name = f"mcdh_{model.benchmark or 'custom'}_mA{model.m_A:g}_theta{theta:g}"
    spec = {"channels": channels, "observations": observations, "version": "1.0.0",
            "measurements": [{"name": name, "config": {"poi": "mu", "parameters": [
                {"name": "mu", "bounds": [[0.0, float(poi_max)]], "inits": [1.0]}]}}]}
    config = analyses[0].config
    metadata = {
        "mcdh_version": __version__, "measurement": name,
        "poi": "mu = (eps / eps_ref)^2: the signal scales exactly as eps^2", "eps_ref": eps_ref, "theta": theta,
        "model": model.as_dict(), "luminosity_fb": config.luminosity_fb, "n_b": n_b,
        "region": {"name": config.region.name, "r_in_mm": config.region.r_in, "r_out_mm": config.region.r_out},
        "background_uncertainty": rel_unc,
        "observations": "the background-only expectation (Asimov data of a null result)",
        "statistic": "pyhf's expected CLs upper limit on mu at 95 % CL gives eps95 = eps_ref sqrt(mu_up); "
                     "mcdh reach --statistic cls computes the same number",
        "bins": bins,
    }
    return Workspace(spec, metadata)
