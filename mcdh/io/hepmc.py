"""HepMC3 (ASCII) export with the dark Higgs decayed at its displaced vertex, and import (pyhepmc).

Each event holds the primary vertex at the origin with the incoming e- and e+
(status 4) and the generated final state; the dark Higgs (PDG 54) gets status
2 and an end vertex at

    x = (p / m_phi) * L,   t = (E / m_phi) * L,     L ~ Exp(c tau_phi)  [mm]

where it decays isotropically (in its rest frame) to e+e-, mu+mu-, pi+pi-,
pi0 pi0, K+K- or K0 K0bar with the model's branching ratios (within pi pi
and K K: isospin weight 2 : 1 and 1 : 1 times the pair velocity, as for the
s-wave decay of a scalar; see :func:`decay_table`). The sampled decays are part of the file only:
:func:`read_hepmc` returns the generated (undecayed) final state. Units: GeV
and mm. Event weights are mcdh's weights in fb (weight name ``mcdh_fb``);
the GenCrossSection attribute carries the running cross-section estimate in
pb, as generators write it. 17 significant digits: momenta and weights
survive a round trip exactly.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import warnings
from pathlib import Path

import numpy as np

from .. import __version__
from .._atomic import json_default
from ..errors import FileFormatError, ParameterError, check_count
from ..events import Events
from ._writer import EventWriter
from ..analysis.variables import mass
from ..generate.signal import decay_two_body
from ..physics.constants import pdg_mass
from .lhe import WEIGHT_ID, _beams, _ctau_mm, _nominal_masses, roles_for, signal_model

_PB_PER_FB = 1e-3
_MODES = {  # phi width key -> (daughter PDG ids, isospin weight); sub-modes share the width in proportion
    "ee": [((11, -11), 1.0)],  # to isospin weight x velocity (s-wave scalar -> two spin-0 or spin-1/2)
    "mumu": [((13, -13), 1.0)],
    "pipi": [((211, -211), 2.0), ((111, 111), 1.0)],
    "KK": [((321, -321), 1.0), ((311, -311), 1.0)],
}


def _beta(m_parent: float, m_d: float) -> float:
    x = 1.0 - 4.0 * m_d**2 / m_parent**2
    return math.sqrt(x) if x > 0 else 0.0


def decay_table(model) -> list[tuple[tuple[int, int], float]]:
    """(daughter PDG ids, branching ratio) of the dark Higgs of ``model``; open modes only.

    The widths are the model's (``model.widths_phi``); within pi pi and K K
    the charged and neutral pairs share the width as isospin weight (2 : 1,
    1 : 1) times the pair's velocity, with PDG masses (``pdg_mass``).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        widths = dict(model.widths_phi)
    m = model.m_phi
    table = []
    for key, width in widths.items():
        if width <= 0:
            continue
        if key not in _MODES:
            raise ParameterError("model.widths_phi", key, f"no decay products known for mode {key!r}")
        subs = [(ids, iso * _beta(m, pdg_mass(abs(ids[0])))) for ids, iso in _MODES[key]]
        subs = [(ids, r) for ids, r in subs if r > 0]
        tot = sum(r for _, r in subs)
        if tot <= 0:
            raise ParameterError("model.m_phi", m, f"the {key} width is open but no {key} pair is kinematically allowed")
        table.extend((ids, width * r / tot) for ids, r in subs)
    total = sum(w for _, w in table)
    return [(ids, w / total) for ids, w in table]


