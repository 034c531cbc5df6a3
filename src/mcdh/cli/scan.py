"""mcdh scan: a resumable parameter scan on dask."""
from __future__ import annotations

import sys
import time
from pathlib import Path

from ..channels import CHANNELS
from . import _options as opt


def register(sub) -> None:
    """Add ``mcdh scan`` and its options to the subcommands ``sub``."""
    p = sub.add_parser(
        "scan",
        help="parameter scan (benchmark x m_A x channel x theta x eps x N_b) on dask, resumable",
        description="One dask task per (benchmark, m_A, channel); theta, eps and N_b are evaluated inside it. "
        "Finished points are stored in OUT/points as they complete: rerun the same command after a crash or "
        "Ctrl-C to resume. Results: OUT/results.csv and results.json. Seeds derive from --seed per point, so the "
        "results do not depend on the number of workers.",
    )
    p.add_argument("--out", required=True, help="output folder (holds the scan's state)")
    p.add_argument("--benchmarks", type=lambda t: [x.upper() for x in opt.names(t)], default=["B1"],
                   help="comma-separated benchmarks (default B1)")
    p.add_argument("--mA-list", type=opt.floats, default=None, help="comma-separated m_A in GeV (default 1.2,1.5,...,7.5)")
    p.add_argument("--channels", type=opt.names, default=list(CHANNELS), help="comma-separated channels (default phi,gammaphi)")
    p.add_argument("--mphi-ratio-list", type=opt.floats, default=None,
                   help="comma-separated m_phi / m_A, replacing the benchmark's: an axis of tasks (mass combinations "
                   "the model does not allow are left out and counted)")
    p.add_argument("--mchi-ratio-list", type=opt.floats, default=None,
                   help="comma-separated m_chi / m_A, replacing the benchmark's: an axis of tasks")
    p.add_argument("--theta-list", type=opt.floats, default=[1e-4], help="comma-separated theta values (default 1e-4)")
    p.add_argument("--eps-list", type=opt.floats, default=[1e-4], help="comma-separated eps values (default 1e-4)")
    p.add_argument("--nb-list", type=opt.floats, default=[1.0, 1e4],
                   help="comma-separated N_b values, phi-channel background events at 10 ab^-1 (default 1,1e4)")
    p.add_argument("--events", type=int, default=20_000, help="weighted signal events per point (default 20000)")
    p.add_argument("--background-events", type=int, default=20_000, help="weighted background events per point (default 20000)")
    opt.add_seed(p, " (root of the per-point seeds)")
    opt.add_region(p)
    opt.add_lumi(p)
    opt.add_statistic(p)
    p.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes (default 2)")
    p.add_argument("--scheduler", default=None, help="address of a running dask scheduler, e.g. tcp://host:8786")
    p.add_argument("--serial", action="store_true", help="run in this process without dask")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    p.set_defaults(func=run)


def run(args) -> int:
    """Run ``mcdh scan`` with the parsed ``args``; returns the exit status."""
    from ..errors import ParameterError
    from ..scan import ClusterLost, ScanGrid, TasksFailed, run_scan, saved_points

    kw: dict = {}
    if args.mA_list is not None:
        kw["masses"] = tuple(args.mA_list)
    for option, field in (("mphi_ratio_list", "m_phi_ratio"), ("mchi_ratio_list", "m_chi_ratio")):
        if getattr(args, option) is not None:
            kw[field] = tuple(getattr(args, option))
    grid = ScanGrid(benchmarks=tuple(args.benchmarks), channels=tuple(args.channels), thetas=tuple(args.theta_list),
                    eps=tuple(args.eps_list), n_b=tuple(args.nb_list), n_signal=args.events,
                    n_background=args.background_events, seed=args.seed, region=args.region,
                    luminosity_fb=args.lumi_fb, **opt.reach_args(args), **kw)
    out = Path(args.out)
    outside = grid.outside_model()
    if outside and not args.quiet:
        print(f"mcdh scan: {len(outside)} of {len(outside) + len(grid.tasks())} mass combinations are outside the "
              "model (m_A > 2 m_chi + m_phi, m_chi > m_phi, m_A + m_phi < sqrt s) and left out", file=sys.stderr)
    if not grid.tasks():
        raise ParameterError("mA_list", list(grid.masses), "gives no point inside the model with these mass ratios")
    t0 = time.perf_counter()
    try:
        rows = run_scan(grid, out, scheduler=args.scheduler, n_workers=args.workers, serial=args.serial,
                        progress=not args.quiet)
    except TasksFailed as exc:
        print(f"mcdh scan: error: {exc}; the other {saved_points(grid, out)} of {len(grid.tasks())} points are saved "
              f"in {out / 'points'} (a rerun recomputes only the failed ones)", file=sys.stderr)
        return 1
    except ClusterLost as exc:
        print(f"mcdh scan: error: {exc}; {saved_points(grid, out)} of {len(grid.tasks())} points are saved in "
              f"{out / 'points'}: run the same command again to resume", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        done = saved_points(grid, out)
        print(f"mcdh scan: interrupted; {done} of {len(grid.tasks())} points are saved in {out / 'points'}: "
              "run the same command again to resume", file=sys.stderr)
        return 130
    excluded = sum(r.excluded for r in rows)
    blind = sum(r.eps95 is None for r in rows)
    if not args.quiet:
        print(f"{len(grid.tasks())} points, {len(rows)} rows ({excluded} excluded at 95% CL, {blind} without "
              f"sensitivity in eps) in {time.perf_counter() - t0:.1f} s -> {out / 'results.csv'}", file=sys.stderr)
    return 0
