"""mcdh fit: the joint fit of the phi and gamma-phi channels to a data ntuple (after a discovery)."""
from __future__ import annotations

import sys
from pathlib import Path

from . import _options as opt


def register(sub) -> None:
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
    g = p.add_argument_group("the model of the data, for an ntuple that does not record it (given, --mA and these "
                             "replace the file's record; --eps and --theta are then the start values)")
    opt.add_model(g, required=False)
    opt.add_nb(g)
    opt.add_lumi(g)
    opt.add_region(g)
    g.add_argument("--template-events", type=int, default=40_000, help="events per template node (default 40000)")
    opt.add_seed(g, " (of the templates)")
    opt.add_json(p)
    opt.add_quiet(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..reconstruct.data import Data
    from ..reconstruct.fit import PAIRS
    from ..reconstruct.report import strict_json, write_report
    from ..study import Study

    if args.mA is not None:  # the hypothesis given on the command line
        study = Study(luminosity_fb=args.lumi_fb, n_b=args.nb, region=opt.region_arg(args.region), seed=args.seed)
        data = Data.read(args.data, study.fit_config(opt.model_from_args(args), template_events=args.template_events))
    else:
        data = Data.read(args.data)
        study = Study()  # the fit uses the model of the data the file records
    channels = tuple(args.channels) if args.channels else None
    full = not args.no_contours
    result = study.fit(data, channels=channels, fix=tuple(args.fix), start=args.start, contours=PAIRS if full else (),
                       profiles=("m_A",) if full else (), progress=not args.quiet)
    out = Path(args.out) if args.out else Path(str(args.data).removesuffix(".root") + "_fit")
    model = study.data_model(data.config, result.channels)
    paths = write_report(out, model, data, result)
    if args.json:
        print(opt.dumps(strict_json(result.as_dict())))
    else:
        print(result)
        print(f"  -> {', '.join(str(p) for p in paths if p.suffix in ('.json', '.png'))}")
    if not result.valid:
        print(f"mcdh fit: no valid result: {result.status}", file=sys.stderr)
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
