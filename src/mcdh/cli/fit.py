"""mcdh fit: the joint fit of the phi and gamma-phi channels to a data ntuple (after a discovery)."""
from __future__ import annotations

import sys
from pathlib import Path

from ..settings import FIT_MAX_OUTSIDE as MAX_OUTSIDE
from ..settings import FIT_TOYS as TOYS
from ..settings import MASSES
from . import _options as opt


def register(sub) -> None:
    """Add ``mcdh fit`` and its options to the subcommands ``sub``."""
    p = sub.add_parser(
        "fit",
        help="fit a data ntuple (mcdh pseudodata, or yours with its branches): masses, eps, theta, errors, contours",
        description="Binned extended Poisson likelihood of both channels (iminuit: MIGRAD, HESSE, MINOS): the best "
        "fit with errors and correlations, profile-likelihood contours, the signal's significance and the model "
        "test of dark Higgs-strahlung (gamma-phi's own m_A and rate against the shared ones). Writes fit.json and "
        "the figures into --out. A fit that does not converge, or data without a significant signal, says so in one line "
        "and exits with status 1 (fit.json is still written, marked invalid).",
    )
    p.add_argument("data", help="ROOT ntuple with trees phi and/or gammaphi (branches mchichi, phi_vr, m_vtx; "
                   "gamma-phi also E_gamma) and the fit configuration in its header")
    p.add_argument("--out", default=None, help="folder for fit.json and the figures (default: DATA without .root, + _fit)")
    p.add_argument("--channels", type=opt.names, default=None, help="fit only these channels, e.g. phi (default: all in the file)")
    p.add_argument("--start", type=_assignments, default=None,
                   help="start values, e.g. m_A=6.1,theta=2e-3 (default: the hypothesis in the file; inside the templates)")
    p.add_argument("--fix", type=opt.names, default=[], help="parameters held at their start values, e.g. b")
    p.add_argument("--no-contours", action="store_true", help="skip the 2-D contours and the m_A profile (faster)")
    p.add_argument("--toys", type=int, default=TOYS,
                   help=f"toys for the global significance and the goodness of fit (default {TOYS}; 0: neither)")
    p.add_argument("--search-range", type=opt.floats, default=None,
                   help="m_A range searched, lo,hi in GeV, for the global significance (default: the paper's masses, "
                   f"{min(MASSES):g},{max(MASSES):g})")
    p.add_argument("--max-outside", type=float, default=MAX_OUTSIDE,
                   help=f"refuse a file with more than this fraction of a channel's events outside the fit's ranges "
                   f"(default {MAX_OUTSIDE:g}; the events left out are always counted and reported)")
    opt.add_threads(p)
    g = p.add_argument_group("the model of the data, for an ntuple that does not record it (given, --mA and these "
                             "replace the file's record; --eps is then the start value, and theta is taken from the "
                             "data's decay radii unless --theta gives it)")
    opt.add_model(g, required=False)
    opt.add_nb(g)
    opt.add_lumi(g)
    opt.add_region(g)
    g.add_argument("--template-events", type=int, default=40_000, help="events per template node (default 40000)")
    opt.add_seed(g, " (of the templates and the toys)")
    h = p.add_argument_group("what the model of the data assumes (also replace the file's record)")
    h.add_argument("--vertex-resolution", type=float, default=None,
                   help="relative Gaussian resolution of the vertex mass (default: the file's, else 0.01)")
    h.add_argument("--region-gammaphi", default=None,
                   help="another region for gamma-phi, e.g. 170,600 (mm) (default: the file's, else --region)")
    h.add_argument("--template-grid", type=_assignments, default=None,
                   help="the template grid, e.g. m_A_span=4,m_A_nodes=17: " + ", ".join(GRID) + " (default: "
                   "m_A_span=3 and m_phi_span=5 resolutions, 13 and 5 nodes, width_decades=1, width_nodes=10)")
    opt.add_json(p)
    opt.add_quiet(p)
    p.set_defaults(func=run, theta=None)
    p.set_defaults(hypothesis_defaults={d: p.get_default(d) for d in HYPOTHESIS_OPTIONS})


HYPOTHESIS_OPTIONS = ("benchmark", "m_chi", "m_phi", "eps", "theta", "g_chi", "q_phi", "alpha_em", "kinetic_mixing",
                      "width_model", "sqrt_s", "nb", "lumi_fb", "region", "template_events")
