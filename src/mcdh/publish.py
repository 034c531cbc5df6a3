"""HEPData records of mcdh's results: figure 11's reach curves and tables 3-6, from ``mcdh reproduce``'s
``summary.json`` (hepdata-lib writes the tables, hepdata-validator checks the submission).

One table per benchmark and quantity of figure 11 - the eps reach at the paper's theta and the two edges of the
sensitive theta band at its eps - with m_A' as the independent variable and one dependent variable per channel
and N_b; and one per efficiency table (Appendix B) with its columns. The settings (luminosity, region, the
angle or mixing held fixed, N_b, the statistic) are qualifiers. A point without sensitivity is ``-``.
Needs the publish extra (``pip install 'mcdh[publish]'``).
"""
from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
from pathlib import Path

from ._atomic import atomic_path
from ._version import __version__
from .channels import CHANNELS
from .errors import FileFormatError, ParameterError, require
from .paper import Reproduction

CHANNEL_NAMES = {"phi": "phi channel (e+e- -> phi chi chibar)", "gammaphi": "gamma-phi channel (e+e- -> gamma phi chi chibar)"}
TABLE_COLUMNS = {
    "phi": (("resc_sig", "signal events (rescaled, before the window)", ""), ("mchichi_min", "window m_chichi min", "GeV"),
            ("mchichi_max", "window m_chichi max", "GeV"), ("sel_sig", "selected signal events", ""),
            ("sel_bkg", "selected background events", ""), ("m2loglike", "-2 log L", "")),
    "gammaphi": (("init_sig", "signal events (before the window)", ""), ("vmax", "window |v| max", "GeV^2"),
                 ("sel_sig", "selected signal events", ""), ("sel_bkg", "selected background events", ""),
                 ("m2loglike", "-2 log L", "")),
}
"""Each efficiency table's columns: (key in summary.json, name, unit)."""


def validate_submission(directory: str | os.PathLike) -> list[str]:
    """hepdata-validator's complaints about the submission in ``directory`` (none: it validates)."""
    import gc
    import warnings

    validator = require("hepdata_validator.full_submission_validator", "publish", "HEPData validation")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)  # the validator leaves its YAML files open
        check = validator.FullSubmissionValidator()
        ok = check.validate(directory=str(directory))
        messages = [f"{Path(k).name}: {m.message}" for k, ms in check.get_messages().items() for m in ms]
        del check
        gc.collect()  # their warnings now, while ignored
    return [] if ok else messages or ["invalid"]


def _value(v):
    return "-" if v is None else float(v)


