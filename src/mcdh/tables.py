"""Appendix B tables ready to use: CSV with units and the run's settings, and LaTeX in the paper's layout.

The numbers keep full precision in JSON (``mcdh reproduce``'s summary.json, ``mcdh table --json``);
the CSV and LaTeX forms round to :data:`SIGNIFICANT` significant digits and state what they were made
with in a header comment (CSV) or the caption (LaTeX).
"""
from __future__ import annotations

from ._version import __version__
from .analysis.pipeline import TableRow
from .plots import pow10

SIGNIFICANT = 4
"""Significant digits of the CSV and LaTeX tables."""

COLUMNS = {  # CSV column -> (unit, LaTeX heading in the paper's layout)
    "mA": ("GeV", r"$m_{A'}$ [GeV]"),
    "resc_sig": ("events", "Resc. Sig"),
    "init_sig": ("events", "Init. Sig"),
    "mchichi_min": ("GeV", r"$m_{\chi\chi}^{\min}$ [GeV]"),
    "mchichi_max": ("GeV", r"$m_{\chi\chi}^{\max}$ [GeV]"),
    "vmax": ("GeV^2", r"$|v^{\max}|$ [GeV$^2$]"),
    "sel_sig": ("events", "Select. Sig"),
    "sel_bkg": ("events", "Select. Bg"),
    "m2loglike": ("-2 log L", r"$-2\log L$"),
}


def number(x: float, digits: int = SIGNIFICANT) -> str:
    """``x`` with ``digits`` significant digits (no trailing zeros)."""
    return f"{x:.{digits}g}"


def settings_line(settings: dict) -> str:
    """What a table was made with, in one line."""
    keys = ("benchmark", "channel", "eps", "theta", "n_b", "luminosity_fb", "region", "seed", "width_model")
    parts = [f"{k}={settings[k]}" for k in keys if k in settings]
    return (f"mcdh {__version__} Appendix B table: " + ", ".join(parts)
            + "; N_b = phi-channel background events at 10 ab^-1 (gamma-phi: 0.22 N_b); events at luminosity_fb (fb^-1)")


def table_csv(rows: list[TableRow], settings: dict) -> str:
    """CSV: a ``#`` comment with the settings, a header with units (``mA [GeV]``), 4 significant digits."""
    dicts = [r.as_csv_dict() for r in rows]
    cols = list(dicts[0]) if dicts else []
    lines = [f"# {settings_line(settings)}", ",".join(f"{c} [{COLUMNS[c][0]}]" for c in cols)]
    lines += [",".join(number(d[c]) for c in cols) for d in dicts]
    return "\n".join(lines) + "\n"


def table_latex(rows: list[TableRow], settings: dict) -> str:
    """A LaTeX ``table`` with a ``tabular`` in the paper's layout (Appendix B), caption with the settings."""
    dicts = [r.as_csv_dict() for r in rows]
    cols = list(dicts[0]) if dicts else list(COLUMNS)[:1]
    lumi_ab = float(settings.get("luminosity_fb", 1e4)) / 1e3
    process = r"\gamma\phi\chi\bar\chi" if settings.get("channel") == "gammaphi" else r"\phi\chi\bar\chi"
    caption = (f"Efficiency table for {settings.get('benchmark', '')}, $e^-e^+ \\rightarrow {process}$: "
               f"$\\epsilon = {_tex(settings.get('eps'))}$, $\\theta = {_tex(settings.get('theta'))}$, "
               f"$N_b = {_tex(settings.get('n_b'))}$; events in {lumi_ab:g} ab$^{{-1}}$ (mcdh {__version__}, "
               f"seed {settings.get('seed', '')}, region {settings.get('region', '')}, "
               f"{settings.get('width_model', 'winkler')} hadronic widths).")
    out = [r"\begin{table}[htb]", r"\centering", r"\begin{tabular}{" + "r" * len(cols) + "}", r"\hline",
           " & ".join(COLUMNS[c][1] for c in cols) + r" \\", r"\hline"]
    out += [" & ".join(f"${_tex(d[c])}$" for c in cols) + r" \\" for d in dicts]
    out += [r"\hline", r"\end{tabular}", rf"\caption{{{caption}}}", r"\end{table}"]
    return "\n".join(out) + "\n"


def _tex(x) -> str:
    """A value for LaTeX: text escaped, numbers with 4 significant digits and powers of ten (:func:`~mcdh.plots.pow10`)."""
    if x is None:
        return ""
    if isinstance(x, str):
        return x.replace("_", r"\_")
    return pow10(float(x), SIGNIFICANT)
