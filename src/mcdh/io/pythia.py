"""Pythia 8 settings for mcdh's LHE files: the dark particles, the phi decays, the beams.

Pythia 8 reads an LHE file with ``Beams:frameType = 4``; what it needs from
us is the particle data of the dark sector (it knows none of it) and, for
lab-frame files, to keep the incoming beams as the file gives them:

* ``54`` (dark Higgs phi): spin 0, neutral, mass m_phi, c tau_phi in mm; its
  decay channels are the model's (:func:`~mcdh.generate.decays.decay_table`:
  e+e-, mu+mu-, pi+pi-, pi0 pi0, K+K-, K0 K0bar). Each event's decay length
  is the file's VTIMUP (``LesHouches:setLifetime = 1``, Pythia's default),
  the length mcdh sampled, so Pythia puts the vertex where mcdh's HepMC3 and
  ROOT files put it.
* ``52`` (chi, Dirac dark matter): stable and invisible.
* Lab-frame files hold the SuperKEKB beams with their crossing angle.
  Pythia by default rebuilds the incoming particles along z from the final
  state (``LesHouches:matchInOut = on``), which cannot work for a boosted
  final state with transverse momentum ("setting mass failed");
  ``LesHouches:matchInOut = off`` keeps the file's beams. Pythia's event
  check compares the final state with collinear beams of the ``<init>``
  energies, against which the 83 mrad crossing angle is a 0.46 GeV
  transverse imbalance: the lab settings raise ``Check:epTolErr`` to 0.1 for
  that (the file itself conserves four-momentum to rounding).
* No parton showers or multiparton interactions (a purely leptonic initial
  state; mcdh's photon is the hard ISR photon of the matrix element);
  HadronLevel on, so the phi decays and its daughters decay as usual.

Pythia computes the widths of its own resonances at initialisation and, for
PDG ids 54-59 (its dark-matter mediators) and the Higgs bosons, switches the
decays given here off. A phi written with such an id would leave Pythia
undecayed, so :func:`pythia_settings` refuses it: generate the file with a
free id, e.g. ``mcdh generate signal ... --pdg phi=9000005``.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .._version import __version__
from ..errors import FileFormatError, ParameterError
from ..generate.decays import decay_table, displaced_ctau_mm
from ..physics.model import DarkSector
from ._writer import PDG_IDS

PYTHIA_RESONANCES = frozenset({25, 35, 36, 37, 54, 55, 56, 57, 58, 59})
"""PDG ids whose widths Pythia 8 computes itself (its Higgs bosons and dark-matter mediators)."""


def pythia_settings(model: DarkSector, *, lhe: str | os.PathLike | None = None, frame: str = "cms",
                    pdg: dict[str, int] | None = None) -> str:
    """The text of a Pythia 8 settings file (``Pythia.readFile``) for events of ``model``.

    Parameters
    ----------
    model : DarkSector
        Masses, c tau_phi and branching ratios.
    lhe : path, optional
        The LHE file (``Beams:LHEF``); without it the caller sets the beams.
    frame : {"cms", "lab"}
        The file's frame (lab: keep the crossing-angle beams).
    pdg : dict, optional
        The PDG ids the file uses (default :data:`~mcdh.io._writer.PDG_IDS`).
    """
    if frame not in ("cms", "lab"):
        raise ParameterError("frame", frame, "must be 'cms' or 'lab'")
    ids = dict(PDG_IDS) | dict(pdg or {})
    phi, chi = int(ids["phi"]), abs(int(ids["chi"]))
    if abs(phi) in PYTHIA_RESONANCES:
        raise ParameterError("pdg", {"phi": phi}, "is an id whose decays Pythia 8 recomputes (and switches off for the "
                             "phi): write the LHE file with a free id, e.g. mcdh generate ... --pdg phi=9000005")
    ctau = displaced_ctau_mm(model)
    lines = [
        f"! Pythia 8 settings written by mcdh {__version__} for e+e- -> (gamma) phi chi chibar",
        f"! model: {model}",
        f"! c tau_phi = {ctau:.10g} mm; frame of the events: {frame}",
        "Beams:frameType = 4",
    ]
    if lhe is not None:
        if any(ch in str(lhe) for ch in "\n\r\x00"):
            raise ParameterError("lhe", str(lhe), "contains a line break: it would end the settings line and start "
                                 "another (rename the file)")
        lines.append(f"Beams:LHEF = {Path(lhe)}")
    if frame == "lab":
        lines += ["LesHouches:matchInOut = off   ! keep the file's crossing-angle beams",
                  "Check:epTolErr = 0.1          ! the crossing angle against Pythia's collinear beams",
                  "Check:epTolWarn = 0.1"]
    lines += [
        "PartonLevel:ISR = off          ! leptonic initial state: no showers, no MPI",
        "PartonLevel:FSR = off",
        "PartonLevel:MPI = off",
        "HadronLevel:all = on           ! decays (phi and its daughters)",
        "ParticleDecays:limitTau0 = off ! decay the long-lived phi wherever it flies",
        "LesHouches:setLifetime = 1     ! the phi decay length of each event: the file's VTIMUP",
        f"{phi}:new = phi_dark void 1 0 0 {model.m_phi:.10g} 0.0 {model.m_phi:.10g} {model.m_phi:.10g} {ctau:.10g}",
        f"{phi}:isResonance = off",
    ]
    if ctau > 0:
        lines.append(f"{phi}:mayDecay = on")
        for k, ((a, b), br) in enumerate(decay_table(model)):
            lines.append(f"{phi}:{'oneChannel' if k == 0 else 'addChannel'} = 1 {br:.10g} 0 {a} {b}")
    else:
        lines.append(f"{phi}:mayDecay = off             ! theta = 0: no decay")
    lines += [
        f"{chi}:new = chi_dark chi_darkbar 2 0 0 {model.m_chi:.10g} 0.0 {model.m_chi:.10g} {model.m_chi:.10g} 0.0",
        f"{chi}:mayDecay = off",
        f"{chi}:isVisible = off",
    ]
    return "\n".join(lines) + "\n"


def pythia_settings_for(path: str | os.PathLike) -> str:
    """Pythia 8 settings for an LHE file written by mcdh (model, frame and PDG ids from its header)."""
    from .lhe import read_lhe_header

    meta = read_lhe_header(path)
    model_dict: Any = meta.get("parameters", {}).get("model")
    if not model_dict:
        raise ParameterError("path", str(path), "must be an mcdh signal LHE file (its header records no model)")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = model_from_record(path, model_dict)
    phi = int((dict(PDG_IDS) | dict(meta.get("pdg") or {}))["phi"])
    if abs(phi) in PYTHIA_RESONANCES:  # the file's id, not an option of this command
        raise FileFormatError(path, f"writes the phi as PDG {phi}, an id whose decays Pythia 8 recomputes and switches "
                              "off: generate the file for Pythia with a free id, mcdh generate signal ... --pdg "
                              "phi=9000005")
    return pythia_settings(model, lhe=Path(path).resolve(), frame=meta["frame"], pdg=meta["pdg"])


def model_from_record(path, record) -> DarkSector:
    """The DarkSector a file's header records; a value it does not accept names the file (not a flag)."""
    try:
        return DarkSector(**record)
    except (TypeError, ParameterError) as exc:
        raise ParameterError("file", str(path), f"records a model that cannot be used: {exc}") from None
