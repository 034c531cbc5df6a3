"""Option groups shared by the commands, the argument types, and the library-parameter -> flag names."""
from __future__ import annotations

import argparse

from ..channels import CHANNELS
from ..errors import ParameterError
from ..physics.constants import ALPHA_EM, SQRT_S
from ..settings import EPS_REF, LUMINOSITY_FB, THETA_TABLE

FLAGS = {
    "n_b": "--nb", "luminosity_fb": "--lumi-fb", "m_A": "--mA", "m_chi": "--m-chi", "m_phi": "--m-phi",
    "g_chi": "--g-chi", "q_phi": "--q-phi", "alpha_em": "--alpha-em", "sqrt_s": "--sqrt-s", "n_events": "--events",
    "n_signal": "--events", "n_background": "--background-events", "n_threads": "--threads", "eps": "--eps",
    "m_phi_ratio": "--mphi-ratio-list", "m_chi_ratio": "--mchi-ratio-list", "mA_list": "--mA-list",
    "theta": "--theta", "seed": "--seed", "region": "--region", "benchmark": "--benchmark", "eps_gen": "--eps-gen",
    "kinetic_mixing": "--kinetic-mixing", "width_model": "--width-model", "pdg": "--pdg", "roles": "--roles", "n_b_values": "--nb-list",
    "tree": "--tree", "branches": "--branches", "ctau0": "--ctau0", "flat_range": "--flat-range", "source": "--source",
    "lifetime_option": "--lifetime-option", "flat_max_cm": "--flat-max-cm", "max_outside": "--max-outside",
    "search_range": "--search-range", "background_uncertainty": "--bkg-syst", "statistic": "--statistic", "smearing": "--smearing",
    "overlay": "--overlay", "overlays": "--overlay", "masses": "--mA-list", "benchmarks": "--benchmarks", "n_workers": "--workers",
    "xsec_events": "--xsec-events", "figure_events": "--figure-events", "theta_eps_scan": "--theta",
    "eps_theta_scan": "--eps",
}
"""The command-line flag of each library parameter, for error messages."""


def error_text(exc: ParameterError) -> str:
    """A library error in the words of the command line: the flag first, then the library's sentence."""
    flag = FLAGS.get(exc.parameter)
    return f"{flag}: {exc}" if flag else str(exc)


