"""HepMC3 (ASCII) export with the dark Higgs decayed at its displaced vertex, and import (pyhepmc).

Each event holds the primary vertex at the origin with the incoming e- and e+
(status 4) and the generated final state; the dark Higgs (PDG 54) gets status
2 and an end vertex at

    x = (p / m_phi) * L,   t = (E / m_phi) * L,     L ~ Exp(c tau_phi)  [mm]

where it decays isotropically (in its rest frame) to e+e-, mu+mu-, pi+pi-,
pi0 pi0, K+K- or K0 K0bar with the model's branching ratios (within pi pi
and K K: isospin weight 2 : 1 and 1 : 1 times the pair velocity, as for the
s-wave decay of a scalar; see :func:`mcdh.generate.decays.decay_table`). The sampled decays are part of the file only:
:func:`read_hepmc` returns the generated (undecayed) final state. Units: GeV
and mm. Two weights per event: ``Default`` in pb, the unit of the
GenCrossSection attribute (the running cross-section estimate, as
generators write it), and mcdh's exact weight in fb, ``mcdh_fb`` (as in
LHE files); the run info says so (``weight_units``). 17 significant digits:
momenta and weights survive a round trip exactly.

:func:`read_hepmc` converts momenta given in MeV to GeV (mcdh reads no
lengths) and checks what it reads with the readers' one validation layer
(:mod:`mcdh.io._validate`).
"""
from __future__ import annotations

import contextlib
import errno
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from .._atomic import json_default
from .._version import __version__
from ..errors import FileFormatError, ParameterError, check_count, require
from ..events import Events
from ..generate.decays import PhiDecayer
from ._validate import check_input_file, checked_events, checked_header, checked_roles, reading
from ._writer import PB_PER_FB, PDG_IDS, WEIGHT_ID, EventWriter, beam_momenta, nominal_masses, roles_for

WEIGHT_NAMES = ["Default", WEIGHT_ID]
WEIGHT_UNITS = {"Default": "pb", WEIGHT_ID: "fb"}
"""The event weights mcdh writes and their units (the cross section is in pb)."""


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
        self._seed = seed
        self._sum_w = 0.0
        self._sum_w2 = 0.0

    def _open(self):
        pyhepmc = require("pyhepmc", "hepmc", "writing HepMC3 files")
        from pyhepmc.io import WriterAscii

        self._hep = pyhepmc
        self._run = pyhepmc.GenRunInfo()
        self._run.weight_names = WEIGHT_NAMES
        self._writer: Any = None
        self._WriterAscii = WriterAscii

    def _start(self, events: Events):
        self._ids = roles_for(events.particles, self.pdg)
        self._beam_p = beam_momenta(events)
        self._masses = nominal_masses(events)
        self._k_phi = events.particles.index("phi") if "phi" in events.particles else -1
        self._decayer = PhiDecayer.for_events(events, self._seed) if self.decay_phi else None
        meta = {"mcdh_version": __version__, "particles": list(events.particles), "process": events.process,
                "frame": events.frame, "pdg": self._ids, "weight_units": WEIGHT_UNITS, "cross_section_unit": "pb",
                "parameters": json.loads(json.dumps(self._record_before_writing(events), default=json_default))}
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
        if self._decayer is not None:  # all displaced vertices and decays of the chunk at once
            dec = self._decayer(events.momenta[:, self._k_phi])
            vertex, kids, d_ids, d_mass = dec.vertex_mm, dec.daughters, dec.daughter_ids, dec.daughter_masses
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
                decayed = kk == self._k_phi and self._decayer is not None
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
                        kid = hep.GenParticle(hep.FourVector(kv[1], kv[2], kv[3], kv[0]), int(d_ids[i, j]), 1)
                        kid.generated_mass = d_mass[i, j]
                        v1.add_particle_out(kid)
                    evt.add_vertex(v1)
            evt.weights = [float(events.weights[i]) * PB_PER_FB, float(events.weights[i])]
            cs = hep.GenCrossSection()
            # running estimate from the k events so far: f_i = N w_i are i.i.d. estimates of sigma
            N = self.n_events
            mean = self._sum_w / k
            var = max(self._sum_w2 / k - mean**2, 0.0) * k / (k - 1) if k > 1 else mean**2
            cs.set_cross_section(N * mean * PB_PER_FB, N * math.sqrt(var / k) * PB_PER_FB, k, k)
            evt.cross_section = cs
            self._writer.write(evt)

    def _finish(self):
        if self._writer is None:
            raise ParameterError("events", 0, "no events were written")
        if self.n_written != self.n_events:
            raise ParameterError("n_events", self.n_events, f"but {self.n_written} events were written")
        self._writer.close()
        if self._writer.failed():
            raise _write_failure(self.tmp)

    def _abort(self):
        if getattr(self, "_writer", None) is not None:
            with contextlib.suppress(Exception):
                self._writer.close()


