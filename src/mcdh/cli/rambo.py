"""mcdh rambo: flat n-body phase space and its volume."""
from __future__ import annotations

import math
import time

from ..physics.constants import SQRT_S
from . import _options as opt


def register(sub) -> None:
    """Add ``mcdh rambo`` and its options to the subcommands ``sub``."""
    p = sub.add_parser("rambo", help="flat n-body phase space (RAMBO) and its volume")
    p.add_argument("--masses", type=opt.floats, required=True, help="final-state masses in GeV, comma separated, e.g. 0,1,2,2")
    p.add_argument("--events", type=int, default=100_000, help="number of events (default 100000)")
    p.add_argument("--sqrt-s", type=float, default=SQRT_S, help=f"centre-of-mass energy in GeV (default {SQRT_S})")
    opt.add_run_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    """Run ``mcdh rambo`` with the parsed ``args``; returns the exit status."""
    from ..generate.phasespace import lips_factor, massless_volume, rambo

    t0 = time.perf_counter()
    p, w = rambo(args.sqrt_s, args.masses, args.events, args.seed, n_threads=args.threads, progress=not args.quiet)
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
        print(opt.dumps(out))
    else:
        print(f"RAMBO 2->{n} at sqrt(s) = {args.sqrt_s} GeV, masses {args.masses} GeV, {args.events} events")
        print(f"  Phi_{n} = {out['phase_space_volume']:.6g} +- {out['phase_space_volume_err']:.2g} GeV^{2 * n - 4}")
        if out["massless_closed_form"] is not None:
            print(f"  massless closed form {out['massless_closed_form']:.6g}")
        print(f"  {out['ns_per_event']:.1f} ns/event")
    return 0
