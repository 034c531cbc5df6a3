"""What ``mcdh fit`` writes: the result as JSON and the figures (data against the fit, contours)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from .. import plots
from .._atomic import json_default, write_text
from .data import Data
from .fit import FitResult
from .model import DataModel

LABELS = {
    "phi": (r"$m_{\chi\chi}$ [GeV]", r"$r_\mathrm{vtx}$ [mm]", r"$m_\mathrm{vtx}$ [GeV]"),
    "gammaphi": (r"$E_\gamma$ [GeV]", r"$m_{\chi\chi}$ [GeV]", r"$r_\mathrm{vtx}$ [mm]", r"$m_\mathrm{vtx}$ [GeV]"),
}
TITLES = {"phi": r"$\phi$ channel", "gammaphi": r"$\gamma\phi$ channel"}
SYMBOLS = {"m_A": r"$m_{A'}$ [GeV]", "m_phi": r"$m_\phi$ [GeV]", "eps": r"$\epsilon$", "theta": r"$\theta$"}


def _projections(model: DataModel, data: Data, result: FitResult) -> list[dict]:
    """Per channel, each observable's projection of the data, the fitted signal and the fitted background."""
    counts = data.counts(model)
    out = []
    for c in result.channels:
        v = result.values
        sig = model.signal(c, v.get(f"m_A_{c}", v["m_A"]), v["m_phi"], v["eps"], v["theta"])
        bkg = model.background(c, v["b"])
        edges = model.edges(c)
        panels = []
        for axis, (label, e) in enumerate(zip(LABELS[c], edges)):
            others = tuple(i for i in range(len(edges)) if i != axis)
            panels.append({"label": label, "unit": "mm" if "[mm]" in label else "GeV", "edges": e, "data": counts[c].sum(axis=others),
                           "signal": sig.sum(axis=others), "background": bkg.sum(axis=others)})
        out.append({"title": f"{TITLES[c]}: {result.n_events[c]:.4g} events", "panels": panels})
    return out


def _contour_panels(result: FitResult) -> list[dict]:
    panels: list[dict] = []
    truth = result.truth or {}
    for key, levels in result.contours.items():
        x, y = key.split(",")
        panels.append({"x": SYMBOLS.get(x, x), "y": SYMBOLS.get(y, y), "contours": levels,
                       "failure": result.contour_failures.get(key),
                       "best": (result.values[x], result.values[y]),
                       "truth": (truth[x], truth[y]) if x in truth and y in truth else None})
    for k, prof in result.profiles.items():
        panels.append({"profile": prof, "label": SYMBOLS.get(k, k), "truth": truth.get(k)})
    return panels


def write_report(out, model: DataModel, data: Data, result: FitResult) -> list[Path]:
    """``fit.json`` (the result, the configuration, the data's record) and the figures, into folder ``out``."""
    out = Path(out)
    record = {"result": result.as_dict(), "config": model.config.as_dict(), "data": {
        "events": result.n_events, "outside": result.n_outside, "file": data.source, "asimov": data.asimov,
        "seed": data.seed, "truth": data.truth}}
    write_text(out / "fit.json", json.dumps(strict_json(record), indent=1, default=json_default, allow_nan=False) + "\n")
    paths = [out / "fit.json"]
    paths += plots.fit_projections(_projections(model, data, result), out / "fit_channels")
    panels = _contour_panels(result)
    if panels:
        paths += plots.fit_contours(panels, out / "fit_contours")
    return paths


def strict_json(obj: Any) -> Any:
    """``obj`` for strict JSON: a number that is not finite becomes null."""
    if isinstance(obj, dict):
        return {str(k): strict_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict_json(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return strict_json(obj.tolist())
    if isinstance(obj, (float, np.floating)):
        return float(obj) if np.isfinite(obj) else None
    return obj
