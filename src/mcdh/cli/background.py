"""mcdh background: the paper's RAMBO mock background (section 3.2), summarised."""
from __future__ import annotations

from ..physics.constants import SQRT_S
from . import _options as opt


def register(sub) -> None:
    """Add ``mcdh background`` and its options to the subcommands ``sub``."""
    p = sub.add_parser(
        "background",
        help="the paper's RAMBO mock background (section 3.2)",
        description="Flat phase space with masses (m_phi, m_chi, m_chi) for the phi channel or "
        "(0, m_phi, m_chi, m_chi) with the Belle II photon acceptance for gamma-phi. N_b is defined at "
        "10 ab^-1 (gamma-phi: 0.22 N_b); the expected events are printed at --lumi-fb.",
    )
    opt.add_channel(p, required=True)
    p.add_argument("--m-phi", type=float, required=True, help="dark Higgs (displaced vertex) mass in GeV")
    p.add_argument("--m-chi", type=float, required=True, help="mass of each missing-momentum proxy in GeV")
    opt.add_nb(p)
    opt.add_lumi(p)
    p.add_argument("--unweight", action="store_true", help="unweight (equal-weight events)")
    p.add_argument("--events", type=int, default=100_000, help="number of events (default 100000)")
    p.add_argument("--sqrt-s", type=float, default=SQRT_S, help=f"centre-of-mass energy in GeV (default {SQRT_S})")
    opt.add_run_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    """Run ``mcdh background`` with the parsed ``args``; returns the exit status."""
    from ..generate.background import background_summary, generate_background

    ev = generate_background(args.channel, args.m_phi, args.m_chi, args.events, args.seed, n_b=args.nb,
                             sqrt_s=args.sqrt_s, unweight=args.unweight, n_threads=args.threads, progress=not args.quiet)
    summary = background_summary(ev, args.lumi_fb)
    if args.json:
        print(opt.dumps(summary.as_dict()))
        return 0
    print(f"mock background, {args.channel} channel: {summary.events} events, N_b = {args.nb:g} (at 10 ab^-1)")
    print(f"  sigma = {summary.sigma_fb:.6g} fb -> {summary.expected_events:.6g} events in {args.lumi_fb:g} fb^-1")
    print(f"  phase space (inside acceptance) = {summary.phase_space_volume:.6g}, "
          f"acceptance efficiency {summary.acceptance_efficiency:.4f}")
    if summary.unweighting_efficiency is not None:
        print(f"  unweighting efficiency {summary.unweighting_efficiency:.4f}")
    print(f"  <m_chichi> = {summary.mchichi_mean:.4f} GeV in "
          f"[{summary.mchichi_range[0]:.4g}, {summary.mchichi_range[1]:.4g}]")
    return 0
