"""mcdh pythia-config: the Pythia 8 settings file for an mcdh LHE file."""
from __future__ import annotations

import sys


def register(sub) -> None:
    """Add ``mcdh pythia-config`` and its options to the subcommands ``sub``."""
    p = sub.add_parser(
        "pythia-config",
        help="Pythia 8 settings (dark particles, phi decays, beams) for an mcdh LHE file",
        description="Writes the settings that let Pythia 8 (Pythia.readFile) shower and decay an mcdh LHE file, "
        "CMS or lab frame: the dark Higgs with the model's mass, c tau and branching ratios, decaying at the "
        "file's VTIMUP length; chi stable and invisible; for lab-frame files LesHouches:matchInOut = off, which "
        "keeps the crossing-angle beams. Pythia recomputes (and switches off) the decays of PDG ids 54-59, "
        "mcdh's default id for the phi included: generate the file with a free id, mcdh generate signal ... "
        "--pdg phi=9000005.",
    )
    p.add_argument("file", help="an LHE file written by mcdh generate signal (.lhe or .lhe.gz)")
    p.add_argument("--output", default=None, help="write the settings to this file (default: standard output)")
    p.set_defaults(func=run)


def run(args) -> int:
    """Run ``mcdh pythia-config`` with the parsed ``args``; returns the exit status."""
    from .._atomic import write_text
    from ..io.pythia import pythia_settings_for

    text = pythia_settings_for(args.file)
    if args.output is None:
        sys.stdout.write(text)
    else:
        write_text(args.output, text)
        print(f"Pythia 8 settings for {args.file} -> {args.output}")
    return 0
