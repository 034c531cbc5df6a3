"""mcdh figure N: one of the paper's figures 3-12, with the numbers behind it (PNG, PDF, CSV)."""
from __future__ import annotations

from ..errors import ParameterError
from . import _options as opt


def register(sub) -> None:
    """Add ``mcdh figure`` and its options to the subcommands ``sub``."""
    p = sub.add_parser(
        "figure", help="draw one of the paper's figures 3-12 (PNG, PDF and the plotted numbers as CSV)",
        description="3 relic g_chi, 4 cross sections, 5 displacement reweighting, 6 mock backgrounds, 7 gamma-phi "
        "Dalitz plots, 8 photon regimes, 9 E_gamma and v, 10 selection windows, 11 reach in eps and theta (with "
        "the external bounds and the band of the hadronic-width envelope), 12 reach ratios. Same numbers as mcdh reproduce "
        "with the same options.")
    p.add_argument("number", choices=[str(n) for n in range(3, 13)] + ["systematics"], metavar="N",
                   help="figure number, 3 to 12, or 'systematics': the combined eps reach at N_b = 1 and 1e4 for "
                   "background uncertainties of 0, 10 and 30 %% (--benchmarks, --mA-list, --theta, the statistic)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--benchmarks", type=lambda t: [x.upper() for x in opt.names(t)], default=["B1", "B2", "B3"],
                   help="comma-separated benchmarks of figures 4, 11, 12 (default B1,B2,B3)")
    p.add_argument("--mA-list", type=opt.floats, default=None, help="comma-separated m_A in GeV (default 1.2,1.5,...,7.5)")
    p.add_argument("--events", type=int, default=100_000, help="weighted signal events per analysis point (default 100000)")
    p.add_argument("--background-events", type=int, default=100_000, help="weighted background events per point (default 100000)")
    p.add_argument("--xsec-events", type=int, default=200_000, help="events per cross-section point (figure 4)")
    p.add_argument("--figure-events", type=int, default=200_000, help="events of the samples of figures 6, 7, 9")
    p.add_argument("--nb-list", type=opt.floats, default=None,
                   help="figure 11: background levels N_b (phi-channel events at 10 ab^-1), up to four (default 1,1e4)")
    p.add_argument("--theta", type=float, default=None, help="figure 11: theta of the eps reach (default: the paper's)")
    p.add_argument("--eps", type=float, default=None, help="figure 11: eps of the theta band (default: the paper's)")
    p.add_argument("--overlay", action="append", default=[], metavar="FILE.csv[:label]",
                   help="figure 11: a curve of your own on every eps panel (two columns m_A [GeV], eps; repeatable)")
    opt.add_region(p)
    opt.add_lumi(p)
    opt.add_statistic(p)
    opt.add_width_model(p)  # figure 11 draws the band of the width envelope around the curves of this model
    opt.add_seed(p)
    opt.add_threads(p)
    opt.add_quiet(p)
    p.set_defaults(func=run)


def run(args) -> int:
    """Run ``mcdh figure`` with the parsed ``args``; returns the exit status."""
    from ..paper import FigureOptions, figure
    from ..physics.widths import check_width_model
    from ..settings import MASSES
    from ..study import ReachScan, Study

    study = Study(luminosity_fb=args.lumi_fb, region=opt.region_arg(args.region), n_signal=args.events,
                  n_background=args.background_events, seed=args.seed, n_threads=args.threads,
                  width_model=check_width_model(args.width_model), **opt.reach_args(args))
    from .. import settings

    if args.number == "systematics":
        from ..paper import figure_systematics

        if args.nb_list is not None or args.eps is not None or args.bkg_syst:
            raise ParameterError("n_b_values", args.nb_list, "the systematics figure draws N_b = 1 and 1e4 at "
                                 "uncertainties 0, 10 and 30 %: --nb-list, --eps and --bkg-syst do not apply")
        paths = figure_systematics(args.out, study, benchmarks=args.benchmarks,
                                   masses=args.mA_list if args.mA_list is not None else MASSES,
                                   theta=args.theta if args.theta is not None else settings.THETA_EPS_SCAN,
                                   progress=not args.quiet)
        if not args.quiet:
            print("wrote " + ", ".join(str(p) for p in paths))
        return 0
    args.number = int(args.number)
    from ..plots import Overlay

    overlays = [Overlay.read(spec) for spec in args.overlay]  # a bad file is refused before any work
    if args.number != 11 and (args.nb_list, args.theta, args.eps) != (None, None, None):
        raise ParameterError("n_b_values", args.nb_list, "--nb-list, --theta and --eps set figure 11's scan only")
    scan = ReachScan(tuple(args.nb_list or settings.NB_VALUES),
                     args.theta if args.theta is not None else settings.THETA_EPS_SCAN,
                     args.eps if args.eps is not None else settings.EPS_REF)
    options = FigureOptions(args.xsec_events, args.figure_events, tuple(args.benchmarks),
                            tuple(args.mA_list if args.mA_list is not None else MASSES), scan, tuple(overlays))
    paths = figure(args.number, args.out, study, options=options, progress=not args.quiet)
    if not args.quiet:
        print("wrote " + ", ".join(str(p) for p in paths))
    return 0
