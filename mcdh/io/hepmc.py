"""HepMC3 (ASCII) export with the dark Higgs decayed at its displaced vertex, and import (pyhepmc).

Each event holds the primary vertex at the origin with the incoming e- and e+
(status 4) and the generated final state; the dark Higgs (PDG 54) gets status
2 and an end vertex at

    x = (p / m_phi) * L,   t = (E / m_phi) * L,     L ~ Exp(c tau_phi)  [mm]

where it decays isotropically (in its rest frame) to e+e-, mu+mu-, pi+pi-,
pi0 pi0, K+K- or K0 K0bar with the model's branching ratios (pi+pi- : pi0pi0
= 2 : 1 by isospin; K+K- : K0K0bar in the ratio of their velocities, as for
the s-wave decay of a scalar). The sampled decays are part of the file only:
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
from .lhe import WEIGHT_ID, _beams, _nominal_masses, roles_for

_PB_PER_FB = 1e-3
# masses (GeV) from the PDG via the particle package at import time would need
# its tables; these are the PDG 2024 values
_M = {11: 0.51099895e-3, 13: 0.1056583755, 211: 0.13957039, 111: 0.1349768, 321: 0.493677, 311: 0.497611}
_MODES = {  # width key -> list of (daughters, relative weight function)
    "ee": [((11, -11), None)],
    "mumu": [((13, -13), None)],
    "pipi": [((211, -211), 2.0), ((111, 111), 1.0)],
    "KK": [((321, -321), "beta"), ((311, -311), "beta")],
}


def _beta(m_parent: float, m_d: float) -> float:
    x = 1.0 - 4.0 * m_d**2 / m_parent**2
    return math.sqrt(x) if x > 0 else 0.0


def decay_table(model) -> list[tuple[tuple[int, int], float]]:
    """(daughter PDG ids, branching ratio) of the dark Higgs of ``model``; open modes only."""
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
        subs = []
        for ids, rel in _MODES[key]:
            if 2 * _M[abs(ids[0])] >= m:
                continue
            subs.append((ids, _beta(m, _M[abs(ids[0])]) if rel == "beta" else (rel or 1.0)))
        tot = sum(r for _, r in subs)
        table.extend((ids, width * r / tot) for ids, r in subs)
    total = sum(w for _, w in table)
    return [(ids, w / total) for ids, w in table]


def _two_body(p: np.ndarray, m1: float, m2: float, cos_t: float, phi: float) -> tuple[np.ndarray, np.ndarray]:
    """Isotropic decay of four-momentum p into masses m1, m2 (angles in the rest frame)."""
    M = math.sqrt(max(p[0] ** 2 - p[1] ** 2 - p[2] ** 2 - p[3] ** 2, 0.0))
    q = math.sqrt(max((M**2 - (m1 + m2) ** 2) * (M**2 - (m1 - m2) ** 2), 0.0)) / (2 * M)
    s = math.sqrt(max(1.0 - cos_t**2, 0.0))
    n = np.array([s * math.cos(phi), s * math.sin(phi), cos_t])
    k1 = np.array([math.sqrt(q**2 + m1**2), *(q * n)])
    k2 = np.array([math.sqrt(q**2 + m2**2), *(-q * n)])
    beta = p[1:] / p[0]
    b2 = float(beta @ beta)
    out = []
    for k in (k1, k2):
        if b2 <= 0:
            out.append(k)
            continue
        g = p[0] / M
        bp = float(beta @ k[1:])
        e = g * (k[0] + bp)
        vec = k[1:] + ((g - 1.0) * bp / b2 + g * k[0]) * beta
        out.append(np.array([e, *vec]))
    return out[0], out[1]


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
        model = events.parameters.get("model")
        if self.decay_phi and model and self._k_phi >= 0:
            from ..physics.model import DarkSector

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                dm = DarkSector(**model)
                ctau = dm.ctau_phi_mm
            if math.isfinite(ctau) and ctau > 0:
                table = decay_table(dm)
                self._ctau = ctau
                self._decays = ([ids for ids, _ in table], np.cumsum([br for _, br in table]))
        meta = {"mcdh_version": __version__, "particles": list(events.particles), "process": events.process,
                "frame": events.frame, "pdg": self._ids,
                "parameters": json.loads(json.dumps(events.parameters, default=json_default))}
        self._run.tools = [self._hep.GenRunInfo.ToolInfo("mcdh", __version__, events.process)]
        self._run.attributes = {"mcdh_parameters": json.dumps(meta)}
        self._writer = self._WriterAscii(str(self.tmp), self._run)

    def _write(self, events: Events):
        hep = self._hep
        if self._writer is None:
            self._first = events
            self._start(events)
        n = len(events)
        ids = [self._ids[name] for name in events.particles]
        if self._decays is not None:
            lengths = self._rng.exponential(self._ctau, n)
            modes = np.searchsorted(self._decays[1], self._rng.random(n) * self._decays[1][-1], side="right")
            angles = self._rng.random((n, 2))
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
            phi_particle = None
            for kk, pid in enumerate(ids):
                q = events.momenta[i, kk]
                decayed = kk == self._k_phi and self._decays is not None
                part = hep.GenParticle(hep.FourVector(q[1], q[2], q[3], q[0]), pid, 2 if decayed else 1)
                name = events.particles[kk]
                if name in self._masses:
                    part.generated_mass = self._masses[name]
                v0.add_particle_out(part)
                if decayed:
                    phi_particle = (part, q)
            if phi_particle is not None:
                part, q = phi_particle
                m = math.sqrt(max(q[0] ** 2 - q[1] ** 2 - q[2] ** 2 - q[3] ** 2, 0.0))
                L = lengths[i] / m
                v1 = hep.GenVertex(hep.FourVector(q[1] * L, q[2] * L, q[3] * L, q[0] * L))
                v1.add_particle_in(part)
                d1, d2 = self._decays[0][modes[i]]
                k1, k2 = _two_body(q, _M[abs(d1)], _M[abs(d2)], 2.0 * angles[i, 0] - 1.0, 2.0 * math.pi * angles[i, 1])
                for pid, kv in ((d1, k1), (d2, k2)):
                    kid = hep.GenParticle(hep.FourVector(kv[1], kv[2], kv[3], kv[0]), pid, 1)
                    kid.generated_mass = _M[abs(pid)]
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