"""The options that describe the model of the data: they replace the file's record, so they need --mA."""
GRID = ("m_A_span", "m_A_nodes", "m_phi_span", "m_phi_nodes", "width_decades", "width_nodes", "radial_bins")
"""The FitConfig fields --template-grid sets."""


def run(args) -> int:
    """Run ``mcdh fit`` with the parsed ``args``; returns the exit status."""
    import dataclasses

    from .._atomic import check_output
    from ..errors import ParameterError, require
    from ..reconstruct.data import Data
    from ..reconstruct.fit import GRID_FIELDS, PAIRS
    from ..reconstruct.report import strict_json, write_report
    from ..settings import THETA_TABLE
    from ..study import Study

    require("iminuit", "fit", "mcdh fit")  # said before the data are read or any template is made
    options: dict = {}
    if args.vertex_resolution is not None:
        options["vertex_resolution"] = args.vertex_resolution
    if args.region_gammaphi is not None:
        options["region_gammaphi"] = opt.region_arg(args.region_gammaphi)
    for k, v in (args.template_grid or {}).items():
        if k not in GRID:
            raise ParameterError("--template-grid", k, f"is not a grid setting (they are {', '.join(GRID)})")
        options[k] = int(v) if k.endswith(("nodes", "bins")) and float(v).is_integer() else v
    if args.search_range is not None and not (len(args.search_range) == 2 and 0 < args.search_range[0] < args.search_range[1]):
        raise ParameterError("--search-range", args.search_range, "must be two masses lo,hi in GeV with 0 < lo < hi")
    out = Path(args.out) if args.out else Path(str(args.data).removesuffix(".root") + "_fit")
    check_output(out, folder=True)  # before the templates and the fit, not after
    theta_given = args.theta is not None
    if args.mA is None:  # the file's record is the model of the data: an option meant to change it must not vanish
        given = [d for d, v in args.hypothesis_defaults.items() if getattr(args, d) != v]
        if given:
            flag = "--" + given[0].replace("_", "-")
            raise ParameterError(flag, getattr(args, given[0]), "describes the model of the data and applies only with "
                                 "--mA (the hypothesis given on the command line); without it the file's record is used")
    if args.mA is not None:  # the hypothesis given on the command line
        if not theta_given:
            args.theta = THETA_TABLE  # a placeholder: theta is taken from the data below
        study = Study(luminosity_fb=args.lumi_fb, n_b=args.nb, region=opt.region_arg(args.region), seed=args.seed)
        data = Data.read(args.data, study.fit_config(opt.model_from_args(args), template_events=args.template_events,
                                                     **options))
        if not theta_given:
            data = data.with_theta_from_data(args.seed)
            if not args.quiet and not args.json:
                print(f"theta from the data's decay radii: {data.config.model.theta:.4g} (the templates' centre; "
                      "--theta to give it)")
    else:
        data = Data.read(args.data)
        if options:
            data = dataclasses.replace(data, config=dataclasses.replace(data.config, **options))
        study = Study(seed=args.seed)  # the fit uses the model of the data the file records
    channels = tuple(args.channels) if args.channels else None
    full = not args.no_contours
    result = study.fit(data, channels=channels, fix=tuple(args.fix), start=args.start, contours=PAIRS if full else (),
                       profiles=("m_A",) if full else (), n_toys=args.toys, n_workers=opt.threads(args), search_range=args.search_range,
                       max_outside=args.max_outside, progress=not args.quiet)
    model = study.data_model(data.config, result.channels)
    paths = write_report(out, model, data, result)
    if args.json:
        print(opt.dumps(strict_json(result.as_dict())))
    else:
        print(result)
        print(f"  -> {', '.join(str(p) for p in paths if p.suffix in ('.json', '.png'))}")
    if not result.valid:
        hint = ""
        for k, name in GRID_FIELDS.items():
            if result.status.startswith(f"{k} reached the edge"):
                hint = f" (mcdh fit --template-grid {name}=...)"
        print(f"mcdh fit: no valid result: {result.status}{hint}", file=sys.stderr)
        return 1
    return 0


def _assignments(text: str) -> dict[str, float]:
    """``a=1,b=2e-3`` as {"a": 1.0, "b": 0.002}."""
    import argparse

    out = {}
    for part in opt.names(text):
        name, sep, value = part.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{part!r} is not NAME=NUMBER") from None
        if not sep:
            raise argparse.ArgumentTypeError(f"{part!r} is not NAME=NUMBER")
    return out
