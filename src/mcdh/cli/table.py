"""mcdh table: an Appendix B efficiency table."""
from __future__ import annotations

import sys

from . import _options as opt


def register(sub) -> None:
    """Add ``mcdh table`` and its options to the subcommands ``sub``."""
    p = sub.add_parser(
        "table",
        help="Appendix B efficiency table (signal, window, background, -2 log L per m_A)",
        description="For each m_A: generate signal and mock background, apply the decay probability in the "
        "region, smear, optimise the window and report the selection (paper tables 3-6).",
    )
    p.add_argument("--benchmark", type=str.upper, choices=("B1", "B2", "B3"), default="B1", help="mass benchmark (default B1)")
    opt.add_channel(p, required=True)
    opt.add_nb(p, default=None)
    opt.add_eps_theta(p)
    p.add_argument("--mA-list", type=opt.floats, default=None, help="comma-separated m_A in GeV (default 1.2,1.5,...,7.5)")
    p.add_argument("--events", type=int, default=100_000, help="weighted signal events per mass (default 100000)")
    p.add_argument("--background-events", type=int, default=100_000, help="weighted background events per mass (default 100000)")
    opt.add_seed(p, " (as mcdh reproduce)")
    opt.add_threads(p)
    opt.add_region(p)
    opt.add_lumi(p)
    opt.add_statistic(p)
    opt.add_width_model(p)
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true",
                     help="print CSV: a # line with the settings, a header with units, 4 significant digits")
    fmt.add_argument("--latex", action="store_true", help="print a LaTeX table in the paper's layout (Appendix B)")
    fmt.add_argument("--json", action="store_true", help="print JSON with full precision and the settings")
    opt.add_quiet(p)
    p.set_defaults(func=run)


def run(args) -> int:
    """Run ``mcdh table`` with the parsed ``args``; returns the exit status."""
    from ..physics.widths import check_width_model
    from ..settings import MASSES
    from ..study import Study

    study = Study(luminosity_fb=args.lumi_fb, n_b=args.nb, region=opt.region_arg(args.region), n_signal=args.events,
                  n_background=args.background_events, seed=args.seed, n_threads=opt.threads(args),
                  width_model=check_width_model(args.width_model), **opt.reach_args(args))
    rows = study.table(args.benchmark, args.channel, eps=args.eps, theta=args.theta,
                       masses=args.mA_list if args.mA_list is not None else MASSES, progress=not args.quiet)
    dicts = [r.as_csv_dict() for r in rows]
    settings = {"benchmark": args.benchmark, "channel": args.channel, "eps": args.eps, "theta": args.theta,
                "n_b": args.nb, "luminosity_fb": args.lumi_fb, "region": args.region, "seed": args.seed,
                "width_model": args.width_model, **opt.reach_record(study)}
    if args.csv or args.latex:
        from ..tables import table_csv, table_latex

        sys.stdout.write((table_csv if args.csv else table_latex)(rows, settings))
        return 0
    if args.json:
        print(opt.dumps({"settings": settings, "rows": [{**d, "sel_sig_err": r.sel_sig_err} for d, r in zip(dicts, rows)]}))
        return 0
    region = study.config.region
    ch = "e+e- -> phi chi chibar" if args.channel == "phi" else "e+e- -> gamma phi chi chibar"
    print(f"{ch}, {args.benchmark}: eps = {args.eps:g}, theta = {args.theta:g}, N_b = {args.nb:g} (at 10 ab^-1), "
          f"{args.lumi_fb / 1e3:g} ab^-1, decays in {region.name} ({region.r_in:g}-{region.r_out:g} mm)")
    print("  ".join(f"{k:>11s}" for k in dicts[0]) + "  " + f"{'sel_sig_err':>11s}")
    for d, r in zip(dicts, rows):
        print("  ".join(f"{v:11.4g}" for v in d.values()) + "  " + f"{r.sel_sig_err:11.2g}")
    return 0
