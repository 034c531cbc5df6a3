"""mcdh reproduce: every figure and table of the paper into a folder."""
from __future__ import annotations

from pathlib import Path

from . import _options as opt


def register(sub) -> None:
    """Add ``mcdh reproduce`` and its options to the subcommands ``sub``."""
    p = sub.add_parser("reproduce", help="regenerate the paper's figures 3-12 and tables 3-6 into a folder")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--events", type=int, default=100_000, help="weighted signal events per analysis point (default 100000)")
    p.add_argument("--background-events", type=int, default=100_000, help="weighted background events per point (default 100000)")
    p.add_argument("--xsec-events", type=int, default=200_000, help="events per cross-section point of figure 4 (default 200000)")
    p.add_argument("--figure-events", type=int, default=200_000, help="events of the samples drawn in figures 6, 7, 9 (default 200000)")
    p.add_argument("--benchmarks", type=lambda t: [x.upper() for x in opt.names(t)], default=["B1", "B2", "B3"],
                   help="comma-separated benchmarks (default B1,B2,B3)")
    p.add_argument("--mA-list", type=opt.floats, default=None, help="comma-separated m_A in GeV (default 1.2,1.5,...,7.5)")
    opt.add_lumi(p)
    opt.add_statistic(p)
    opt.add_width_model(p)  # figure 11 draws the band of the width envelope around the curves of this model
    opt.add_seed(p)
    opt.add_threads(p)
    p.add_argument("--hepdata", action="store_true",
                   help="also write figure 11 and tables 3-6 as a HEPData submission into OUT/hepdata (needs the "
                   "publish extra)")
    p.add_argument("--quiet", action="store_true", help="no progress bars or summary")
    p.set_defaults(func=run)


def run(args) -> int:
    """Run ``mcdh reproduce`` with the parsed ``args``; returns the exit status."""
    from ..paper import print_summary, reproduce
    from ..study import Study

    kw = {}
    if args.mA_list is not None:
        kw["masses"] = args.mA_list
    from ..physics.widths import check_width_model

    study = Study(luminosity_fb=args.lumi_fb, n_signal=args.events, n_background=args.background_events,
                  seed=args.seed, n_threads=args.threads, width_model=check_width_model(args.width_model),
                  **opt.reach_args(args))
    if args.hepdata:  # a missing extra is said before the run, not after it
        from ..errors import require

        require("hepdata_lib", "publish", "mcdh reproduce --hepdata")
    result = reproduce(args.out, study, xsec_events=args.xsec_events, figure_events=args.figure_events,
                        benchmarks=args.benchmarks, progress=not args.quiet, **kw)
    if args.hepdata:
        from ..publish import hepdata_submission

        hepdata_submission(result, Path(args.out) / "hepdata")
    if not args.quiet:
        print_summary(result)
        if args.hepdata:
            print(f"  HEPData submission -> {Path(args.out) / 'hepdata'}")
    return 0