def _write_failure(path: Path) -> OSError:
    """Why HepMC3's writer failed - it says only that it did: the operating system's answer to a probe write at
    the end of its file (a full disk: ENOSPC)."""
    try:
        with open(path, "ab") as f:
            f.write(bytes(1 << 16))
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        return exc
    return OSError(errno.EIO, "HepMC3's writer failed")


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


MOMENTUM_UNITS, LENGTH_UNITS = (b"GEV", b"MEV"), (b"MM", b"CM")
"""The units a HepMC3 file may declare (its ``U`` records)."""


def _scan(path: Path) -> tuple[list[int], bool]:
    """Check the structure pyhepmc would trust, line by line, before it parses anything: every event
    (``E n_vertices n_particles``) has a weight record (``W``), valid units (``U``), as many particle records as
    it declares, and vertex and particle references that exist (a dangling one crashes HepMC3's reader). Returns
    the line numbers of the ``E`` records and whether the file names its weights (a ``W`` record before the
    first event)."""
    starts: list[int] = []
    named = False
    event: dict = {}

    def close() -> None:
        if not event:
            return
        where = f"event {len(starts)} (line {starts[-1]})"
        if not event["weights"]:
            raise FileFormatError(path, f"{where} has no weight record ('W' line): its weight is unknown")
        if event["particles"] != event["n_particles"]:
            raise FileFormatError(path, f"{where} declares {event['n_particles']} particles and holds "
                                  f"{event['particles']}")

    def bad(k: int, what: str) -> FileFormatError:
        return FileFormatError(path, f"line {k}: {what}")

    with open(path, "rb") as f:
        for k, line in enumerate(f, 1):
            tag = line[:2]
            if tag == b"E ":
                close()
                fields = line.split()
                try:
                    n_v, n_p = int(fields[2]), int(fields[3])
                except (IndexError, ValueError):
                    raise bad(k, "an event record 'E' without its vertex and particle counts") from None
                if not (0 <= n_v <= 10**6 and 0 < n_p <= 10**6):
                    raise bad(k, f"an event record declaring {n_v} vertices and {n_p} particles")
                starts.append(k)
                event = {"weights": False, "particles": 0, "n_particles": n_p, "n_vertices": n_v}
            elif tag == b"W ":
                if event:
                    event["weights"] = True
                else:
                    named = True
            elif tag == b"U " and event:
                units = line.split()[1:3]
                if len(units) != 2 or units[0] not in MOMENTUM_UNITS or units[1] not in LENGTH_UNITS:
                    raise bad(k, f"units {b' '.join(units).decode(errors='replace')!r}: HepMC3's are GEV or MEV and "
                              "MM or CM")
            elif tag == b"P " and event:
                fields = line.split()
                try:
                    pid, parent = int(fields[1]), int(fields[2])
                except (IndexError, ValueError):
                    raise bad(k, "a particle record 'P' without its id and parent") from None
                event["particles"] += 1
                if pid != event["particles"] or not -event["n_vertices"] <= parent < pid:
                    raise bad(k, f"particle {pid} with parent {parent}: a reference outside the event")
            elif tag == b"V " and event:
                fields = line.split()
                try:
                    vid = int(fields[1])
                    refs = [int(x) for x in fields[3].strip(b"[]").split(b",") if x] if len(fields) > 3 else []
                except ValueError:
                    raise bad(k, "a vertex record 'V' that cannot be read") from None
                if not -event["n_vertices"] <= vid <= -1 or any(not 1 <= r <= event["particles"] for r in refs):
                    raise bad(k, f"vertex {vid} refers to particles {refs} the event has not defined (a dangling "
                              "reference)")
    close()
    return starts, named


def read_hepmc(path: str | os.PathLike, roles: dict[str, int] | None = None, *, process: str | None = None,
               weight_unit: str | None = None) -> Events:
    """Read a HepMC3 ASCII file into :class:`Events`: the particles leaving the primary vertex.

    Parameters
    ----------
    roles : {slot: PDG id}, optional
        Default: recorded by mcdh in the file, else the signal slots with
        :data:`mcdh.io.lhe.PDG_IDS`.
    weight_unit : {"fb", "pb"}, optional
        Unit of the first event weight of a file without mcdh's exact
        ``mcdh_fb`` weight (default pb); required for a file that does not name its
        weights at all (no ``W`` record before the first event), which is refused
        otherwise. An event without a weight record, units other than GeV/MeV and
        mm/cm, or a reference to a particle or vertex the event does not define
        are refused before HepMC3's reader sees the file.
    """
    pyhepmc = require("pyhepmc", "hepmc", "reading HepMC3 files")
    path = Path(path)
    check_input_file(path)
    if weight_unit not in (None, "fb", "pb"):
        raise ParameterError("weight_unit", weight_unit, "must be 'fb' or 'pb'")
    with reading(path):
        with open(path, "rb") as f:
            head = f.read(64)
        if not head.startswith(b"HepMC::Version"):
            raise FileFormatError(path, "not a HepMC3 ASCII file (no 'HepMC::Version' first line)")
        with open(path, "rb") as raw:
            raw.seek(max(0, path.stat().st_size - 64))
            tail = raw.read()
        if b"HepMC::Asciiv3-END_EVENT_LISTING" not in tail:
            raise FileFormatError(path, "truncated: no 'HepMC::Asciiv3-END_EVENT_LISTING' at the end")
        starts, named = _scan(path)
        messages: list[str] = []
        with _stderr_to(messages):
            moms, weights, meta, names, n_read = _read_events(pyhepmc, path, roles, weight_unit if named else
                                                              _unit_without_names(path, weight_unit))
        if n_read != len(starts):
            k = n_read
            hint = "; ".join(line.strip() for m in messages for line in m.splitlines() if "ERROR" in line)[:300]
            raise FileFormatError(path, f"event {k + 1} (from line {starts[k] if k < len(starts) else '?'}) cannot be "
                                  f"parsed ({hint or 'HepMC3 reader stopped'}); nothing was read")
    if not moms:
        raise FileFormatError(path, "holds no readable events")
    params = dict(meta.get("parameters", {})) if meta else {}
    params["source"] = str(path)
    frame = meta["frame"] if meta else "cms"
    name = process or (meta["process"] if meta else "hepmc-import")
    return checked_events(path, np.asarray(moms, dtype=np.float64), np.asarray(weights, dtype=np.float64), names,
                          name, frame, params)


