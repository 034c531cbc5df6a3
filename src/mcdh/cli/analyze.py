"""mcdh analyze: a signal file (mcdh's, MadGraph's, any LHE, HepMC3 or ROOT) through the paper's analysis."""
from __future__ import annotations

from ..errors import ParameterError
from . import _options as opt


def register(sub) -> None:
    """Add ``mcdh analyze`` and its options to the subcommands ``sub``."""
    p = sub.add_parser(
        "analyze",
        help="analyse a signal file (ROOT, LHE or HepMC3; mcdh's or MadGraph's): selection, -2 log L, reach",
        description="Reads signal events (and a background file, or generates the mock background), applies the "
        "displaced-vertex probability, the smearing and the optimised window of the paper, and prints the "
        "Appendix B quantities, the 95%% CL eps reach and the sensitive theta band. Files not written by mcdh "
        "(e.g. MadGraph LHE) need the model: --benchmark/--mA (or --m-chi/--m-phi) and --eps-gen. A model whose "
        "masses disagree with the file's is refused unless --force-model is given.",
    )
    p.add_argument("file", help="signal events: .root, .lhe, .lhe.gz or .hepmc")
    p.add_argument("--tree", default=None, help="tree in a ROOT file (default: its only tree)")
    p.add_argument("--roles", type=opt.pdg_arg, default=None,
                   help="PDG id of each slot for LHE/HepMC from other generators, e.g. gamma=22,phi=9000005,chi=9000007,chibar=-9000007")
    opt.add_channel(p, default=None, help="default: gammaphi if the events have a photon")
    p.add_argument("--background", default=None, help="background events file (default: generate the mock background)")
    p.add_argument("--background-tree", default=None, help="tree in the background ROOT file")
    p.add_argument("--background-events", type=int, default=100_000, help="mock background events if generated (default 100000)")
    opt.add_nb(p)
    p.add_argument("--eps-gen", type=float, default=None, help="eps the imported events were generated at (with --mA)")
    opt.add_model(p, required=False)
    p.add_argument("--force-model", action="store_true",
                   help="analyse under the given model even if its masses disagree with the file's")
    opt.add_region(p)
    opt.add_lumi(p)
    opt.add_smearing(p)
    opt.add_seed(p, " of the smearing and the mock background")
    opt.add_threads(p)
    p.add_argument("--output", default=None,
                   help="also write the smeared signal and background histograms (TH1D with sums of squared weights) "
                        "to this ROOT file")
    p.add_argument("--with-samples", action="store_true", help="with --output: also copy the signal and background events")
    opt.add_json(p)
    p.set_defaults(func=run)


def analysis_model(args, signal):
    """The model behind the signal file: recorded by mcdh, or from the options (with the generation eps).

    Options that name a model are compared with the file's recorded one by
    :func:`mcdh.study.check_sample_model` (unless --force-model).
    """
    from ..physics.model import DarkSector

    if args.mA is None:
        model = signal.info.model
        if not model:
            raise ParameterError("--mA", None, f"{args.file} records no model (not written by mcdh): give --benchmark "
                                 "and --mA (or --m-chi and --m-phi) and the --eps-gen the events were generated at")
        return DarkSector(**model)
    from ..study import generation_eps

    return opt.model_from_args(args).replace(eps=generation_eps(signal, args.eps_gen))


def run(args) -> int:
    """Run ``mcdh analyze`` with the parsed ``args``; returns the exit status."""
    from ..io import file_format, read_events
    from ..physics.model import check_eps, check_theta
    from ..study import Study, analysis_histograms, band_result, reach_result

    if args.output is not None and file_format(args.output, "output") != "root":
        raise ParameterError("output", args.output, "must be a .root file (the histograms are TH1D)")
    if args.with_samples and args.output is None:
        raise ParameterError("with_samples", True, "needs --output FILE.root")
    signal = read_events(args.file, tree=args.tree, roles=args.roles)
    channel = args.channel or ("gammaphi" if "gamma" in signal.particles else "phi")
    model = analysis_model(args, signal)
    study = Study(luminosity_fb=args.lumi_fb, n_b=args.nb, region=opt.region_arg(args.region),
                  n_background=args.background_events, seed=args.seed, smearing=args.smearing,
                  n_threads=args.threads if args.threads is not None else 1)
    background = read_events(args.background, tree=args.background_tree) if args.background else None
    a = study.analysis(model, None, channel, signal=signal, background=background, eps_gen=model.eps,
                       check_masses=not args.force_model)
    eps, theta = check_eps(args.eps), check_theta(args.theta)
    row = a.table_row(eps, theta, args.nb)
    reach = reach_result(a.eps_reach(theta, args.nb).eps, channel, theta, model)
    band = band_result(a.theta_band(eps, [args.nb])[args.nb], channel, eps, model, study.config.theta_range[1])
    res = {"file": str(args.file), "channel": channel, "events": len(signal), "model": model.as_dict(),
           "eps": eps, "theta": theta, "n_b": args.nb, "luminosity_fb": args.lumi_fb, **row.as_csv_dict(),
           "sel_sig_err": row.sel_sig_err, "excluded": bool(row.m2loglike >= 3.84),
           "eps95": reach.eps, "eps95_note": reach.note,
           "theta_band": [band.lower, band.upper], "theta_band_note": band.note, **opt.reach_record(study)}
    if args.output:
        from ..io.root import RootWriter, th1

        n_bkg = len(background) if background is not None else args.background_events
        entries = {"signal": len(signal), "background": n_bkg}  # events filled, each as smeared copies
        hists = {f"h_{k}": th1(h, entries[k], f"{k}: expected events at {args.lumi_fb:g} fb^-1 (eps = {eps:g}, "
                                              f"theta = {theta:g}, N_b = {args.nb:g})")
                 for k, h in analysis_histograms(a, eps, theta, args.nb).items()}
        with RootWriter(args.output, histograms=hists, seed=args.seed) as out:
            if args.with_samples:
                out.tree = "signal"
                out.write(signal)
                if background is not None:
                    out.new_tree("background")
                    out.write(background)
        res["output"] = str(args.output)
    if args.json:
        print(opt.dumps(res))
        return 0
    name = "e+e- -> phi chi chibar" if channel == "phi" else "e+e- -> gamma phi chi chibar"
    print(f"{args.file}: {len(signal)} events, {name}, m_A = {model.m_A:g}, m_chi = {model.m_chi:g}, m_phi = {model.m_phi:g} GeV")
    print(f"  at eps = {eps:g}, theta = {theta:g}, N_b = {args.nb:g} (at 10 ab^-1), {args.lumi_fb / 1e3:g} ab^-1:")
    for k, v in row.as_csv_dict().items():
        if k != "mA":
            print(f"    {k:12s} {v:.5g}")
    print(f"    {'excluded':12s} {res['excluded']}")
    if band.sensitive:
        lo, hi = band.lower, band.upper
        band_text = (f"theta from {'below the range' if lo is None else f'{lo:.3g}'} to "
                     f"{'above the range' if hi is None else f'{hi:.3g}'}")
    else:
        band_text = f"no theta band ({band.reason})"
    print(f"  95% CL reach: {reach} at theta = {theta:g}; {band_text} at eps = {eps:g}")
    if args.output:
        print(f"  histograms{' and samples' if args.with_samples else ''} -> {args.output}")
    return 0

