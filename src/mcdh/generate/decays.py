"""The dark Higgs' displaced decay as a generator stage: decay lengths, vertices and daughters.

A function of events and model: given the phi four-momenta of a chunk of
events and the :class:`~mcdh.physics.model.DarkSector` that made them,
:class:`PhiDecayer` samples

    L ~ Exp(c tau_phi)                 proper decay length [mm]
    x = (p / m_phi) L,  t = (E / m_phi) L   decay vertex in the events' frame [mm]

and (optionally) the decay products, isotropic in the phi rest frame, with the
model's branching ratios (:func:`decay_table`). The file writers only
serialise what this stage produced (LHE: L as VTIMUP; HepMC3: the vertex and
the daughters), so every format reads the same physics from one place.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..errors import ParameterError
from ..events import Events
from ..kinematics.decay import decay_two_body
from ..kinematics.variables import mass
from ..physics.constants import pdg_mass
from ..physics.model import DarkSector
from ..physics.widths import PHI_DECAY_MODES, pair_velocity


def signal_model(events: Events) -> DarkSector | None:
    """The DarkSector that made a signal sample (from its parameters), or None (backgrounds, foreign files)."""
    model = events.info.model
    if not model or "phi" not in events.particles:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # benchmark points above the hadronic-width validity still export
        return DarkSector(**model)


def displaced_ctau_mm(model: DarkSector | None) -> float:
    """Proper decay length c tau of phi in mm; 0 if unknown or infinite (then there is no displaced vertex)."""
    if model is None:
        return 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ctau = model.ctau_phi_mm
    return ctau if math.isfinite(ctau) and ctau > 0 else 0.0


def decay_table(model: DarkSector) -> list[tuple[tuple[int, int], float]]:
    """(daughter PDG ids, branching ratio) of the dark Higgs of ``model``; open modes only.

    The widths are the model's (``model.widths_phi``); within pi pi and K K
    the charged and neutral pairs share the width as isospin weight (2 : 1,
    1 : 1) times the pair's velocity (:data:`~mcdh.physics.widths.PHI_DECAY_MODES`),
    with PDG masses (``pdg_mass``).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        widths = dict(model.widths_phi)
    m = model.m_phi
    table: list[tuple[tuple[int, int], float]] = []
    for key, width in widths.items():
        if width <= 0:
            continue
        if key not in PHI_DECAY_MODES:
            raise ParameterError("model.widths_phi", key, f"no decay products known for mode {key!r}")
        subs = [(ids, iso * float(pair_velocity(m, pdg_mass(abs(ids[0]))))) for ids, iso in PHI_DECAY_MODES[key]]
        subs = [(ids, r) for ids, r in subs if r > 0]
        tot = sum(r for _, r in subs)
        if tot <= 0:
            raise ParameterError("model.m_phi", m, f"the {key} width is open but no {key} pair is kinematically allowed")
        table.extend((ids, width * r / tot) for ids, r in subs)
    total = sum(w for _, w in table)
    return [(ids, w / total) for ids, w in table]


@dataclass(frozen=True)
class PhiDecays:
    """The sampled decays of one chunk of events.

    Attributes
    ----------
    proper_length_mm : ndarray (n,)
        Proper decay length L (c times the proper time) in mm.
    phi_momenta : ndarray (n, 4)
        The decaying phis' four-momenta (GeV); :attr:`vertex_mm` follows from them and L.
    daughter_ids : ndarray (n, 2) of int
        PDG ids of the two decay products.
    daughters : ndarray (2, n, 4)
        Their four-momenta (E, px, py, pz) in GeV, in the events' frame.
    daughter_masses : ndarray (n, 2)
        Their (PDG) masses in GeV.

    The three daughter arrays hold no events when the decayer samples no daughters.
    """

    proper_length_mm: np.ndarray
    phi_momenta: np.ndarray
    daughter_ids: np.ndarray = field(default_factory=lambda: np.empty((0, 2), dtype=np.int64))
    daughters: np.ndarray = field(default_factory=lambda: np.empty((2, 0, 4)))
    daughter_masses: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))

    @property
    def vertex_mm(self) -> np.ndarray:
        """Decay vertices (c t, x, y, z) = p L / m in mm, in the frame of the momenta (computed on demand:
        the LHE writer needs only L)."""
        q = self.phi_momenta
        return q * (self.proper_length_mm / mass(q))[:, None]


class PhiDecayer:
    """Samples the phi decays of successive chunks of one sample from one random stream (each event's numbers
    drawn in turn, so the chunking does not change them).

    Parameters
    ----------
    model : DarkSector
        Gives c tau (``model.ctau_phi_mm``, which must be finite and > 0) and
        the branching ratios.
    seed : int
        Seed of the stream; the same seed gives the same decays event by event, however the events are
        split into chunks.
    daughters : bool
        Also sample the decay mode and the daughters' momenta. The decay
        lengths and the daughters come from two streams of the seed, so every
        writer (LHE: lengths only; ROOT: vertices; HepMC3: vertices and
        daughters) gives the same decay lengths event by event.
    """

    def __init__(self, model: DarkSector, seed: int = 0, *, daughters: bool = True):
        self.ctau_mm = displaced_ctau_mm(model)
        if self.ctau_mm <= 0:
            raise ParameterError("model.theta", model.theta, "gives no finite phi decay length (theta = 0?)")
        self._rng = np.random.default_rng(seed)
        self._rng_kids = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1,)))
        self._table = None
        if daughters:
            table = decay_table(model)
            ids = np.array([d for d, _ in table])
            self._table = (ids, np.cumsum([br for _, br in table]),
                           np.array([[pdg_mass(abs(a)), pdg_mass(abs(b))] for a, b in ids]))

    @classmethod
    def for_events(cls, events: Events, seed: int = 0, *, daughters: bool = True) -> PhiDecayer | None:
        """The decayer of a signal sample's phis (model from its parameters); None when there is no
        displaced vertex to sample (backgrounds, foreign files, theta = 0)."""
        model = signal_model(events)
        if model is None or displaced_ctau_mm(model) <= 0:
            return None
        return cls(model, seed, daughters=daughters)

    def __call__(self, phi_momenta: np.ndarray) -> PhiDecays:
        """Decays of the phis with four-momenta ``phi_momenta`` (n, 4), GeV."""
        q = np.ascontiguousarray(phi_momenta, dtype=np.float64)
        n = q.shape[0]
        length = np.asarray(self._rng.exponential(self.ctau_mm, n))
        if self._table is None:
            return PhiDecays(length, q)
        d_ids, cum, d_mass = self._table
        u = self._rng_kids.random((n, 3))  # event by event (mode, cos, azimuth): the same decays for any chunking
        modes = np.searchsorted(cum, u[:, 0] * cum[-1], side="right")
        kids = np.empty((2, n, 4))
        decay_two_body(q, d_mass[modes, 0], d_mass[modes, 1], 2.0 * u[:, 1] - 1.0, 2.0 * math.pi * u[:, 2],
                       kids[0], kids[1])
        return PhiDecays(length, q, d_ids[modes], kids, d_mass[modes])
