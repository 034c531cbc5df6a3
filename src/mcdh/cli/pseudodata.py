"""mcdh pseudodata: reconstructed events of both channels as Belle II would record them at a model point."""
from __future__ import annotations

from . import _options as opt


def register(sub) -> None:
    """Add ``mcdh pseudodata`` and its options to the subcommands ``sub``."""
    p = sub.add_parser(
        "pseudodata",
        help="pseudo-data at a model point: reconstructed phi and gamma-phi events (Poisson or Asimov) as a ROOT ntuple",
        description="Signal and mock-background events with Poisson numbers (or the Asimov data set), each with "
        "what the detector measures: smeared m_chichi and E_gamma, the decay radius inside the region, the vertex "
        "mass. The file records the model of the data, so `mcdh fit FILE` fits it.",
    )
    opt.add_model(p)
    opt.add_nb(p)
    opt.add_lumi(p)
    opt.add_region(p)
    p.add_argument("--region-gammaphi", default=None,
                   help="another region for gamma-phi, e.g. 170,600 (mm; the paper's conclusion) (default: --region)")
    p.add_argument("--asimov", action="store_true", help="the Asimov data set (expected events) instead of Poisson data")
    p.add_argument("--vertex-resolution", type=float, default=0.01,
                   help="relative Gaussian resolution of the vertex mass (default 0.01)")
    p.add_argument("--template-events", type=int, default=40_000,
                   help="events per channel at each template node of the fit model (default 40000)")
    p.add_argument("--mc-events", type=int, default=200_000,
                   help="signal and background events the Poisson data are drawn from (default 200000)")
    opt.add_seed(p, " (of the Poisson draws; the templates use --seed too)")
    p.add_argument("--output", required=True, help="the ROOT ntuple to write")
    opt.add_json(p)
    opt.add_quiet(p)
    p.set_defaults(func=run)


def run(args) -> int:
    """Run ``mcdh pseudodata`` with the parsed ``args``; returns the exit status."""
    from ..errors import ParameterError
    from ..io import file_format
    from ..study import Study

    if file_format(args.output, "output") != "root":
        raise ParameterError("--output", args.output, "must be a .root file (pseudo-data are ROOT ntuples)")
    model = opt.model_from_args(args)
    study = Study(luminosity_fb=args.lumi_fb, n_b=args.nb, region=opt.region_arg(args.region), seed=args.seed)
    options = {"vertex_resolution": args.vertex_resolution, "template_events": args.template_events,
               "region_gammaphi": None if args.region_gammaphi is None else opt.region_arg(args.region_gammaphi)}
    data = study.pseudo_data(model, asimov=args.asimov, seed=args.seed, mc_events=args.mc_events,
                             progress=not args.quiet, **options)
    data.write(args.output)
    n = data.n_events()
    if args.json:
        print(opt.dumps({"output": args.output, "asimov": args.asimov, "events": n, "truth": data.truth,
                         "config": data.config.as_dict()}))
    else:
        kind = "Asimov data set" if args.asimov else "Poisson pseudo-data"
        print(f"{kind} -> {args.output}: " + ", ".join(f"{c} {v:.6g} events" for c, v in n.items()))
        print(f"  truth: m_A = {model.m_A:g} GeV, m_phi = {model.m_phi:g} GeV, eps = {model.eps:g}, "
              f"theta = {model.theta:g}; "
              f"{args.lumi_fb / 1e3:g} ab^-1, N_b = {args.nb:g}, region {args.region}")
    return 0
