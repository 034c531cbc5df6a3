"""Event files: ROOT ntuples (uproot), LHE (export; import with pylhe) and HepMC3 (pyhepmc).

:func:`open_writer` and :func:`read_events` pick the format from the file
suffix: ``.root``, ``.lhe`` / ``.lhe.gz``, ``.hepmc`` / ``.hepmc3``.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import ParameterError
from ..events import Events

FORMATS = {".root": "root", ".lhe": "lhe", ".lhe.gz": "lhe", ".hepmc": "hepmc", ".hepmc3": "hepmc"}


def file_format(path: str | os.PathLike, name: str = "path") -> str:
    """``"root"``, ``"lhe"`` or ``"hepmc"`` from the suffix of ``path`` (``name``: the parameter, for errors)."""
    lower = Path(path).name.lower()
    for suffix in sorted(FORMATS, key=len, reverse=True):
        if lower.endswith(suffix):
            return FORMATS[suffix]
    raise ParameterError(name, str(path), f"must end in one of {', '.join(FORMATS)} (the suffix picks the format)")


def open_writer(path, n_events: int, *, tree: str | None = None, pdg: dict | None = None, seed: int = 0):
    """A streaming writer for ``path`` (use as a context manager; ``.write(events)`` per chunk).

    ``n_events`` is the total to be written (LHE and HepMC normalise their
    cross-section records with it); ``tree`` names the ROOT tree; ``pdg``
    overrides PDG ids; ``seed`` drives the sampled phi decays (ROOT: MC-truth
    vertices; LHE: decay lengths; HepMC3: vertices and daughters; the same
    seed gives the same decay lengths in every format).
    """
    fmt = file_format(path)
    if fmt == "root":
        from .root import RootWriter

        return RootWriter(path, tree=tree, seed=seed)
    if fmt == "lhe":
        from .lhe import LHEWriter

        return LHEWriter(path, n_events, pdg=pdg, seed=seed)
    from .hepmc import HepMCWriter

    return HepMCWriter(path, n_events, pdg=pdg, seed=seed)


def write_events(path, events: Events, **kwargs) -> Path:
    """Write one sample to ``path`` in the format of its suffix."""
    with open_writer(path, len(events), **kwargs) as out:
        out.write(events)
    return Path(path)


def read_events(path, *, tree: str | None = None, roles: dict | None = None) -> Events:
    """Read a sample from a ROOT, LHE or HepMC3 file (format from the suffix)."""
    fmt = file_format(path)
    if fmt == "root":
        from .root import read_root

        return read_root(path, tree)
    if fmt == "lhe":
        from .lhe import read_lhe

        return read_lhe(path, roles)
    from .hepmc import read_hepmc

    return read_hepmc(path, roles)


__all__ = ["FORMATS", "file_format", "open_writer", "read_events", "write_events"]
