"""mcdh reweight: lifetime weights for a full-simulation ntuple (one sample, any theta or c tau)."""
from __future__ import annotations

from . import _options as opt


def register(sub) -> None:
    """Add ``mcdh reweight`` and its options to the subcommands ``sub``."""
    p = sub.add_parser(
        "reweight",
        help="lifetime weights of a simulated ntuple for a list of theta or c tau (basf2 MC-truth branches by default)",
        description="Reads the phi's MC-truth four-momentum and production and decay vertices chunk by chunk and "
        "writes one weight column per target (exponential decay at that c tau) into a new ROOT file: a tree of the "
        "same length to attach as a friend. The source is how the sample's decay lengths were made: exponential at "
        "c tau_0 (--ctau0 or --theta0) or flat in [L_min, L_max] (--flat-range; basf2's GeneratedVertexDisplacer "
        "'flat'). Exact for the lengths the source covers.",
    )
    p.add_argument("ntuple", help="ROOT file with a tree of the phi's MC truth")
    p.add_argument("--output", default=None, help="the weights' ROOT file (default: NTUPLE with _weights.root)")
    p.add_argument("--tree", default=None, help="the tree (default: the file's only tree)")
    t = p.add_argument_group("targets (one of)")
    t.add_argument("--theta-list", type=opt.floats, default=None, help="Higgs mixing angles, e.g. 1e-5,3e-5,1e-4 (needs the "
                   "model: --benchmark/--mA ...)")
    t.add_argument("--ctau-list", type=opt.floats, default=None, help="c tau values in the vertex branches' unit")
    s = p.add_argument_group("the source")
    s.add_argument("--source", default="exponential", metavar="exponential|flat",
                   help="how the sample's decay lengths were generated (default exponential)")
    s.add_argument("--ctau0", type=float, default=None, help="the sample's c tau (exponential source)")
    s.add_argument("--theta0", type=float, default=None, help="the sample's theta (exponential source; needs the model)")
    s.add_argument("--flat-range", type=opt.floats, default=None, help="L_min,L_max of a flat source, e.g. 0,300")
    b = p.add_argument_group("the branches")
    b.add_argument("--length-unit", choices=("cm", "mm"), default="cm",
                   help="unit of the vertex branches (default cm, basf2's; mcdh's ntuples: mm)")
    b.add_argument("--branches", type=_roles, default=None,
                   help="branch names by role, e.g. E=phi_E,px=phi_px,py=phi_py,pz=phi_pz,x=phi_vx,y=phi_vy,z=phi_vz "
                   "(default basf2's mcE, mcPX.., mcDecayVertexX.., mcProductionVertexX..; x0,y0,z0 optional)")
    p.add_argument("--double", action="store_true", help="store the weights as 64-bit floats (default 32-bit: relative "
                   "rounding 6e-8, half the file)")
    g = p.add_argument_group("the model, to turn theta into c tau")
    opt.add_model(g, required=False)
    opt.add_json(p)
    opt.add_quiet(p)
    p.set_defaults(func=run)


def run(args) -> int:
    """Run ``mcdh reweight`` with the parsed ``args``; returns the exit status."""
    from pathlib import Path

    from ..errors import ParameterError
    from ..generate.decays import displaced_ctau_mm
    from ..reweight import LifetimeSource, column_name, reweight_ntuple

    per_mm = 0.1 if args.length_unit == "cm" else 1.0
    model = opt.model_from_args(args) if args.mA is not None else None

    def ctau_of(theta: float, flag: str) -> float:
        if model is None:
            raise ParameterError(flag, theta, "needs the model to give c tau (--benchmark and --mA, and the couplings)")
        return displaced_ctau_mm(model.replace(theta=theta)) * per_mm

    if (args.theta_list is None) == (args.ctau_list is None):
        raise ParameterError("--theta-list/--ctau-list", None, "give the targets as --theta-list or as --ctau-list "
                             "(one of them)")
    targets = ({column_name("theta", x): ctau_of(x, "--theta-list") for x in args.theta_list}
               if args.theta_list is not None else {column_name("ctau", x): x for x in args.ctau_list})
    ctau0 = args.ctau0 if args.theta0 is None else ctau_of(args.theta0, "--theta0")
    flat = tuple(args.flat_range) if args.flat_range is not None else None
    out = Path(args.output) if args.output else Path(str(args.ntuple).removesuffix(".root") + "_weights.root")
    source = LifetimeSource(args.source, ctau0, flat)
    summary = reweight_ntuple(args.ntuple, out, targets, source, tree=args.tree, branches=args.branches,
                              double=args.double, progress=not args.quiet)
    if args.json:
        print(opt.dumps(summary.as_dict() | {"ctau": targets, "length_unit": args.length_unit}))
    else:
        print(f"{summary.events} events of {args.ntuple} ({summary.tree}) -> {out}: {len(targets)} weight columns")
        for k, v in summary.sum_of_weights.items():
            print(f"  {k}: c tau = {targets[k]:.6g} {args.length_unit}, mean weight {v / max(summary.events, 1):.6g}, "
                  f"effective events {summary.effective_events[k]:.4g}")
        for note in summary.notes:
            print(f"  note: {note}")
    return 0


def _roles(text: str) -> dict[str, str]:
    import argparse

    out = {}
    for part in opt.names(text):
        role, sep, name = part.partition("=")
        if not sep or not name.strip():
            raise argparse.ArgumentTypeError(f"{part!r} is not ROLE=BRANCH")
        out[role.strip()] = name.strip()
    return out
