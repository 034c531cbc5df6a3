"""mcdh basf2-config: the basf2 steering fragment (and EvtGen decay file) for an mcdh LHE file."""
from __future__ import annotations

import sys
from pathlib import Path

from . import _options as opt


def register(sub) -> None:
    """Add ``mcdh basf2-config`` and its options to the subcommands ``sub``."""
    p = sub.add_parser(
        "basf2-config",
        help="basf2 steering fragment (particles, LHEInput settings, boost, phi decays and displacement) for an LHE file",
        description="Writes a basf2 steering fragment that simulates an mcdh LHE file as it is meant: the dark Higgs "
        "and chi registered (lifetime 0), LHEInput with nInitialParticles = 2, wrongSignPz = False and useWeights = "
        "True, BoostMCParticles only for CMS files, the phi decayed by EvtGen with the model's branching ratios (a "
        "decay file written next to the fragment) and displaced by GeneratedVertexDisplacer with the model's c tau in "
        "cm. basf2 reads plain .lhe only (gunzip a .lhe.gz first).",
    )
    p.add_argument("file", help="an LHE file written by mcdh generate signal (plain .lhe)")
    p.add_argument("--output", default=None,
                   help="write the fragment to this file (default: standard output; the decay file goes next to it)")
    p.add_argument("--decay-file", default=None,
                   help="the EvtGen decay file to write (default: next to --output, else next to FILE: *_phi.dec)")
    p.add_argument("--lifetime-option", default="exponential", metavar="exponential|flat",
                   help="exponential (default): decays at the model's c tau; flat: decay lengths uniform in "
                   "[0, --flat-max-cm] cm, to be weighted to any c tau (mcdh reweight --source flat)")
    p.add_argument("--flat-max-cm", type=float, default=300.0, help="L_max of the flat option in cm (default 300)")
    p.add_argument("--keep-weighted", action="store_true",
                   help="accept a weighted file (basf2 sets every event weight to 1: take the weights back from mcdh's "
                   "ntuple of the same events); by default a weighted file is refused (mcdh generate --unweight)")
    opt.add_lumi(p)
    g = p.add_argument_group("the model, for a file that does not record it (CMS frame and mcdh's PDG ids assumed)")
    opt.add_model(g, required=False)
    p.set_defaults(func=run)


def run(args) -> int:
    """Run ``mcdh basf2-config`` with the parsed ``args``; returns the exit status."""
    from .._atomic import write_text
    from ..io.basf2 import basf2_config_for

    model = opt.model_from_args(args) if args.mA is not None else None
    out = Path(args.output) if args.output else None
    if args.decay_file is not None:
        decay = Path(args.decay_file)
    else:
        base = out if out is not None else Path(args.file)
        decay = base.with_name(base.name.removesuffix(base.suffix) + "_phi.dec")
    steering, dec = basf2_config_for(args.file, model=model, luminosity_fb=args.lumi_fb,
                                     lifetime_option=args.lifetime_option, flat_max_cm=args.flat_max_cm,
                                     decay_file=decay, keep_weighted=args.keep_weighted)
    write_text(decay, dec)
    if out is None:
        sys.stdout.write(steering)
    else:
        write_text(out, steering)
        print(f"basf2 steering for {args.file} -> {out} (EvtGen decay file {decay})")
    return 0