def floats(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def names(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def region_arg(text: str):
    """A region name, or "r_in,r_out" in mm."""
    return tuple(floats(text)) if "," in text else text


def sqrt_s_arg(text: str) -> float:
    """A number in GeV, or 'beams' for the invariant mass of the SuperKEKB beams (10.574 GeV)."""
    if text.strip().lower() in ("beams", "from-beams", "from_beams"):
        from ..kinematics.beams import Beams

        return Beams().sqrt_s
    if text.strip().lower() == "nominal":
        return SQRT_S
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in GeV, 'nominal' or 'beams', got {text!r}") from None


def pdg_arg(text: str) -> dict[str, int]:
    """name=id pairs, e.g. phi=9000005,chi=9000007,chibar=-9000007."""
    out = {}
    for item in text.split(","):
        if not item.strip():
            continue
        name, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError
            out[name.strip()] = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected name=PDG id pairs like phi=54,chi=52, got {item!r}") from None
    return out


# ----------------------------------------------------------------------
# option groups


def add_seed(p: argparse.ArgumentParser, what: str = "") -> None:
    p.add_argument("--seed", type=int, default=1,
                   help=f"random seed{what} (default 1): the same seed gives identical numbers")


def add_threads(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=int, default=None, help="worker threads (default: all cores); results do not depend on it")


def add_quiet(p: argparse.ArgumentParser) -> None:
    """The progress convention: a bar on stderr when it is a terminal; --quiet turns it (and summaries) off."""
    p.add_argument("--quiet", action="store_true", help="no progress bar (none is shown anyway when stderr is not a terminal)")


def add_run_options(p: argparse.ArgumentParser) -> None:
    """--seed, --threads, --json and --quiet: the options of every command that generates and prints a summary."""
    add_seed(p)
    add_threads(p)
    add_json(p)
    add_quiet(p)


def add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object (strict JSON: null where there is no number)")


def add_lumi(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lumi-fb", type=float, default=LUMINOSITY_FB,
                   help="integrated luminosity in fb^-1 (default 1e4 = 10 ab^-1); signal and background scale with it")


def add_nb(p: argparse.ArgumentParser, default: float | None = 1.0) -> None:
    p.add_argument("--nb", type=float, default=default, required=default is None,
                   help="background level N_b: phi-channel background events at 10 ab^-1 (gamma-phi: 0.22 N_b); "
                   "at --lumi-fb L the background is N_b L / 10 ab^-1" + ("" if default is None else f" (default {default:g})"))


def add_statistic(p: argparse.ArgumentParser, choice: bool = True) -> None:
    """--statistic and --bkg-syst: how a reach is computed (:class:`mcdh.analysis.limits.Statistic`);
    ``choice=False``: --bkg-syst only (a command whose statistic is fixed)."""
    g = p.add_argument_group("the statistic and the smearing")
    if choice:
        g.add_argument("--statistic", default="paper", metavar="paper|cls",
                       help="paper: -2 log L = 3.84 in optimised windows (default); cls: the asymptotic median "
                       "expected 95%% CL CLs limit on every bin, the background's MC error included (pyhf's number "
                       "on mcdh export-pyhf's workspace)")
    g.add_argument("--bkg-syst", type=float, default=0.0, metavar="SIGMA",
                   help="relative uncertainty of the background normalisation, e.g. 0.2 (default 0): profiled in "
                   "every reach, band and table statistic")
    add_smearing(g)


def add_smearing(p) -> None:
    """--smearing: the paper's copies or the expected (infinite-copy) smearing."""
    p.add_argument("--smearing", default="copies", metavar="copies|expected",
                   help="copies: the paper's 100 Gaussian copies per event (default); expected: each event's "
                   "probability to land in every bin, the exact limit of infinitely many copies (no smearing "
                   "noise, faster)")


def reach_args(args) -> dict:
    """The Study settings of :func:`add_statistic`'s options (statistic, background uncertainty, smearing)."""
    return {"statistic": args.statistic, "background_uncertainty": args.bkg_syst, "smearing": args.smearing}


def reach_record(study) -> dict:
    """The statistic's and smearing's settings for a JSON record: nothing for the paper's (records stay as they
    were)."""
    st = study.limit_statistic
    rec = {} if st.kind == "paper" and st.background_uncertainty == 0 else {
        "statistic": st.kind, "background_uncertainty": st.background_uncertainty}
    return rec | ({"smearing": study.smearing} if study.smearing != "copies" else {})


def reach_text(study) -> str:
    """The statistic's and smearing's settings for a printed header: nothing for the paper's."""
    rec = reach_record(study)
    text = f", statistic {rec['statistic']}, background +-{rec['background_uncertainty']:.3g}" if "statistic" in rec else ""
    return text + (f", {rec['smearing']} smearing" if "smearing" in rec else "")


def add_point_samples(p: argparse.ArgumentParser) -> None:
    """The samples of one analysed point: --events, --background-events and their --seed."""
    p.add_argument("--events", type=int, default=100_000, help="weighted signal events per channel (default 100000)")
    p.add_argument("--background-events", type=int, default=100_000,
                   help="weighted background events per channel (default 100000)")
    add_seed(p, " (as mcdh table and reproduce)")


def add_region(p: argparse.ArgumentParser) -> None:
    p.add_argument("--region", default="uninstrumented",
                   help="where phi must decay: prompt, uninstrumented (default, 2-9 mm), instrumented, invisible, all, "
                   "or r_in,r_out in mm")


def add_eps_theta(p: argparse.ArgumentParser, eps: tuple[float, str] | None = None,
                  theta: tuple[float, str] | None = None) -> None:
    """--eps and --theta; ``eps``/``theta``: (default, help) where they mean something else than the model's."""
    eps = eps or (EPS_REF, f"kinetic mixing in (0, 1] (default {EPS_REF:g})")
    theta = theta or (THETA_TABLE, f"Higgs mixing angle in (0, pi/2] rad (default {THETA_TABLE:g})")
    p.add_argument("--eps", type=float, default=eps[0], help=eps[1])
    p.add_argument("--theta", type=float, default=theta[0], help=theta[1])


def add_channel(p: argparse.ArgumentParser, name: str = "--channel", **kw) -> None:
    p.add_argument(name, choices=CHANNELS, **kw)


def add_model(p: argparse.ArgumentParser, required: bool = True, envelope: bool = False, benchmark: str | None = None,
              eps: tuple[float, str] | None = None, theta: tuple[float, str] | None = None) -> None:
    """The model options: a benchmark at m_A, or explicit masses, and the couplings (``envelope``: the width
    model may also be the envelope, for commands that compute reaches; ``benchmark``: a default benchmark;
    ``eps``/``theta``: see :func:`add_eps_theta`)."""
    p.add_argument("--benchmark", type=str.upper, choices=("B1", "B2", "B3"), default=benchmark,
                   help="mass benchmark: B1 = m_A(1, 1/3, 1/6), B2 = m_A(1, 1/4, 1/6), B3 = m_A(1, 1/4, 1/8)"
                   + (f" (default {benchmark}; --m-chi and --m-phi override its masses)" if benchmark else ""))
    p.add_argument("--mA", type=float, required=required, default=None, help="dark photon mass in GeV")
    p.add_argument("--m-chi", type=float, default=None, help="override the benchmark dark-matter mass (GeV)")
    p.add_argument("--m-phi", type=float, default=None, help="override the benchmark dark Higgs mass (GeV)")
    add_eps_theta(p, eps, theta)
    p.add_argument("--g-chi", type=float, default=1.0, help="dark gauge coupling (default 1)")
    p.add_argument("--q-phi", type=float, default=1.0, help="U(1)' charge of the dark Higgs (default 1); sigma scales as q_phi^2")
    p.add_argument("--alpha-em", type=float, default=ALPHA_EM, help="fine-structure constant (default 1/137.035999)")
    p.add_argument("--kinetic-mixing", choices=("photon", "hypercharge"), default="photon",
                   help="eps multiplies e J_em (photon, default) or mixes with hypercharge (x cos(theta_W) on the coupling)")
    add_width_model(p, envelope)
    p.add_argument("--sqrt-s", type=sqrt_s_arg, default=SQRT_S,
                   help="CMS energy in GeV, 'nominal' (10.58, default) or 'beams' (10.574 from the 7 x 4 GeV beams)")


def add_width_model(p: argparse.ArgumentParser, envelope: bool = False) -> None:
    """--width-model: checked by the library (an unknown name is one line listing the choices)."""
    from ..physics.widths import HADRONIC_MODELS

    text = ("hadronic phi widths: winkler (the paper's; default), dgl or btpz (corrected dispersive widths from "
            "hipsofcobra's Omnes solutions)")
    if envelope:
        text += ", or envelope (winkler's, each reach also over the envelope of all of them)"
    p.add_argument("--width-model", default="winkler", metavar="|".join(HADRONIC_MODELS) + ("|envelope" if envelope else ""),
                   help=text)


def model_from_args(args):
    """The DarkSector of the model options."""
    from ..physics.model import DarkSector
    from ..physics.widths import ENVELOPE

    kw = dict(
        eps=args.eps, g_chi=args.g_chi, q_phi=args.q_phi, theta=args.theta, alpha_em=args.alpha_em,
        kinetic_mixing=args.kinetic_mixing, sqrt_s=args.sqrt_s,
        width_model="winkler" if args.width_model == ENVELOPE else args.width_model,  # the envelope's centre
    )
    if args.m_chi is not None or args.m_phi is not None:
        if args.m_chi is None or args.m_phi is None:
            raise ParameterError("--m-chi/--m-phi", (args.m_chi, args.m_phi), "give both to override the benchmark masses")
        return DarkSector(m_A=args.mA, m_chi=args.m_chi, m_phi=args.m_phi, benchmark=args.benchmark, **kw)
    if args.benchmark is None:
        raise ParameterError("--benchmark", None, "give a benchmark (B1, B2, B3) or both --m-chi and --m-phi")
    return DarkSector.from_benchmark(args.benchmark, args.mA, **kw)


def threads(args) -> int:
    from ..generate.phasespace import default_threads

    return args.threads if args.threads is not None else default_threads()


def dumps(obj) -> str:
    """Strict JSON (no NaN or Infinity: those are refused, never printed)."""
    import json

    from .._atomic import json_default

    return json.dumps(obj, default=json_default, allow_nan=False)