class HepMCWriter(EventWriter):
    """Stream events into a new HepMC3 ASCII file, the dark Higgs decayed at its displaced vertex.

    Parameters
    ----------
    path : path
    n_events : int
        Total number of events to be written (for the running cross section).
    pdg : dict, optional
        PDG ids per slot, overriding :data:`mcdh.io.lhe.PDG_IDS`.
    seed : int
        Seed of the decay lengths and decays.
    decay_phi : bool
        Decay the dark Higgs (default: yes, when the events carry a model).
    """

    def __init__(self, path, n_events: int, *, pdg: dict | None = None, seed: int = 0, decay_phi: bool = True):
        super().__init__(path)
        self.n_events = check_count("n_events", n_events, 1)
        self.pdg = pdg
        self.decay_phi = bool(decay_phi)
        self._rng = np.random.default_rng(seed)
        self._sum_w = 0.0
        self._sum_w2 = 0.0

    def _open(self):
        import pyhepmc
        from pyhepmc.io import WriterAscii

        self._hep = pyhepmc
        self._run = pyhepmc.GenRunInfo()
        self._run.weight_names = [WEIGHT_ID]
        self._writer = None
        self._WriterAscii = WriterAscii

    def _start(self, events: Events):
        self._ids = roles_for(events.particles, self.pdg)
        self._beam_p = _beams(events)
        self._masses = _nominal_masses(events)
        self._k_phi = events.particles.index("phi") if "phi" in events.particles else -1
        self._decays = None
        model = signal_model(events) if self.decay_phi and self._k_phi >= 0 else None
        self._ctau = _ctau_mm(model)
        if self._ctau > 0:
            table = decay_table(model)
            ids = np.array([d for d, _ in table])
            self._decays = (ids, np.cumsum([br for _, br in table]),
                            np.array([[pdg_mass(abs(a)), pdg_mass(abs(b))] for a, b in ids]))
        meta = {"mcdh_version": __version__, "particles": list(events.particles), "process": events.process,
                "frame": events.frame, "pdg": self._ids,
                "parameters": json.loads(json.dumps(events.parameters, default=json_default))}
        self._run.tools = [self._hep.GenRunInfo.ToolInfo("mcdh", __version__, events.process)]
        self._run.attributes = {"mcdh_parameters": json.dumps(meta)}
        self._writer = self._WriterAscii(str(self.tmp), self._run)

    def _write(self, events: Events):
        hep = self._hep
        if self._writer is None:
            self._start(events)
        n = len(events)
        ids = [self._ids[name] for name in events.particles]
        masses = [self._masses.get(name) for name in events.particles]
        if self._decays is not None:
            # all displaced vertices and decays of the chunk at once
            d_ids, cum, d_mass = self._decays
            q = np.ascontiguousarray(events.momenta[:, self._k_phi])
            vertex = q * (self._rng.exponential(self._ctau, n) / mass(q))[:, None]  # (t, x, y, z) = p L / m
            modes = np.searchsorted(cum, self._rng.random(n) * cum[-1], side="right")
            u = self._rng.random((n, 2))
            kids = np.empty((2, n, 4))
            decay_two_body(q, d_mass[modes, 0], d_mass[modes, 1], 2.0 * u[:, 0] - 1.0, 2.0 * math.pi * u[:, 1],
                           kids[0], kids[1])
        for i in range(n):
            self._sum_w += float(events.weights[i])
            self._sum_w2 += float(events.weights[i]) ** 2
            k = self.n_written + i + 1
            evt = hep.GenEvent(self._run, hep.Units.GEV, hep.Units.MM)
            evt.event_number = self.n_written + i
            v0 = hep.GenVertex(hep.FourVector(0.0, 0.0, 0.0, 0.0))
            for pid, b in ((11, self._beam_p[0]), (-11, self._beam_p[1])):
                beam = hep.GenParticle(hep.FourVector(b[1], b[2], b[3], b[0]), pid, 4)
                beam.generated_mass = 0.0  # massless beams, as generated
                v0.add_particle_in(beam)
            evt.add_vertex(v0)
            for kk, pid in enumerate(ids):
                p = events.momenta[i, kk]
                decayed = kk == self._k_phi and self._decays is not None
                part = hep.GenParticle(hep.FourVector(p[1], p[2], p[3], p[0]), pid, 2 if decayed else 1)
                if masses[kk] is not None:
                    part.generated_mass = masses[kk]
                v0.add_particle_out(part)
                if decayed:
                    x = vertex[i]
                    v1 = hep.GenVertex(hep.FourVector(x[1], x[2], x[3], x[0]))
                    v1.add_particle_in(part)
                    for j in (0, 1):
                        kv = kids[j, i]
                        kid = hep.GenParticle(hep.FourVector(kv[1], kv[2], kv[3], kv[0]), int(d_ids[modes[i], j]), 1)
                        kid.generated_mass = d_mass[modes[i], j]
                        v1.add_particle_out(kid)
                    evt.add_vertex(v1)
            evt.weights = [float(events.weights[i])]
            cs = hep.GenCrossSection()
            # running estimate from the k events so far: f_i = N w_i are i.i.d. estimates of sigma
            N = self.n_events
            mean = self._sum_w / k
            var = max(self._sum_w2 / k - mean**2, 0.0) * k / (k - 1) if k > 1 else mean**2
            cs.set_cross_section(N * mean * _PB_PER_FB, N * math.sqrt(var / k) * _PB_PER_FB, k, k)
            evt.cross_section = cs
            self._writer.write(evt)

    def _finish(self):
        if self._writer is None:
            raise ParameterError("events", 0, "no events were written")
        if self.n_written != self.n_events:
            raise ParameterError("n_events", self.n_events, f"but {self.n_written} events were written")
        self._writer.close()
        if self._writer.failed():
            raise OSError(f"writing {self.path} failed")

    def _abort(self):
        if getattr(self, "_writer", None) is not None:
            with contextlib.suppress(Exception):
                self._writer.close()


def write_hepmc(path, events: Events, *, pdg: dict | None = None, seed: int = 0, decay_phi: bool = True) -> Path:
    """Write ``events`` to a new HepMC3 ASCII file (see :class:`HepMCWriter`)."""
    with HepMCWriter(path, len(events), pdg=pdg, seed=seed, decay_phi=decay_phi) as out:
        out.write(events)
    return Path(path)


