"""mcdh xsec: a signal cross section from the native generator."""
from __future__ import annotations

import time
from dataclasses import asdict

from . import _options as opt


def register(sub) -> None:
    """Add ``mcdh xsec`` and its options to the subcommands ``sub``."""
    p = sub.add_parser(
        "xsec",
        help="signal cross section from the native generator",
        description="sigma(e+e- -> phi chi chibar) or sigma(e+e- -> gamma phi chi chibar) with the Belle II "
        "photon acceptance (E >= 0.25 GeV, 22-158 degrees in the CMS), exact tree-level matrix elements.",
    )
    opt.add_channel(p, "--process", required=True)
    opt.add_model(p)
    opt.add_lumi(p)
    p.add_argument("--events", type=int, default=1_000_000, help="weighted events (default 1000000)")
    opt.add_run_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    """Run ``mcdh xsec`` with the parsed ``args``; returns the exit status."""
    from ..errors import check_luminosity
    from ..generate.signal import cross_section
    from ..kinematics.acceptance import PhotonAcceptance

    check_luminosity("luminosity_fb", args.lumi_fb)
    model = opt.model_from_args(args)
    t0 = time.perf_counter()
    res = cross_section(model, args.process, args.events, args.seed, n_threads=args.threads, progress=not args.quiet)
    dt = time.perf_counter() - t0
    out = {
        "process": args.process, "benchmark": model.benchmark, "sigma_fb": res.sigma_fb,
        "sigma_err_fb": res.sigma_err_fb, "m_A": model.m_A, "m_chi": model.m_chi, "m_phi": model.m_phi,
        "eps": model.eps, "g_chi": model.g_chi, "q_phi": model.q_phi, "theta": model.theta, "alpha_em": model.alpha_em,
        "kinetic_mixing": model.kinetic_mixing, "sqrt_s": model.sqrt_s, "gamma_A": res.gamma_A,
        "widths_A": res.widths_A, "br_chichi": res.branching_ratios_A["chichi"], "events": args.events,
        "seed": args.seed, "luminosity_fb": args.lumi_fb, "expected_events": res.sigma_fb * args.lumi_fb,
        "unweighting_efficiency": res.unweighting_efficiency, "channel_weights": res.channel_weights,
        "seconds": dt,
    }
    if args.process == "gammaphi":
        out["photon_acceptance"] = asdict(PhotonAcceptance())
    if args.json:
        print(opt.dumps(out))
        return 0
    name = "e+e- -> phi chi chibar" if args.process == "phi" else "e+e- -> gamma phi chi chibar (Belle II photon acceptance)"
    print(f"{name}, {model.benchmark or 'custom'}: m_A = {model.m_A:g}, m_chi = {model.m_chi:.4g}, m_phi = {model.m_phi:.4g} GeV")
    print(f"  eps = {model.eps:g}, g_chi = {model.g_chi:g}, q_phi = {model.q_phi:g}, sqrt(s) = {model.sqrt_s:.5g} GeV")
    print(f"  Gamma_A = {res.gamma_A:.4g} GeV (BR chi chibar = {out['br_chichi']:.4f})")
    print(f"  sigma = {res.sigma_fb:.6g} +- {res.sigma_err_fb:.2g} fb  "
          f"({out['expected_events']:.4g} events in {args.lumi_fb:g} fb^-1)")
    print(f"  {args.events} weighted events in {dt:.2f} s; unweighting efficiency {res.unweighting_efficiency:.3f}")
    return 0
