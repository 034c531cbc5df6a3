"""mcdh hepdata: figure 11 and tables 3-6 of a mcdh reproduce run as a HEPData submission."""
from __future__ import annotations


def register(sub) -> None:
    """Add ``mcdh hepdata`` and its options to the subcommands ``sub``."""
    p = sub.add_parser(
        "hepdata", help="figure 11's reach curves and tables 3-6 of a mcdh reproduce folder as a HEPData submission",
        description="Reads RESULTS/summary.json (mcdh reproduce's) and writes submission.yaml and one YAML per table "
        "into --out, validated by hepdata-validator, and the upload OUT.tar.gz beside it. Needs the publish extra "
        "(pip install 'mcdh[publish]').")
    p.add_argument("results", help="the folder mcdh reproduce wrote (or its summary.json)")
    p.add_argument("--out", required=True, help="the submission's folder (new, or an earlier submission's)")
    p.add_argument("--quiet", action="store_true", help="print nothing")
    p.set_defaults(func=run)


def run(args) -> int:
    """Run ``mcdh hepdata`` with the parsed ``args``; returns the exit status."""
    from ..errors import require
    from ..paper import Reproduction
    from ..publish import hepdata_submission

    require("hepdata_lib", "publish", "mcdh hepdata")
    files = hepdata_submission(Reproduction.read(args.results), args.out)
    if not args.quiet:
        print(f"HEPData submission ({len([f for f in files if f.suffix == '.yaml']) - 1} tables, validated) -> {args.out}")
    return 0
