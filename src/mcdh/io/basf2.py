"""basf2 steering for mcdh's LHE files: Belle II's simulation reading them as they are meant.

Read against basf2's source (repository belle2/basf2), what its LHE chain does with a file:

* ``generators/lhe/src/LHEReader.cc`` opens the file with a plain ``std::ifstream``
  (``LHEReader::open``): a gzipped file gives no ``<event>`` and 0 events, silently;
  per particle it keeps only the PDG id, the mother, the momentum and the mass of the
  13 fields (``readParticle``): **VTIMUP is ignored**, every particle starts at the origin;
  ``wrongSignPz`` mirrors p_z of every particle.
* ``generators/modules/src/LHEInputModule.cc``: ``nInitialParticles`` (default 0) flags the
  first particles as initial (else the beams are handed to the simulation), ``wrongSignPz``
  defaults to **True** (for files with e+ along +z; mcdh's have e- along +z, the Belle II
  convention), ``useWeights`` defaults to False (the event weight is then not stored).
  But ``LHEReader::readEventHeader`` sets the event weight to 1.0 whatever XWGTUP says
  (it keeps only NUP of the event line): **a weighted file loses its weights in basf2**
  even with ``useWeights = True``. Files for basf2 are therefore unweighted
  (``mcdh generate --unweight``: unit weights up to the 0.1 % of sigma in overweight
  events); :func:`basf2_config_for` refuses a weighted file unless told to keep it.
* the reader applies no boost: a CMS file needs ``BoostMCParticles`` after it, a lab file
  must not get it (a double boost).
* ``GeneratedVertexDisplacerModule.cc`` places the decay vertex of listed PDG ids that have
  **lifetime 0** in the particle database: ``exponential`` draws L = -ln(u) c tau beta gamma
  with c tau in **cm**; ``flat`` draws L uniformly in [0, maxDecayTime] cm (the same for
  every lifetime); it moves the daughters with the vertex.
* ``framework/scripts/pdg.py`` ``add_particle(name, pdgCode, mass, width, charge, spin,
  max_width, lifetime, pythiaID)`` registers a particle the database does not know; a
  particle the simulation does not know is dropped without a warning.

:func:`basf2_config_for` writes the fragment that sets all of this for one file, with the
model's c tau and an EvtGen decay file of the phi (:func:`evtgen_decay_file`).

**Efficient long-lived samples.** At small theta almost every phi decays outside the
detector. ``lifetime_option="flat"`` spreads the decays uniformly in [0, L_max] along the
phi's flight; each event then gets the exact weight (``mcdh reweight``,
:func:`mcdh.analysis.lifetime.lifetime_weights` with ``source="flat"``)

    w(L) = L_max exp(-L / lambda) / lambda,   lambda = beta gamma c tau,

which makes the flat sample equal to the exponential one at *any* c tau for decays with
L < L_max (there is no sample beyond it) - one simulation for the whole theta scan.
"""
from __future__ import annotations

import math
import os
import warnings
from pathlib import Path
from typing import Any

from .._version import __version__
from ..errors import ParameterError, check_luminosity
from ..generate.decays import decay_table, displaced_ctau_mm
from ..physics.model import DarkSector
from ..settings import LUMINOSITY_FB
from ._writer import PDG_IDS
from .pythia import model_from_record

LIFETIME_OPTIONS = ("exponential", "flat")
"""GeneratedVertexDisplacer's lifetime options the fragment offers."""
PHI_NAME, CHI_NAME = "phi_dark", "chi_dark"
"""The names the fragment registers the dark Higgs and the dark matter under."""
EVTGEN_NAMES = {11: "e-", -11: "e+", 13: "mu-", -13: "mu+", 211: "pi+", -211: "pi-", 111: "pi0", 321: "K+",
                -321: "K-"}
"""EvtGen's names of the phi's daughters (K0 pairs are written as their CP eigenstates)."""


def evtgen_decay_file(model: DarkSector, name: str = PHI_NAME) -> str:
    """An EvtGen user decay file for the dark Higgs of ``model``: its open channels with the model's branching
    ratios (PHSP). A scalar decays to K0 K0bar in the CP-even state, i.e. K_S K_S or K_L K_L, half each."""
    lines = [f"# EvtGen decay file written by mcdh {__version__} for the dark Higgs of {model}", f"Decay {name}"]
    for (a, b), br in decay_table(model):
        if {abs(a), abs(b)} == {311}:
            lines += [f"{0.5 * br:.10g} K_S0 K_S0 PHSP;", f"{0.5 * br:.10g} K_L0 K_L0 PHSP;"]
        else:
            lines.append(f"{br:.10g} {EVTGEN_NAMES[a]} {EVTGEN_NAMES[b]} PHSP;")
    return "\n".join([*lines, "Enddecay", "End"]) + "\n"


