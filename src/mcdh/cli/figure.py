"""mcdh figure: one of the paper's figures that need no analysis points (3, 4, 8)."""
from __future__ import annotations

from pathlib import Path

from ..errors import ParameterError
from . import _options as opt


def register(sub) -> None:
    p = sub.add_parser("figure", help="draw one of the paper's figures 3, 4 or 8")
    p.add_argument("number", type=int, choices=(3, 4, 8))
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--xsec-events", type=int, default=200_000, help="events per cross-section point (figure 4)")
    opt.add_seed(p)
    opt.add_threads(p)
    opt.add_quiet(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from .. import plots
    from ..generate.signal import cross_section_table
    from ..paper import write_csv

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.number == 3:
        paths = plots.figure3(out / "figure3")
    elif args.number == 4:
        rows = cross_section_table(n_events=args.xsec_events, seed=args.seed, n_threads=args.threads,
                                   progress=not args.quiet)
        write_csv(out / "figure4.csv", rows)
        paths = plots.figure4(rows, out / "figure4") + [out / "figure4.csv"]
    elif args.number == 8:
        paths = plots.figure8(out / "figure8")
    else:  # pragma: no cover - argparse's choices
        raise ParameterError("number", args.number, "this command draws figures 3, 4 and 8 (the others: mcdh reproduce)")
    if not args.quiet:
        print("wrote " + ", ".join(str(p) for p in paths))
    return 0
