"""mcdh generate signal|background: events streamed into a ROOT, LHE or HepMC3 file."""
from __future__ import annotations

import time

from ..errors import ParameterError
from ..physics.constants import SQRT_S
from ..settings import LUMINOSITY_FB
from . import _options as opt


def register(sub) -> None:
    """Add ``mcdh generate`` and its options to the subcommands ``sub``."""
    p = sub.add_parser(
        "generate",
        help="generate signal or background events into a ROOT, LHE or HepMC3 file",
        description="Events are written as they are generated (bounded memory), under a temporary name that is "
        "renamed when the file is complete. The output suffix picks the format: .root (a flat TTree named after "
        "the process/channel: __event__, __weight__ in fb with sum = sigma, four-momenta, m_chichi, E_gamma, ...), "
        ".lhe or .lhe.gz (LHEF 3, phi c tau in VTIMUP), .hepmc (HepMC3 with the phi decayed at its displaced vertex).",
    )
    gsub = p.add_subparsers(dest="what", required=True)
    g = gsub.add_parser("signal", help="e+e- -> phi chi chibar or gamma phi chi chibar (exact matrix elements)")
    opt.add_channel(g, "--process", required=True)
    opt.add_model(g)
    g.add_argument("--frame", choices=("cms", "lab"), default="cms", help="momenta in the CMS (default) or Belle II lab frame")
    g.add_argument("--unweight", action="store_true",
                   help="unit-weight events (each kept with probability w / w_max; events above w_max, at most 0.1 %% of "
                   "sigma, keep their larger weight): for chains that drop weights, e.g. basf2's LHE reader. --events "
                   "then counts the weighted events drawn; about --events x the unweighting efficiency are written")
    _add_output(g)
    g.set_defaults(func=run_signal)
    g = gsub.add_parser("background", help="the paper's RAMBO mock background (section 3.2)")
    opt.add_channel(g, required=True)
    g.add_argument("--benchmark", type=str.upper, choices=("B1", "B2", "B3"), default=None, help="take m_phi, m_chi from a benchmark")
    g.add_argument("--mA", type=float, default=None, help="dark photon mass of the benchmark (GeV)")
    g.add_argument("--m-phi", type=float, default=None, help="dark Higgs mass (GeV), instead of a benchmark")
    g.add_argument("--m-chi", type=float, default=None, help="dark matter mass (GeV), instead of a benchmark")
    opt.add_nb(g)
    g.add_argument("--sqrt-s", type=opt.sqrt_s_arg, default=SQRT_S, help="CMS energy in GeV (default 10.58)")
    _add_output(g)
    g.set_defaults(func=run_background)


def _add_output(g) -> None:
    g.add_argument("--events", type=int, required=True, help="weighted events")
    opt.add_seed(g, " (also of the phi decays written to LHE and HepMC3)")
    g.add_argument("--output", required=True, help="output file: .root, .lhe, .lhe.gz or .hepmc")
    g.add_argument("--pdg", type=opt.pdg_arg, default=None,
                   help="PDG ids for LHE/HepMC, e.g. phi=54,chi=52,chibar=-52 (default: PDG MC numbering 54, 52, -52, 22)")
    opt.add_threads(g)
    opt.add_json(g)
    opt.add_quiet(g)


def run_signal(args) -> int:
    """Run ``mcdh generate signal``; returns the exit status."""
    from ..generate.signal import SignalStream
    from ..io import file_format, open_writer

    file_format(args.output, "output")  # a bad suffix is reported before any work
    model = opt.model_from_args(args)
    t0 = time.perf_counter()
    stream = SignalStream(model, args.process, args.events, args.seed, frame=args.frame, n_threads=args.threads,
                          progress=not args.quiet, unweight=args.unweight)
    written = stream.n_out  # unweighting: a first pass over the weights alone says how many are kept
    with open_writer(args.output, written, tree=args.process, pdg=args.pdg, seed=args.seed) as out:
        for chunk in stream:
            out.write(chunk)
        out.set_parameters(stream.parameters)
    assert stream.parameters is not None  # set once the stream is exhausted
    p = stream.parameters
    dt = time.perf_counter() - t0
    summary = {"output": str(args.output), "process": args.process, "events": written, "frame": args.frame,
               "weighted": not args.unweight,
               "sigma_fb": p["sigma_fb"], "sigma_err_fb": p["sigma_err_fb"], "eps": model.eps, "theta": model.theta,
               "ctau_phi_mm": model.ctau_phi_mm, "seconds": dt}
    if args.json:
        print(opt.dumps(summary))
    else:
        kind = "unit-weight " if args.unweight else ""
        print(f"{written} {kind}{args.process} events ({args.frame} frame) -> {args.output}"
              + (f" (of {args.events} drawn, unweighting efficiency {p['unweighting_efficiency']:.3g})"
                 if args.unweight else ""))
        print(f"  sigma = {p['sigma_fb']:.6g} +- {p['sigma_err_fb']:.2g} fb at eps = {model.eps:g} "
              f"(sum of __weight__), c tau_phi = {model.ctau_phi_mm:.4g} mm at theta = {model.theta:g}")
        print(f"  {dt:.1f} s, {args.events / dt:.3g} events/s")
    return 0


def run_background(args) -> int:
    """Run ``mcdh generate background``; returns the exit status."""
    from ..generate.background import BackgroundStream
    from ..io import file_format, open_writer
    from ..physics.model import DarkSector

    file_format(args.output, "output")
    if args.m_phi is None or args.m_chi is None:
        if args.benchmark is None or args.mA is None:
            raise ParameterError("--benchmark/--mA", (args.benchmark, args.mA),
                                 "give a benchmark and m_A, or both --m-phi and --m-chi")
        m = DarkSector.from_benchmark(args.benchmark, args.mA)
        m_phi, m_chi = m.m_phi, m.m_chi
    else:
        m_phi, m_chi = args.m_phi, args.m_chi
    t0 = time.perf_counter()
    stream = BackgroundStream(args.channel, m_phi, m_chi, args.events, args.seed, n_b=args.nb, sqrt_s=args.sqrt_s,
                              n_threads=args.threads, progress=not args.quiet)
    with open_writer(args.output, args.events, tree=f"background_{args.channel}", pdg=args.pdg, seed=args.seed) as out:
        for chunk in stream:
            out.write(chunk)
        out.set_parameters(stream.parameters)
    dt = time.perf_counter() - t0
    sigma = stream.sigma_fb
    expected = sigma * LUMINOSITY_FB
    if args.json:
        print(opt.dumps({"output": str(args.output), "channel": args.channel, "events": args.events, "m_phi": m_phi,
                         "m_chi": m_chi, "n_b": args.nb, "sigma_fb": sigma, "expected_events_10iab": expected,
                         "seconds": dt}))
    else:
        print(f"{args.events} background-{args.channel} events (m_phi = {m_phi:g}, m_chi = {m_chi:g} GeV) -> {args.output}")
        print(f"  sigma = {sigma:.6g} fb: {expected:.6g} events in 10 ab^-1 (N_b = {args.nb:g}), {dt:.1f} s")
    return 0