def _steering(model: DarkSector, lhe: str | os.PathLike, *, frame: str, pdg: dict[str, int] | None = None,
                   sigma_fb: float | None = None, luminosity_fb: float = LUMINOSITY_FB,
                   lifetime_option: str = "exponential", flat_max_cm: float = 300.0,
                   decay_file: str | os.PathLike = "phi_dark.dec", weighted: bool = False) -> str:
    """The text of a basf2 steering fragment that reads ``lhe`` (an mcdh LHE file of ``frame``) right.

    Parameters
    ----------
    model : DarkSector
        Masses, c tau and branching ratios of the dark Higgs.
    frame : {"cms", "lab"}
        The file's frame: BoostMCParticles only for CMS files.
    pdg : dict, optional
        The PDG ids the file uses (default :data:`~mcdh.io._writer.PDG_IDS`).
    sigma_fb, luminosity_fb : float
        The file's cross section and the luminosity, for the expected number of events.
    lifetime_option : {"exponential", "flat"}
        How GeneratedVertexDisplacer places the phi decay (see the module docstring).
    flat_max_cm : float
        L_max of the flat option (cm).
    decay_file : path
        Where the EvtGen decay file of the phi is (:func:`evtgen_decay_file`).
    weighted : bool
        The file holds weighted events (the fragment then says where their weights are: basf2 keeps none).
    """
    if frame not in ("cms", "lab"):
        raise ParameterError("frame", frame, "must be 'cms' or 'lab'")
    if lifetime_option not in LIFETIME_OPTIONS:
        raise ParameterError("lifetime_option", lifetime_option, f"must be one of {', '.join(LIFETIME_OPTIONS)}")
    luminosity_fb = check_luminosity("luminosity_fb", luminosity_fb)
    if not (math.isfinite(flat_max_cm) and flat_max_cm > 0):
        raise ParameterError("flat_max_cm", flat_max_cm, "must be a length > 0 in cm")
    ids = dict(PDG_IDS) | dict(pdg or {})
    phi, chi = int(ids["phi"]), abs(int(ids["chi"]))
    ctau_cm = displaced_ctau_mm(model) / 10.0
    if not ctau_cm > 0:
        raise ParameterError("model.theta", model.theta, "gives a phi that never decays (theta = 0): nothing to "
                             "displace")
    expected = None if sigma_fb is None else sigma_fb * luminosity_fb
    lhe, decay_file = Path(lhe).resolve(), Path(decay_file)
    lines = [
        f'"""basf2 steering fragment written by mcdh {__version__} for {lhe.name}',
        "",
        f"model: {model}",
        f"frame of the events: {frame}; c tau_phi = {ctau_cm:.10g} cm",
        f"expected events at {luminosity_fb:g} fb^-1: " + ("unknown (no cross section)" if expected is None else
                                                           f"{expected:.6g} (sigma = {sigma_fb:.6g} fb)"),
        *(["WEIGHTED EVENTS: basf2 stores weight 1 for each; take the weights back from mcdh's ntuple of the same "
           "events (same order)"] if weighted else []),
        '"""',
        "import basf2",
        "import pdg",
        "",
        "main = basf2.create_path()",
        "",
        "# The dark sector is unknown to basf2's particle database: a particle it does not know is dropped by the",
        "# simulation without a warning. Lifetime 0: GeneratedVertexDisplacer owns the phi's lifetime (it refuses",
        "# particles with a lifetime), and Geant4 cannot handle a user particle's lifetime.",
        f"if not pdg.add_particle({PHI_NAME!r}, {phi}, {model.m_phi!r}, 0.0, 0, 0, max_width=0.0, lifetime=0):",
        f"    basf2.B2WARNING('PDG id {phi} is already known: check that its lifetime is 0')",
        f"if not pdg.add_particle({CHI_NAME!r}, {chi}, {model.m_chi!r}, 0.0, 0, 0.5, max_width=0.0, lifetime=0):",
        f"    basf2.B2WARNING('PDG id {chi} is already known')",
        f"pdg.add_particle('anti-{CHI_NAME}', {-chi}, {model.m_chi!r}, 0.0, 0, 0.5, max_width=0.0, lifetime=0)",
        "",
        "lhe = main.add_module('LHEInput')",
        f"lhe.param('inputFileList', [{str(lhe)!r}])  # plain text: LHEReader uses std::ifstream (no .gz)",
        "lhe.param('nInitialParticles', 2)  # the e- e+ beams are the first two lines: initial, not simulated",
        "lhe.param('nVirtualParticles', 0)  # no intermediate lines in mcdh's events",
        "lhe.param('wrongSignPz', False)  # mcdh writes e- along +z, the Belle II convention (default True mirrors)",
        "lhe.param('useWeights', True)  # store the event weight (LHEReader gives 1.0: the file holds unit weights)",
        "lhe.param('createEventMetaData', True)",
        "lhe.param('expNum', 0)",
        "lhe.param('runNum', 0)",
    ]
    if frame == "cms":
        lines.append("main.add_module('BoostMCParticles')  # CMS file: basf2's reader applies no boost")
    else:
        lines.append("# lab-frame file: no BoostMCParticles (it would boost the events a second time)")
    lines += [
        "",
        "# The phi decays through EvtGen with the model's branching ratios (written next to this fragment).",
        f"main.add_module('EvtGenDecay', UserDecFile={str(decay_file)!r})",
        "",
        "# The phi's decay vertex: LHEReader ignores VTIMUP, so without this every phi decays at the origin.",
        "displacer = main.add_module('GeneratedVertexDisplacer')",
        f"displacer.param('pdgVal', [{phi}])",
        f"displacer.param('lifetime', [{ctau_cm!r}])  # c tau in cm (the module's unit; mcdh's files use mm)",
        "displacer.param('ctau', True)",
        f"displacer.param('lifetimeOption', {lifetime_option!r})",
    ]
    if lifetime_option == "flat":
        lines += [
            f"displacer.param('maxDecayTime', {flat_max_cm!r})  # decays flat in [0, L_max] cm along the flight",
            "# then weight the events to any c tau: mcdh reweight NTUPLE --source flat --flat-range 0,L_max --theta-list ...",
            "# (exact for L < L_max)",
        ]
    lines += ["", "# add the detector simulation and reconstruction here, e.g.",
              "# import simulation; simulation.add_simulation(main)", "# basf2.process(main)"]
    return "\n".join(lines) + "\n"