@contextlib.contextmanager
def _stderr_to(buffer: list):
    """Collect what C++ code writes to file descriptors 1 and 2 (HepMC3's parse messages) instead of showing it."""
    import sys
    import tempfile

    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 1)
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            for fd, old in ((1, saved[0]), (2, saved[1])):
                os.dup2(old, fd)
                os.close(old)
            tmp.seek(0)
            buffer.append(tmp.read().decode(errors="replace"))


def _event_lines(path: Path) -> list[int]:
    """Line numbers (from 1) of the 'E' records of a HepMC3 ASCII file."""
    out = []
    with open(path, "rb") as f:
        for k, line in enumerate(f, 1):
            if line.startswith(b"E "):
                out.append(k)
    return out


def read_hepmc(path: str | os.PathLike, roles: dict[str, int] | None = None, *, process: str | None = None,
               weight_unit: str | None = None) -> Events:
    """Read a HepMC3 ASCII file into :class:`Events`: the particles leaving the primary vertex.

    Parameters
    ----------
    roles : {slot: PDG id}, optional
        Default: recorded by mcdh in the file, else the signal slots with
        :data:`mcdh.io.lhe.PDG_IDS`.
    weight_unit : {"fb", "pb"}, optional
        Unit of the first event weight (default: fb for mcdh files, else pb).
    """
    import pyhepmc

    path = Path(path)
    if not path.is_file():
        raise FileFormatError(path, "no such file")
    with open(path, "rb") as f:
        head = f.read(64)
    if not head.startswith(b"HepMC::Version"):
        raise FileFormatError(path, "not a HepMC3 ASCII file (no 'HepMC::Version' first line)")
    moms, weights = [], []
    meta = None
    names = wanted = None
    with open(path, "rb") as raw:
        raw.seek(max(0, path.stat().st_size - 64))
        tail = raw.read()
    if b"HepMC::Asciiv3-END_EVENT_LISTING" not in tail:
        raise FileFormatError(path, "truncated: no 'HepMC::Asciiv3-END_EVENT_LISTING' at the end")
    starts = _event_lines(path)
    messages: list[str] = []
    with _stderr_to(messages), pyhepmc.open(str(path), "r", format="HepMC3") as reader:
        for i, evt in enumerate(reader):
            if meta is None and evt.run_info is not None:
                attrs = evt.run_info.attributes or {}
                if "mcdh_parameters" in attrs:
                    meta = json.loads(str(attrs["mcdh_parameters"]))
            if names is None:
                if roles is None:
                    roles = {k: int(v) for k, v in meta["pdg"].items()} if meta else None
                if roles is None:
                    from .lhe import PDG_IDS

                    ids = {p.pid for p in evt.particles}
                    slots = ("gamma", "phi", "chi", "chibar") if 22 in ids else ("phi", "chi", "chibar")
                    roles = {k: PDG_IDS[k] for k in slots}
                names = tuple(roles)
                wanted = {int(v): k for k, v in roles.items()}
            beams = [p for p in evt.particles if p.status == 4]
            if not beams or beams[0].end_vertex is None:
                raise FileFormatError(path, f"event {i + 1} (number {evt.event_number}): no beam particles (status 4)")
            prim = beams[0].end_vertex
            row = np.full((len(names), 4), np.nan)
            seen = dict.fromkeys(names, 0)
            for p in prim.particles_out:
                slot = wanted.get(int(p.pid))
                if slot is None:
                    continue
                seen[slot] += 1
                m = p.momentum
                row[names.index(slot)] = (m.e, m.px, m.py, m.pz)
            bad = {k: c for k, c in seen.items() if c != 1}
            if bad:
                raise FileFormatError(path, f"event {i + 1} (number {evt.event_number}): slot(s) "
                                      f"{', '.join(f'{k} found {c} times' for k, c in bad.items())} at the primary vertex")
            if not evt.weights:
                raise FileFormatError(path, f"event {i + 1} (number {evt.event_number}): no weight")
            moms.append(row)
            weights.append(evt.weights[0])
    if len(moms) != len(starts):
        k = len(moms)
        hint = "; ".join(line.strip() for m in messages for line in m.splitlines() if "ERROR" in line)[:300]
        raise FileFormatError(path, f"event {k + 1} (from line {starts[k] if k < len(starts) else '?'}) cannot be "
                              f"parsed ({hint or 'HepMC3 reader stopped'}); nothing was read")
    if not moms:
        raise FileFormatError(path, "holds no readable events")
    unit = weight_unit or ("fb" if meta else "pb")
    if unit not in ("fb", "pb"):
        raise ParameterError("weight_unit", weight_unit, "must be 'fb' or 'pb'")
    w = np.asarray(weights, dtype=float) * (1.0 if unit == "fb" else 1.0 / _PB_PER_FB)
    params = dict(meta.get("parameters", {})) if meta else {}
    params["source"] = str(path)
    frame = meta["frame"] if meta else "cms"
    return Events(np.asarray(moms), w, names, process or (meta["process"] if meta else "hepmc-import"), frame, params)

