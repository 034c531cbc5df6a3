"""Command line: a thin layer where each command calls the library.

Invalid input gives one line on stderr and exit status 2 (no traceback).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

from ._version import __version__
from .channels import CHANNELS
from .errors import FileFormatError, GenerationError, ParameterError
from .physics.constants import SQRT_S
from .settings import LUMINOSITY_FB


def _floats(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def _region_arg(text: str):
    """A region name, or "r_in,r_out" in mm."""
    return tuple(_floats(text)) if "," in text else text


def _add_common(p: argparse.ArgumentParser, events: int) -> None:
    p.add_argument("--events", type=int, default=events, help=f"number of events (default {events})")
    p.add_argument("--seed", type=int, default=1, help="random seed: the same seed gives identical numbers (default 1)")
    p.add_argument("--threads", type=int, default=None, help="worker threads (default: all cores); results do not depend on it")
    p.add_argument("--sqrt-s", type=float, default=SQRT_S, help=f"centre-of-mass energy in GeV (default {SQRT_S})")


def cmd_rambo(args) -> int:
    from .generate.phasespace import lips_factor, massless_volume, rambo

    t0 = time.perf_counter()
    p, w = rambo(args.sqrt_s, args.masses, args.events, args.seed, n_threads=args.threads, progress=args.progress)
    dt = time.perf_counter() - t0
    n = len(args.masses)
    out = {
        "sqrt_s": args.sqrt_s,
        "masses": args.masses,
        "events": args.events,
        "seed": args.seed,
        "phase_space_volume": float(w.mean()) if w.size else 0.0,
        "phase_space_volume_err": float(w.std() / math.sqrt(w.size)) if w.size > 1 else 0.0,
        "convention": "int prod d^3p/(2E) delta^4(P - sum p), no 2 pi factors",
        "lips_factor": lips_factor(n),
        "massless_closed_form": massless_volume(n, args.sqrt_s) if not any(args.masses) else None,
        "ns_per_event": 1e9 * dt / max(args.events, 1),
    }
    if args.json:
        print(json.dumps(out))
    else:
        print(f"RAMBO 2->{n} at sqrt(s) = {args.sqrt_s} GeV, masses {args.masses} GeV, {args.events} events")
        print(f"  Phi_{n} = {out['phase_space_volume']:.6g} +- {out['phase_space_volume_err']:.2g} GeV^{2 * n - 4}")
        if out["massless_closed_form"] is not None:
            print(f"  massless closed form {out['massless_closed_form']:.6g}")
        print(f"  {out['ns_per_event']:.1f} ns/event")
    return 0


def cmd_background(args) -> int:
    from .generate.background import background_summary, generate_background

    ev = generate_background(
        args.channel,
        args.m_phi,
        args.m_chi,
        args.events,
        args.seed,
        n_b=args.nb,
        luminosity_fb=args.lumi_fb,
        sqrt_s=args.sqrt_s,
        unweight=args.unweight,
        n_threads=args.threads,
        progress=args.progress,
    )
    summary = background_summary(ev)
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"mock background, {args.channel} channel: {summary['events']} events")
        print(f"  sigma = {summary['sigma_fb']:.6g} fb -> {summary['expected_events']:.6g} events in {args.lumi_fb:g} fb^-1")
        print(f"  phase space (inside acceptance) = {summary['phase_space_volume']:.6g}, acceptance efficiency {summary['acceptance_efficiency']:.4f}")
        if summary["unweighting_efficiency"] is not None:
            print(f"  unweighting efficiency {summary['unweighting_efficiency']:.4f}")
        print(f"  <m_chichi> = {summary['mchichi_mean']:.4f} GeV in [{summary['mchichi_range'][0]:.4g}, {summary['mchichi_range'][1]:.4g}]")
    return 0


def cmd_reproduce(args) -> int:
    from .paper import print_summary, reproduce

    kw = {}
    if args.mA_list is not None:
        kw["masses"] = args.mA_list
    summary = reproduce(
        args.out, n_signal=args.events, n_background=args.background_events, xsec_events=args.xsec_events,
        figure_events=args.figure_events, seed=args.seed, n_threads=args.threads, benchmarks=args.benchmarks,
        progress=not args.quiet, **kw,
    )
    if not args.quiet:
        print_summary(summary, Path(args.out))
    return 0


def cmd_table(args) -> int:
    import csv

    from .analysis.pipeline import AnalysisConfig
    from .generate.phasespace import default_threads
    from .study import efficiency_table

    kw = {}
    if args.mA_list is not None:
        kw["masses"] = args.mA_list
    config = AnalysisConfig(region=_region_arg(args.region), luminosity_fb=args.lumi_fb)
    rows = efficiency_table(
        args.benchmark, args.channel, args.nb, eps=args.eps, theta=args.theta, n_signal=args.events,
        n_background=args.background_events, seed=args.seed, config=config,
        n_threads=args.threads if args.threads is not None else default_threads(), progress=args.progress, **kw,
    )
    dicts = [r.as_csv_dict() for r in rows]
    if args.csv:
        w = csv.DictWriter(sys.stdout, fieldnames=list(dicts[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(dicts)
        return 0
    ch = "e+e- -> phi chi chibar" if args.channel == "phi" else "e+e- -> gamma phi chi chibar"
    print(f"{ch}, {args.benchmark}: eps = {args.eps:g}, theta = {args.theta:g}, N_b = {args.nb:g}, "
          f"{args.lumi_fb / 1e3:g} ab^-1, decays in {config.region.name} ({config.region.r_in:g}-{config.region.r_out:g} mm)")
    print("  ".join(f"{k:>11s}" for k in dicts[0]) + "  " + f"{'sel_sig_err':>11s}")
    for d, r in zip(dicts, rows):
        print("  ".join(f"{v:11.4g}" for v in d.values()) + "  " + f"{r.sel_sig_err:11.2g}")
    return 0


def _sqrt_s_arg(text: str) -> float:
    """A number in GeV, or 'beams' for the invariant mass of the SuperKEKB beams (10.574 GeV)."""
    if text.strip().lower() in ("beams", "from-beams", "from_beams"):
        from .kinematics.beams import Beams

        return Beams().sqrt_s
    if text.strip().lower() == "nominal":
        return SQRT_S
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in GeV, 'nominal' or 'beams', got {text!r}") from None


def _model_from_args(args):
    from .physics.model import DarkSector

    kw = dict(
        eps=args.eps, g_chi=args.g_chi, q_phi=args.q_phi, theta=args.theta, alpha_em=args.alpha_em,
        kinetic_mixing=args.kinetic_mixing, sqrt_s=args.sqrt_s, width_model=args.width_model,
    )
    if args.m_chi is not None or args.m_phi is not None:
        if args.m_chi is None or args.m_phi is None:
            raise ParameterError("--m-chi/--m-phi", (args.m_chi, args.m_phi), "give both to override the benchmark masses")
        return DarkSector(m_A=args.mA, m_chi=args.m_chi, m_phi=args.m_phi, benchmark=args.benchmark, **kw)
    if args.benchmark is None:
        raise ParameterError("--benchmark", None, "give a benchmark (B1, B2, B3) or both --m-chi and --m-phi")
    return DarkSector.from_benchmark(args.benchmark, args.mA, **kw)


def cmd_xsec(args) -> int:
    from .generate.signal import cross_section

    model = _model_from_args(args)
    t0 = time.perf_counter()
    res = cross_section(model, args.process, args.events, args.seed, n_threads=args.threads, progress=args.progress)
    dt = time.perf_counter() - t0
    out = {
        "process": args.process,
        "benchmark": model.benchmark,
        "sigma_fb": res["sigma_fb"],
        "sigma_err_fb": res["sigma_err_fb"],
        "m_A": model.m_A,
        "m_chi": model.m_chi,
        "m_phi": model.m_phi,
        "eps": model.eps,
        "g_chi": model.g_chi,
        "q_phi": model.q_phi,
        "theta": model.theta,
        "alpha_em": model.alpha_em,
        "kinetic_mixing": model.kinetic_mixing,
        "sqrt_s": model.sqrt_s,
        "gamma_A": res["gamma_A"],
        "widths_A": res["widths_A"],
        "br_chichi": res["branching_ratios_A"]["chichi"],
        "events": args.events,
        "seed": args.seed,
        "expected_events_10iab": res["sigma_fb"] * LUMINOSITY_FB,
        "unweighting_efficiency": res["unweighting_efficiency"],
        "channel_weights": res["channel_weights"],
        "seconds": dt,
    }
    if args.process == "gammaphi":
        from dataclasses import asdict

        from .kinematics.acceptance import PhotonAcceptance

        out["photon_acceptance"] = asdict(PhotonAcceptance())
    if args.json:
        print(json.dumps(out))
    else:
        name = "e+e- -> phi chi chibar" if args.process == "phi" else "e+e- -> gamma phi chi chibar (Belle II photon acceptance)"
        print(f"{name}, {model.benchmark or 'custom'}: m_A = {model.m_A:g}, m_chi = {model.m_chi:.4g}, m_phi = {model.m_phi:.4g} GeV")
        print(f"  eps = {model.eps:g}, g_chi = {model.g_chi:g}, q_phi = {model.q_phi:g}, sqrt(s) = {model.sqrt_s:.5g} GeV")
        print(f"  Gamma_A = {res['gamma_A']:.4g} GeV (BR chi chibar = {out['br_chichi']:.4f})")
        print(f"  sigma = {res['sigma_fb']:.6g} +- {res['sigma_err_fb']:.2g} fb  ({out['expected_events_10iab']:.4g} events in 10 ab^-1)")
        print(f"  {args.events} weighted events in {dt:.2f} s; unweighting efficiency {res['unweighting_efficiency']:.3f}")
    return 0


def _cross_section_rows(args, quiet: bool):
    from .generate.signal import cross_section_table

    return cross_section_table(n_events=args.xsec_events, seed=args.seed, n_threads=args.threads, progress=not quiet)


def cmd_figure(args) -> int:
    from . import plots

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.number == 3:
        paths = plots.figure3(out / "figure3")
    elif args.number == 4:
        rows = _cross_section_rows(args, args.quiet)
        from .paper import write_csv

        write_csv(out / "figure4.csv", rows)
        paths = plots.figure4(rows, out / "figure4") + [out / "figure4.csv"]
    elif args.number == 8:
        paths = plots.figure8(out / "figure8")
    else:
        raise ParameterError("number", args.number, "this command draws figures 3, 4 and 8 (figure 6: mcdh reproduce)")
    if not args.quiet:
        print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def _add_model(p: argparse.ArgumentParser, required: bool = True) -> None:
    from .physics.constants import ALPHA_EM

    p.add_argument("--benchmark", type=str.upper, choices=("B1", "B2", "B3"), default=None,
                   help="mass benchmark: B1 = m_A(1, 1/3, 1/6), B2 = m_A(1, 1/4, 1/6), B3 = m_A(1, 1/4, 1/8)")
    p.add_argument("--mA", type=float, required=required, default=None, help="dark photon mass in GeV")
    p.add_argument("--m-chi", type=float, default=None, help="override the benchmark dark-matter mass (GeV)")
    p.add_argument("--m-phi", type=float, default=None, help="override the benchmark dark Higgs mass (GeV)")
    p.add_argument("--eps", type=float, default=1e-4, help="kinetic mixing (default 1e-4); sigma scales as eps^2")
    p.add_argument("--g-chi", type=float, default=1.0, help="dark gauge coupling (default 1)")
    p.add_argument("--q-phi", type=float, default=1.0, help="U(1)' charge of the dark Higgs (default 1); sigma scales as q_phi^2")
    p.add_argument("--theta", type=float, default=1e-4, help="Higgs mixing angle (default 1e-4); does not change sigma")
    p.add_argument("--alpha-em", type=float, default=ALPHA_EM, help="fine-structure constant (default 1/137.035999); sigma scales as alpha_em")
    p.add_argument("--kinetic-mixing", choices=("photon", "hypercharge"), default="photon",
                   help="eps multiplies e J_em (photon, default) or mixes with hypercharge (x cos(theta_W) on the coupling)")
    p.add_argument("--width-model", choices=("winkler", "hipsofcobra"), default="winkler", help="hadronic phi widths")
    p.add_argument("--sqrt-s", type=_sqrt_s_arg, default=SQRT_S,
                   help="CMS energy in GeV, 'nominal' (10.58, default) or 'beams' (10.574 from the 7 x 4 GeV beams)")


def _pdg_arg(text: str) -> dict[str, int]:
    """name=id pairs, e.g. phi=9000005,chi=9000007,chibar=-9000007."""
    out = {}
    for item in text.split(","):
        if not item.strip():
            continue
        name, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError
            out[name.strip()] = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected name=PDG id pairs like phi=54,chi=52, got {item!r}") from None
    return out


def cmd_generate_signal(args) -> int:
    from .generate.signal import SignalStream
    from .io import file_format, open_writer

    file_format(args.output, "output")  # a bad suffix is reported before any work
    model = _model_from_args(args)
    t0 = time.perf_counter()
    stream = SignalStream(model, args.process, args.events, args.seed, frame=args.frame,
                          n_threads=args.threads, progress=not args.quiet)
    with open_writer(args.output, args.events, tree=args.process, pdg=args.pdg, seed=args.seed) as out:
        for chunk in stream:
            out.write(chunk)
        out.set_parameters(stream.parameters)
    dt = time.perf_counter() - t0
    p = stream.parameters
    assert p is not None  # set once the stream is exhausted
    summary = {"output": str(args.output), "process": args.process, "events": args.events, "frame": args.frame,
               "sigma_fb": p["sigma_fb"], "sigma_err_fb": p["sigma_err_fb"], "eps": model.eps, "theta": model.theta,
               "ctau_phi_mm": model.ctau_phi_mm, "seconds": dt}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{args.events} {args.process} events ({args.frame} frame) -> {args.output}")
        print(f"  sigma = {p['sigma_fb']:.6g} +- {p['sigma_err_fb']:.2g} fb at eps = {model.eps:g} "
              f"(sum of __weight__), c tau_phi = {model.ctau_phi_mm:.4g} mm at theta = {model.theta:g}")
        print(f"  {dt:.1f} s, {args.events / dt:.3g} events/s")
    return 0


def cmd_generate_background(args) -> int:
    from .generate.background import generate_background
    from .io import file_format, write_events
    from .physics.model import DarkSector

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
    ev = generate_background(args.channel, m_phi, m_chi, args.events, args.seed, n_b=args.nb, luminosity_fb=args.lumi_fb,
                             sqrt_s=args.sqrt_s, n_threads=args.threads, progress=not args.quiet)
    write_events(args.output, ev, tree=f"background_{args.channel}", pdg=args.pdg, seed=args.seed)
    dt = time.perf_counter() - t0
    if args.json:
        print(json.dumps({"output": str(args.output), "channel": args.channel, "events": len(ev), "m_phi": m_phi,
                          "m_chi": m_chi, "sigma_fb": ev.sigma_fb, "expected_events": ev.expected_events(args.lumi_fb),
                          "seconds": dt}))
    else:
        print(f"{len(ev)} background-{args.channel} events (m_phi = {m_phi:g}, m_chi = {m_chi:g} GeV) -> {args.output}")
        print(f"  {ev.expected_events(args.lumi_fb):.6g} expected events in {args.lumi_fb:g} fb^-1, {dt:.1f} s")
    return 0


def _analysis_model(args, signal):
    """The model behind the signal file: recorded by mcdh, or from the options (with the generation eps)."""
    from .physics.model import DarkSector

    if args.mA is None:
        model = signal.parameters.get("model")
        if not model:
            raise ParameterError("--mA", None, f"{args.file} records no model (not written by mcdh): give --benchmark "
                                 "and --mA (or --m-chi and --m-phi) and the --eps-gen the events were generated at")
        return DarkSector(**model)
    if args.eps_gen is None:
        raise ParameterError("--eps-gen", None, "give the eps the events were generated at (their weights scale as eps^2)")
    return _model_from_args(args).replace(eps=args.eps_gen)


def cmd_analyze(args) -> int:
    import numpy as np

    from .analysis.pipeline import AnalysisConfig
    from .io import read_events
    from .study import _finite, analyse_point

    signal = read_events(args.file, tree=args.tree, roles=args.roles)
    channel = args.channel or ("gammaphi" if "gamma" in signal.particles else "phi")
    model = _analysis_model(args, signal)
    background = read_events(args.background, tree=args.background_tree) if args.background else None
    a = analyse_point(model.benchmark or "custom", model.m_A, channel, model=model, signal=signal,
                      background=background, n_background=args.background_events, seed=args.seed,
                      config=AnalysisConfig(region=_region_arg(args.region), luminosity_fb=args.lumi_fb),
                      n_threads=args.threads if args.threads is not None else 1)
    row = a.table_row(args.eps, args.theta, args.nb)
    reach = a.eps_reach(args.theta, args.nb)
    band = a.theta_band(args.eps, [args.nb])[args.nb]
    res = {"file": str(args.file), "channel": channel, "events": len(signal), "model": model.as_dict(),
           "eps": args.eps, "theta": args.theta, "n_b": args.nb, **row.as_csv_dict(),
           "sel_sig_err": row.sel_sig_err, "excluded": bool(row.m2loglike >= 3.84),
           "eps95": reach.eps,
           "theta_band": [_finite(band.lower), _finite(band.upper)]}
    if args.output:
        import hist

        from .io.root import write_root

        e = a.binning.edges
        hists = {}
        sig, var = a.signal_hists([args.theta], with_variance=True)
        scale = (args.eps / model.eps) ** 2
        for name, values, variances in (("h_signal", sig[0] * scale, var[0] * scale**2),
                                        ("h_background", a.background_hist(args.nb), None)):
            h = hist.Hist(hist.axis.Variable(e, name="x", label=a.binning.label or "x"), storage=hist.storage.Weight())
            h.view().value = values
            h.view().variance = variances if variances is not None else np.zeros_like(values)
            hists[name] = h
        samples = {"signal": signal} if background is None else {"signal": signal, "background": background}
        write_root(args.output, samples, histograms=hists)
        res["output"] = str(args.output)
    if args.json:
        print(json.dumps(res, default=str))
        return 0
    name = "e+e- -> phi chi chibar" if channel == "phi" else "e+e- -> gamma phi chi chibar"
    print(f"{args.file}: {len(signal)} events, {name}, m_A = {model.m_A:g}, m_chi = {model.m_chi:g}, m_phi = {model.m_phi:g} GeV")
    print(f"  at eps = {args.eps:g}, theta = {args.theta:g}, N_b = {args.nb:g}, {args.lumi_fb / 1e3:g} ab^-1:")
    for k, v in row.as_csv_dict().items():
        if k != "mA":
            print(f"    {k:12s} {v:.5g}")
    print(f"    {'excluded':12s} {res['excluded']}")
    lo, hi = res["theta_band"]
    band_text = ("no theta excluded" if not band.excluded else
                 f"theta from {'below the range' if lo is None else f'{lo:.3g}'} to {'above the range' if hi is None else f'{hi:.3g}'}")
    print(f"  95% CL reach: eps = {reach.eps:.4g} at theta = {args.theta:g}; {band_text} at eps = {args.eps:g}")
    if args.output:
        print(f"  histograms and samples -> {args.output}")
    return 0


def cmd_scan(args) -> int:
    from .scan import ScanGrid, run_scan, task_name

    kw = {}
    if args.mA_list is not None:
        kw["masses"] = tuple(args.mA_list)
    grid = ScanGrid(benchmarks=tuple(args.benchmarks), channels=tuple(args.channels), thetas=tuple(args.theta_list),
                    eps=tuple(args.eps_list), n_b=tuple(args.nb_list), n_signal=args.events,
                    n_background=args.background_events, seed=args.seed, region=args.region, **kw)
    out = Path(args.out)
    t0 = time.perf_counter()
    try:
        rows = run_scan(grid, out, scheduler=args.scheduler, n_workers=args.workers, serial=args.serial,
                        progress=not args.quiet)
    except KeyboardInterrupt:
        done = sum((out / "points" / f"{task_name(t)}.json").exists() for t in grid.tasks())
        print(f"mcdh scan: interrupted; {done} of {len(grid.tasks())} points are saved in {out / 'points'}: "
              "run the same command again to resume", file=sys.stderr)
        return 130
    excluded = sum(r["excluded"] for r in rows)
    if not args.quiet:
        print(f"{len(grid.tasks())} points, {len(rows)} rows ({excluded} excluded at 95% CL) in "
              f"{time.perf_counter() - t0:.1f} s -> {out / 'results.csv'}", file=sys.stderr)
    return 0


def _add_generate_output(g: argparse.ArgumentParser) -> None:
    """Options shared by ``generate signal`` and ``generate background``."""
    g.add_argument("--events", type=int, required=True, help="weighted events")
    g.add_argument("--seed", type=int, default=1, help="random seed (default 1): the same seed gives the same file")
    g.add_argument("--output", required=True, help="output file: .root, .lhe, .lhe.gz or .hepmc")
    g.add_argument("--pdg", type=_pdg_arg, default=None,
                   help="PDG ids for LHE/HepMC, e.g. phi=54,chi=52,chibar=-52 (default: PDG MC numbering 54, 52, -52, 22)")
    g.add_argument("--threads", type=int, default=None, help="worker threads (default: all cores); results do not depend on it")
    g.add_argument("--json", action="store_true", help="print one JSON object")
    g.add_argument("--quiet", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mcdh",
        description="Monte Carlo for dark Higgs-strahlung at Belle II (arXiv:2508.09247).",
    )
    parser.add_argument("--version", action="version", version=f"mcdh {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("rambo", help="flat n-body phase space (RAMBO) and its volume")
    p.add_argument("--masses", type=_floats, required=True, help="final-state masses in GeV, comma separated, e.g. 0,1,2,2")
    _add_common(p, 100_000)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--progress", action="store_true", help="show a progress bar")
    p.set_defaults(func=cmd_rambo)

    p = sub.add_parser(
        "background",
        help="the paper's RAMBO mock background (section 3.2)",
        description="Flat phase space with masses (m_phi, m_chi, m_chi) for the phi channel or "
        "(0, m_phi, m_chi, m_chi) with the Belle II photon acceptance for gamma-phi, normalised "
        "to N_b events (gamma-phi: 0.22 N_b) in the luminosity.",
    )
    p.add_argument("--channel", choices=CHANNELS, required=True)
    p.add_argument("--m-phi", type=float, required=True, help="dark Higgs (displaced vertex) mass in GeV")
    p.add_argument("--m-chi", type=float, required=True, help="mass of each missing-momentum proxy in GeV")
    p.add_argument("--nb", type=float, default=1.0, help="expected phi-channel background events N_b (default 1)")
    p.add_argument("--lumi-fb", type=float, default=LUMINOSITY_FB, help="integrated luminosity in fb^-1 (default 1e4 = 10 ab^-1)")
    p.add_argument("--unweight", action="store_true", help="unweight (equal-weight events)")
    _add_common(p, 100_000)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--progress", action="store_true", help="show a progress bar")
    p.set_defaults(func=cmd_background)

    p = sub.add_parser(
        "xsec",
        help="signal cross section from the native generator",
        description="sigma(e+e- -> phi chi chibar) or sigma(e+e- -> gamma phi chi chibar) with the Belle II "
        "photon acceptance (E >= 0.25 GeV, 22-158 degrees in the CMS), exact tree-level matrix elements.",
    )
    p.add_argument("--process", choices=CHANNELS, required=True)
    _add_model(p)
    p.add_argument("--events", type=int, default=1_000_000, help="weighted events (default 1000000)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--threads", type=int, default=None, help="worker threads (default: all cores); results do not depend on it")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--progress", action="store_true", help="show a progress bar")
    p.set_defaults(func=cmd_xsec)

    p = sub.add_parser("figure", help="draw one of the paper's figures 3, 4 or 8")
    p.add_argument("number", type=int, choices=(3, 4, 8))
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--xsec-events", type=int, default=200_000, help="events per cross-section point (figure 4)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--threads", type=int, default=None, help="worker threads (default: all cores)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_figure)

    p = sub.add_parser(
        "table",
        help="Appendix B efficiency table (signal, window, background, -2 log L per m_A)",
        description="For each m_A: generate signal and mock background, apply the decay probability in the "
        "uninstrumented region, smear, optimise the window and report the selection (paper tables 3-6).",
    )
    p.add_argument("--benchmark", type=str.upper, choices=("B1", "B2", "B3"), default="B1", help="mass benchmark (default B1)")
    p.add_argument("--channel", choices=CHANNELS, required=True)
    p.add_argument("--nb", type=float, required=True, help="phi-channel background events N_b in 10 ab^-1 (gamma-phi: 0.22 N_b)")
    p.add_argument("--eps", type=float, default=1e-4, help="kinetic mixing (default 1e-4)")
    p.add_argument("--theta", type=float, default=1e-4, help="Higgs mixing (default 1e-4)")
    p.add_argument("--mA-list", type=_floats, default=None, help="comma-separated m_A in GeV (default 1.2,1.5,...,7.5)")
    p.add_argument("--events", type=int, default=100_000, help="weighted signal events per mass (default 100000)")
    p.add_argument("--background-events", type=int, default=100_000, help="weighted background events per mass (default 100000)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1, as mcdh reproduce)")
    p.add_argument("--threads", type=int, default=None, help="masses analysed in parallel (default: all cores); results do not depend on it")
    p.add_argument("--region", default="uninstrumented",
                   help="where phi must decay: prompt, uninstrumented (default, 2-9 mm), instrumented, invisible, all, "
                   "or r_in,r_out in mm")
    p.add_argument("--lumi-fb", type=float, default=LUMINOSITY_FB,
                   help="integrated luminosity in fb^-1 (default 1e4 = 10 ab^-1; N_b stays defined at 10 ab^-1)")
    p.add_argument("--csv", action="store_true", help="print CSV with a header (the documented columns)")
    p.add_argument("--progress", action="store_true", help="show a progress bar on stderr")
    p.set_defaults(func=cmd_table)

    p = sub.add_parser("reproduce", help="regenerate the paper's figures 3-12 and tables 3-6 into a folder")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--events", type=int, default=100_000, help="weighted signal events per analysis point (default 100000)")
    p.add_argument("--background-events", type=int, default=100_000, help="weighted background events per point (default 100000)")
    p.add_argument("--xsec-events", type=int, default=200_000, help="events per cross-section point of figure 4 (default 200000)")
    p.add_argument("--figure-events", type=int, default=200_000, help="events of the samples drawn in figures 6, 7, 9 (default 200000)")
    p.add_argument("--benchmarks", type=lambda t: [x.strip().upper() for x in t.split(",") if x.strip()], default=["B1", "B2", "B3"],
                   help="comma-separated benchmarks (default B1,B2,B3)")
    p.add_argument("--mA-list", type=_floats, default=None, help="comma-separated m_A in GeV (default 1.2,1.5,...,7.5)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1); the same seed gives identical numbers")
    p.add_argument("--threads", type=int, default=None, help="worker threads (default: all cores); results do not depend on it")
    p.add_argument("--quiet", action="store_true", help="no progress bars or summary")
    p.set_defaults(func=cmd_reproduce)

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
    g.add_argument("--process", choices=CHANNELS, required=True)
    _add_model(g)
    g.add_argument("--frame", choices=("cms", "lab"), default="cms", help="momenta in the CMS (default) or Belle II lab frame")
    _add_generate_output(g)
    g.set_defaults(func=cmd_generate_signal)
    g = gsub.add_parser("background", help="the paper's RAMBO mock background (section 3.2)")
    g.add_argument("--channel", choices=CHANNELS, required=True)
    g.add_argument("--benchmark", type=str.upper, choices=("B1", "B2", "B3"), default=None, help="take m_phi, m_chi from a benchmark")
    g.add_argument("--mA", type=float, default=None, help="dark photon mass of the benchmark (GeV)")
    g.add_argument("--m-phi", type=float, default=None, help="dark Higgs mass (GeV), instead of a benchmark")
    g.add_argument("--m-chi", type=float, default=None, help="dark matter mass (GeV), instead of a benchmark")
    g.add_argument("--nb", type=float, default=1.0, help="phi-channel background events N_b in the luminosity (default 1)")
    g.add_argument("--lumi-fb", type=float, default=LUMINOSITY_FB, help="luminosity in fb^-1 (default 1e4 = 10 ab^-1)")
    g.add_argument("--sqrt-s", type=_sqrt_s_arg, default=SQRT_S, help="CMS energy in GeV (default 10.58)")
    _add_generate_output(g)
    g.set_defaults(func=cmd_generate_background)

    p = sub.add_parser(
        "analyze",
        help="analyse a signal file (ROOT, LHE or HepMC3; mcdh's or MadGraph's): selection, -2 log L, reach",
        description="Reads signal events (and a background file, or generates the mock background), applies the "
        "displaced-vertex probability, the smearing and the optimised window of the paper, and prints the "
        "Appendix B quantities, the 95%% CL eps reach and the sensitive theta band. Files not written by mcdh "
        "(e.g. MadGraph LHE) need the model: --benchmark/--mA (or --m-chi/--m-phi) and --eps-gen.",
    )
    p.add_argument("file", help="signal events: .root, .lhe, .lhe.gz or .hepmc")
    p.add_argument("--tree", default=None, help="tree in a ROOT file (default: its only tree)")
    p.add_argument("--roles", type=_pdg_arg, default=None,
                   help="PDG id of each slot for LHE/HepMC from other generators, e.g. gamma=22,phi=9000005,chi=9000007,chibar=-9000007")
    p.add_argument("--channel", choices=CHANNELS, default=None, help="default: gammaphi if the events have a photon")
    p.add_argument("--background", default=None, help="background events file (default: generate the mock background)")
    p.add_argument("--background-tree", default=None, help="tree in the background ROOT file")
    p.add_argument("--background-events", type=int, default=100_000, help="mock background events if generated (default 100000)")
    p.add_argument("--nb", type=float, default=1.0, help="phi-channel background events N_b in 10 ab^-1 (default 1)")
    p.add_argument("--eps-gen", type=float, default=None, help="eps the imported events were generated at (with --mA)")
    _add_model(p, required=False)
    p.add_argument("--region", default="uninstrumented", help="decay region: prompt, uninstrumented (default), ..., or r_in,r_out in mm")
    p.add_argument("--lumi-fb", type=float, default=LUMINOSITY_FB, help="luminosity in fb^-1 (default 1e4 = 10 ab^-1)")
    p.add_argument("--seed", type=int, default=1, help="seed of the smearing and the mock background (default 1)")
    p.add_argument("--threads", type=int, default=None, help="worker threads for the background (default: all cores)")
    p.add_argument("--output", default=None, help="also write the samples and the signal/background histograms (TH1) to this ROOT file")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser(
        "scan",
        help="parameter scan (benchmark x m_A x channel x theta x eps x N_b) on dask, resumable",
        description="One dask task per (benchmark, m_A, channel); theta, eps and N_b are evaluated inside it. "
        "Finished points are stored in OUT/points as they complete: rerun the same command after a crash or "
        "Ctrl-C to resume. Results: OUT/results.csv and results.json. Seeds derive from --seed per point, so the "
        "results do not depend on the number of workers.",
    )
    p.add_argument("--out", required=True, help="output folder (holds the scan's state)")
    p.add_argument("--benchmarks", type=lambda t: [x.strip().upper() for x in t.split(",") if x.strip()], default=["B1"],
                   help="comma-separated benchmarks (default B1)")
    p.add_argument("--mA-list", type=_floats, default=None, help="comma-separated m_A in GeV (default 1.2,1.5,...,7.5)")
    p.add_argument("--channels", type=lambda t: [x.strip() for x in t.split(",") if x.strip()], default=list(CHANNELS),
                   help="comma-separated channels (default phi,gammaphi)")
    p.add_argument("--theta-list", type=_floats, default=[1e-4], help="comma-separated theta values (default 1e-4)")
    p.add_argument("--eps-list", type=_floats, default=[1e-4], help="comma-separated eps values (default 1e-4)")
    p.add_argument("--nb-list", type=_floats, default=[1.0, 1e4], help="comma-separated N_b values (default 1,1e4)")
    p.add_argument("--events", type=int, default=20_000, help="weighted signal events per point (default 20000)")
    p.add_argument("--background-events", type=int, default=20_000, help="weighted background events per point (default 20000)")
    p.add_argument("--seed", type=int, default=1, help="root seed (default 1)")
    p.add_argument("--region", default="uninstrumented", help="decay region (default uninstrumented, 2-9 mm)")
    p.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes (default 2)")
    p.add_argument("--scheduler", default=None, help="address of a running dask scheduler, e.g. tcp://host:8786")
    p.add_argument("--serial", action="store_true", help="run in this process without dask")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    p.set_defaults(func=cmd_scan)
    return parser


class _Interrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) or a batch system's SIGTERM: unwinds like Ctrl-C."""

    def __init__(self, signum: int):
        super().__init__(f"signal {signum}")
        self.signum = signum