def basf2_config_for(path: str | os.PathLike, *, model: DarkSector | None = None,
                     luminosity_fb: float = LUMINOSITY_FB, lifetime_option: str = "exponential",
                     flat_max_cm: float = 300.0, decay_file: str | os.PathLike | None = None,
                     keep_weighted: bool = False) -> tuple[str, str]:
    """(steering fragment, EvtGen decay file) for an LHE file: model, frame, PDG ids and cross section from
    mcdh's header; a file without it needs ``model`` (then CMS frame and mcdh's PDG ids are assumed).

    A weighted mcdh file is refused (basf2 sets every weight to 1) unless ``keep_weighted``: the fragment
    then says that each event's weight must be taken back from mcdh's own ntuple of the same events."""
    from ..errors import FileFormatError
    from .lhe import read_lhe_header

    path = Path(path)
    if path.suffix == ".gz":
        raise ParameterError("file", str(path), "is gzipped: basf2's LHEReader reads plain text only (std::ifstream; "
                             f"a .gz file gives 0 events silently) - gunzip it first, then use {path.with_suffix('')}")
    meta: dict[str, Any] = {}
    try:
        meta = read_lhe_header(path)
    except FileFormatError:
        if not path.is_file():
            raise
        if model is None:
            raise ParameterError("model", str(path), "is needed: the file records no mcdh model (give the benchmark, "
                                 "m_A and couplings)") from None
    params = meta.get("parameters", {})
    weighted = bool(params.get("weighted", False))
    if weighted and not keep_weighted:
        raise ParameterError("file", str(path), "holds weighted events, and basf2's LHEReader sets every event weight "
                             "to 1 (readEventHeader): generate the file with --unweight (or keep it weighted knowingly "
                             "with --keep-weighted)")
    recorded = params.get("model")
    if model is None:
        if not recorded:
            raise ParameterError("model", str(path), "is needed: the file records no mcdh model (give the benchmark, "
                                 "m_A and couplings)")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = model_from_record(path, recorded)
    decay = Path(decay_file) if decay_file is not None else path.with_name(path.name.removesuffix(".lhe") + "_phi.dec")
    steering = _steering(model, path, frame=meta.get("frame", "cms"), pdg=meta.get("pdg"),
                              sigma_fb=params.get("sigma_fb"), luminosity_fb=luminosity_fb,
                              lifetime_option=lifetime_option, flat_max_cm=flat_max_cm, decay_file=decay.resolve(),
                              weighted=weighted)
    return steering, evtgen_decay_file(model)