def _unit_without_names(path: Path, weight_unit: str | None) -> str:
    """A file that does not name its weights: which is pb and which fb is unknown unless the caller says."""
    if weight_unit is None:
        raise FileFormatError(path, "does not name its weights (no 'W' record before the first event): their unit "
                              "is unknown - read it with weight_unit='pb' or 'fb' (mcdh's files name them "
                              "Default|mcdh_fb)")
    return weight_unit


def _read_events(pyhepmc, path: Path, roles, weight_unit):
    """(momenta in GeV, weights in fb, mcdh header or None, slot names, events read) of a HepMC3 file."""
    moms: list[np.ndarray] = []
    weights: list[float] = []
    meta = None
    names: tuple[str, ...] = ()
    wanted: dict[int, str] = {}
    k_weight, to_fb = 0, 1.0
    n_read = 0
    with pyhepmc.open(str(path), "r", format="HepMC3") as reader:
        for i, evt in enumerate(reader):
            where = f"event {i + 1} (number {evt.event_number})"
            if i == 0:
                run = evt.run_info
                attrs = (run.attributes or {}) if run is not None else {}
                if "mcdh_parameters" in attrs:
                    try:
                        meta = json.loads(str(attrs["mcdh_parameters"]))
                    except ValueError:
                        raise FileFormatError(path, "its mcdh_parameters run attribute is not valid JSON") from None
                    meta = checked_header(path, meta, where="its mcdh_parameters run attribute")
                wnames = list(run.weight_names) if run is not None else []
                if WEIGHT_ID in wnames:  # mcdh's exact weight in fb
                    k_weight, to_fb = wnames.index(WEIGHT_ID), 1.0
                else:
                    unit = weight_unit or "pb"  # the HepMC3 convention: the first weight, in the unit of sigma
                    k_weight, to_fb = 0, (1.0 if unit == "fb" else 1.0 / PB_PER_FB)
                if roles is None:
                    roles = meta["pdg"] if meta else None
                if roles is None:
                    ids = {p.pid for p in evt.particles}
                    slots = ("gamma", "phi", "chi", "chibar") if 22 in ids else ("phi", "chi", "chibar")
                    roles = {k: PDG_IDS[k] for k in slots}
                roles = checked_roles(path, roles)
                names = tuple(roles)
                wanted = {v: k for k, v in roles.items()}
            gev = {pyhepmc.Units.GEV: 1.0, pyhepmc.Units.MEV: 1e-3}.get(evt.momentum_unit)
            if gev is None:
                raise FileFormatError(path, f"{where}: momentum unit {evt.momentum_unit} is neither GeV nor MeV")
            beams = [p for p in evt.particles if p.status == 4]
            if not beams or beams[0].end_vertex is None:
                raise FileFormatError(path, f"{where}: no beam particles (status 4)")
            prim = beams[0].end_vertex
            row = np.full((len(names), 4), np.nan)
            seen = dict.fromkeys(names, 0)
            for p in prim.particles_out:
                slot = wanted.get(int(p.pid))
                if slot is None:
                    continue
                seen[slot] += 1
                m = p.momentum
                row[names.index(slot)] = (m.e * gev, m.px * gev, m.py * gev, m.pz * gev)
            bad = {k: c for k, c in seen.items() if c != 1}
            if bad:
                raise FileFormatError(path, f"{where}: slot(s) "
                                      f"{', '.join(f'{k} found {c} times' for k, c in bad.items())} at the primary vertex")
            if len(evt.weights) <= k_weight:
                raise FileFormatError(path, f"{where}: {len(evt.weights)} weight(s), the run info names {k_weight + 1}")
            moms.append(row)
            weights.append(evt.weights[k_weight] * to_fb)
            n_read += 1
    return moms, weights, meta, names, n_read