def _interrupt(signum, frame):  # pragma: no cover - exercised in a subprocess test
    raise _Interrupted(signum)


def _redeliver_swallowed(unraisable) -> None:
    """A signal that lands while C code runs a Python callback (numba compiling through llvmlite's
    ctypes callbacks) raises there, where the exception is printed and dropped: the run would go on
    to the end. Send the same signal again shortly, until it lands in ordinary Python code."""
    import os
    import threading

    exc = unraisable.exc_value
    if isinstance(exc, _Interrupted):
        timer = threading.Timer(0.05, os.kill, (os.getpid(), exc.signum))
        timer.daemon = True
        timer.start()
        return
    sys.__unraisablehook__(unraisable)


def main(argv: list[str] | None = None) -> int:
    import signal
    import threading

    parser = build_parser()
    args = parser.parse_args(argv)
    previous: dict = {}
    hook = sys.unraisablehook
    if threading.current_thread() is threading.main_thread():
        # Ctrl-C and SIGTERM unwind: partial files are removed, finished scan points kept
        for sig in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(sig) is not signal.SIG_IGN:  # a background job keeps ignoring Ctrl-C
                previous[sig] = signal.signal(sig, _interrupt)
        sys.unraisablehook = _redeliver_swallowed
    try:
        return args.func(args)
    except (ParameterError, FileFormatError) as exc:
        print(f"mcdh {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except GenerationError as exc:
        print(f"mcdh {args.command}: generation failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"mcdh {args.command}: interrupted", file=sys.stderr)
        return 130
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sys.unraisablehook = hook


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