def hepdata_submission(result: Reproduction, out: str | os.PathLike) -> list[Path]:
    """Write the HEPData submission of ``mcdh reproduce``'s results (:meth:`Reproduction.read
    <mcdh.paper.Reproduction.read>`) into folder ``out``: ``submission.yaml``
    and one YAML per table, validated by hepdata-validator before it replaces ``out``, and the upload
    ``<out>.tar.gz`` beside it. Returns the files."""
    lib = require("hepdata_lib", "publish", "HEPData records")
    import yaml

    summary = result.summary
    s = summary["settings"]
    lumi = f"{s['luminosity_fb'] / 1e3:g} ab^-1"
    region = f"{s['region']['name']} ({s['region']['r_in']:g}-{s['region']['r_out']:g} mm)"
    statistic = s.get("statistic", "paper")
    syst = s.get("background_uncertainty", 0.0)
    stat_text = ("-2 log L = 3.84 in optimised windows (arXiv:2508.09247, eq. (4.9))" if statistic == "paper"
                 else "median expected 95 % CL CLs limit (asymptotic, q~_mu)")
    smearing_text = ("" if s.get("smearing", "copies") == "copies" else
                     " Detector smearing: each event's expected distribution over the bins (the limit of infinitely"
                     " many Gaussian copies of appendix A.1).")
    tables = []
    for bm, entry in summary["reach"].items():
        for quantity, label, unit in (("eps95", "eps reach (95 % CL)", ""),
                                      ("theta_band", "sensitive theta band (95 % CL)", "rad")):
            t = lib.Table(f"Figure 11 {bm} {'eps reach' if quantity == 'eps95' else 'theta band'}")
            held = (f"theta = {entry['settings']['theta_eps_scan']:g}" if quantity == "eps95"
                    else f"eps = {entry['settings']['eps_theta_scan']:g}")
            t.description = (f"Benchmark {bm}: the {label} of the phi and gamma-phi channels against m_A' at {held}, "
                             f"{lumi}, displaced vertex in the {region} region. Statistic: {stat_text}"
                             + (f", background normalisation uncertainty {syst:g}" if syst else "") + "."
                             + smearing_text)
            t.location = "Figure 11"
            t.keywords["observables"] = ["EPSILON" if quantity == "eps95" else "THETA"]
            t.keywords["reactions"] = ["E+ E- --> PHI CHI CHIBAR", "E+ E- --> GAMMA PHI CHI CHIBAR"]
            x = None
            for ch in CHANNELS:
                if ch not in entry:
                    continue
                if x is None:
                    x = lib.Variable("$m_{A'}$", is_independent=True, is_binned=False, units="GeV")
                    x.values = [float(m) for m in entry[ch]["m_A"]]
                    t.add_variable(x)
                for n_b, values in entry[ch][quantity].items():
                    edges = ((None, values),) if quantity == "eps95" else (("lower", [v["lower"] for v in values]),
                                                                           ("upper", [v["upper"] for v in values]))
                    for edge, vals in edges:
                        name = "$\\epsilon_{95}$" if quantity == "eps95" else f"$\\theta$ ({edge} edge)"
                        y = lib.Variable(name, is_independent=False, is_binned=False, units=unit)
                        y.values = [_value(v) for v in vals]
                        for q, v in (("channel", CHANNEL_NAMES[ch]), ("N_b (phi-channel events at 10 ab^-1)", n_b),
                                     ("luminosity", lumi), ("region", region), ("held fixed", held),
                                     ("SQRT(S)", "10.58 GeV")):
                            y.add_qualifier(q, v)
                        t.add_variable(y)
            tables.append(t)
    for name, table in summary["tables"].items():
        if not table["rows"]:
            continue
        ch = table["channel"]
        t = lib.Table(name.capitalize().replace("Table", "Table "))
        t.description = (f"Efficiency table of benchmark B1, {CHANNEL_NAMES[ch]}, N_b = {table['n_b']:g}: signal, "
                         f"the optimised window and -2 log L at eps = {s['eps_table']:g}, theta = {s['theta_table']:g}, "
                         f"{lumi}, {region} region (arXiv:2508.09247, Appendix B)." + smearing_text)
        t.location = f"Appendix B, {name}"
        t.keywords["observables"] = ["N"]
        x = lib.Variable("$m_{A'}$", is_independent=True, is_binned=False, units="GeV")
        x.values = [float(r["mA"]) for r in table["rows"]]
        t.add_variable(x)
        for key, label, unit in TABLE_COLUMNS[ch]:
            y = lib.Variable(label, is_independent=False, is_binned=False, units=unit)
            y.values = [_value(r[key]) for r in table["rows"]]
            for q, v in (("N_b (phi-channel events at 10 ab^-1)", table["n_b"]), ("luminosity", lumi),
                         ("EPSILON", s["eps_table"]), ("THETA", s["theta_table"])):
                y.add_qualifier(q, v)
            t.add_variable(y)
        tables.append(t)
    if not tables:
        raise ParameterError("summary", "no reach or tables", "holds nothing to record")

    out = Path(out)
    if out.exists() and not (out.is_dir() and (not any(out.iterdir()) or (out / "submission.yaml").exists())):
        raise ParameterError("out", str(out), "holds other files: give a new folder (or an earlier HEPData "
                             "submission's, which is replaced)")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        header = {"comment": f"Sensitivity projections for dark Higgs-strahlung at Belle II (arXiv:2508.09247), "
                             f"computed by mcdh {__version__} (summary of mcdh {summary.get('version', '?')}).",
                  "data_license": {"name": "CC0", "url": "https://creativecommons.org/publicdomain/zero/1.0/"}}
        with open(tmp / "submission.yaml", "w", encoding="utf-8") as f:
            yaml.dump(header, f, default_flow_style=False, explicit_start=True)
        for t in tables:
            t.write_output(str(tmp))
        problems = validate_submission(tmp)
        if problems:
            raise FileFormatError(out, f"the HEPData submission does not validate: {'; '.join(problems[:3])}")
        archive = out.with_name(out.name + ".tar.gz")
        with atomic_path(archive) as tmp_archive, tarfile.open(tmp_archive, "w:gz") as tar:
            for p in sorted(tmp.glob("*.yaml")):
                tar.add(p, arcname=p.name)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return sorted(out.iterdir()) + [archive]
