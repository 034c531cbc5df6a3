"""Les Houches event files: export (our own writer) and import (pylhe).

Export
------
:class:`LHEWriter` / :func:`write_lhe` write LHEF 3.0 with

* ``<init>``: e- (beam 1) and e+ (beam 2) with their energies, IDWTUP = +4
  (weighted events; sigma = average of XWGTUP, MadGraph's ``event_norm =
  average``), XSECUP and XERRUP in pb;
* per event: the beams (status -1) and the final state (status 1) with the
  PDG ids of :data:`PDG_IDS` (PDG Monte Carlo numbering for dark matter:
  52 spin-1/2 DM, 54 scalar mediator, 55 vector mediator), XWGTUP in pb, the
  dark Higgs' proper decay length c tau (VTIMUP, mm) sampled from its
  lifetime so that a shower or detector simulation places the displaced
  vertex, and the exact mcdh weight in fb as the LHEF 3 named weight
  ``mcdh_fb`` (``<rwgt>``), declared in ``<initrwgt>``;
* the sample's particle slots, process, frame and parameters as JSON in
  ``<header><mcdh>``, so that :func:`read_lhe` gives back the same events.

Numbers are printed with 17 significant digits: momenta and weights
survive a round trip bit for bit.

Import
------
:func:`read_lhe` reads any LHE file (e.g. MadGraph's) with pylhe: particle
roles by configurable PDG ids, the weight normalisation (average or sum)
from the ``<init>`` cross section, sigma from ``<init>``. A malformed or
truncated file raises :class:`~mcdh.errors.FileFormatError` naming the path
and the line or event; nothing is returned half-read.
"""
from __future__ import annotations

import gzip
import json
import math
import os
import re
import shutil
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from .._atomic import json_default
from .._version import __version__
from ..errors import FileFormatError, ParameterError, check_count, check_roles
from ..events import Events
from ..generate.decays import PhiDecayer, signal_model
from ..kinematics.variables import mass
from ..physics.constants import ALPHA_EM
from ._validate import check_input_file, checked_events, checked_header, reading
from ._writer import PB_PER_FB, PDG_IDS, WEIGHT_ID, EventWriter, beam_momenta, nominal_masses, roles_for

_F = "{: .16e}"


class LHEWriter(EventWriter):
    """Stream events into a new LHE file (``.lhe`` or ``.lhe.gz``), atomically.

    Parameters
    ----------
    path : path
    n_events : int
        Total number of events that will be written (XWGTUP is normalised so
        that its average is sigma, which needs it up front).
    pdg : dict, optional
        PDG ids per particle slot, overriding :data:`PDG_IDS`.
    seed : int
        Seed of the sampled phi decay lengths (VTIMUP).
    """

    max_chunk = 20_000

    def __init__(self, path, n_events: int, *, pdg: dict | None = None, seed: int = 0):
        super().__init__(path)
        self.n_events = check_count("n_events", n_events, 1)
        self.pdg = pdg
        self._seed = seed
        self._sum_w = 0.0
        self._max_xwgt = 0.0
        self._first: Events | None = None
        self._template: str | None = None

    def _open(self):
        self._body_path = self.tmp.with_name(self.tmp.name + ".body")
        self._body = open(self._body_path, "w")

    def _write(self, events: Events):
        if self._first is None:
            self._first = events
            self._ids = roles_for(events.particles, self.pdg)
            self._beam_p = beam_momenta(events)
            self._model = signal_model(events)
            # the phi's proper decay length from the decay stage (VTIMUP); no daughters: a shower decays it
            self._decayer = PhiDecayer.for_events(events, self._seed, daughters=False)
            self._scale = float(events.parameters.get("sqrt_s", 10.58))
            self._masses = nominal_masses(events)
        if self.n_written + len(events) > self.n_events:
            raise ParameterError("n_events", self.n_events, "is smaller than the number of events written")
        p = events.momenta
        m = mass(p)
        for k, name in enumerate(events.particles):  # the nominal mass where known (no rounding residue)
            if name in self._masses:
                m[:, k] = self._masses[name]
        xwgt = events.weights * (self.n_events * PB_PER_FB)
        self._sum_w += float(events.weights.sum())
        self._max_xwgt = max(self._max_xwgt, float(np.abs(xwgt).max()))
        k_phi = events.particles.index("phi") if "phi" in events.particles else -1
        n = len(events)
        tau = self._decayer(p[:, k_phi]).proper_length_mm if self._decayer is not None else np.zeros(n)
        if self._template is None:
            self._template = self._event_template(events.particles)
        # one row of numbers per event, in the template's order: one %-format per event
        npart = len(events.particles)
        cols = np.empty((n, 1 + 6 * npart + 1))
        cols[:, 0] = xwgt
        for k in range(npart):
            c = 1 + 6 * k
            cols[:, c:c + 3] = p[:, k, 1:4]
            cols[:, c + 3] = p[:, k, 0]
            cols[:, c + 4] = m[:, k]
            cols[:, c + 5] = tau if k == k_phi else 0.0
        cols[:, -1] = events.weights
        t = self._template
        self._body.write("".join([t % tuple(row) for row in cols.tolist()]))

    def _event_template(self, particles) -> str:
        """The text of one event with %-fields for the numbers that change (17 significant digits)."""
        f = "% .16e"
        esc = lambda x: ("% .16e" % x).replace("%", "%%")  # noqa: E731 - constants baked into the template
        beams = "".join(
            f"{pid:>9d} -1 0 0 0 0 {esc(b[1])} {esc(b[2])} {esc(b[3])} {esc(b[0])} {esc(0.0)} 0.0 9.0\n"
            for pid, b in ((11, self._beam_p[0]), (-11, self._beam_p[1]))
        )
        alpha = self._model.alpha_em if self._model is not None else ALPHA_EM
        lines = [f"<event>\n{2 + len(particles)} 1 {f} {esc(self._scale)} {esc(alpha)} {esc(0.0)}\n", beams]
        for name in particles:
            lines.append(f"{self._ids[name]:>9d} 1 1 2 0 0 {f} {f} {f} {f} {f} %.9e 9.0\n")
        lines.append(f'<rwgt>\n<wgt id="{WEIGHT_ID}">{f}</wgt>\n</rwgt>\n</event>\n')
        return "".join(lines)

    def _finish(self):
        self._body.close()
        if self._first is None:
            raise ParameterError("events", 0, "no events were written")
        if self.n_written != self.n_events:
            raise ParameterError("n_events", self.n_events, f"but {self.n_written} events were written")
        ev = self._first
        params = self._record(ev)
        meta = {"mcdh_version": __version__, "particles": list(ev.particles), "process": ev.process,
                "frame": ev.frame, "pdg": self._ids, "n_events": self.n_written,
                "parameters": json.loads(json.dumps(params, default=json_default))}
        sigma_pb = self._sum_w * PB_PER_FB
        err = params.get("sigma_err_fb")
        err_pb = float(err) * PB_PER_FB if err is not None and math.isfinite(err) else 0.0
        b = self._beam_p
        head = "\n".join([
            '<LesHouchesEvents version="3.0">',
            "<header>",
            f"<mcdh version=\"{__version__}\"><![CDATA[{json.dumps(meta)}]]></mcdh>",
            "<initrwgt>",
            '<weightgroup name="mcdh" combine="none">',
            f'<weight id="{WEIGHT_ID}">mcdh event weight in fb (sum over the file = cross section)</weight>',
            "</weightgroup>",
            "</initrwgt>",
            "</header>",
            "<init>",
            f"11 -11 {_F.format(b[0][0])} {_F.format(b[1][0])} 0 0 0 0 4 1",
            f"{_F.format(sigma_pb)} {_F.format(err_pb)} {_F.format(self._max_xwgt)} 1",
            f'<generator name="mcdh" version="{__version__}">{ev.process}</generator>',
            "</init>",
            "",
        ])
        opener = gzip.open if self.path.suffix == ".gz" else open
        with opener(self.tmp, "wt") as f, open(self._body_path) as body:
            f.write(head)
            shutil.copyfileobj(body, f)
            f.write("</LesHouchesEvents>\n")
        os.unlink(self._body_path)

    def _abort(self):
        body = getattr(self, "_body", None)
        if body is not None:
            body.close()
            Path(self._body_path).unlink(missing_ok=True)


def write_lhe(path, events: Events, *, pdg: dict | None = None, seed: int = 0) -> Path:
    """Write ``events`` to a new LHE file (see :class:`LHEWriter`)."""
    with LHEWriter(path, len(events), pdg=pdg, seed=seed) as out:
        out.write(events)
    return Path(path)


# ----------------------------------------------------------------------
# import

def _locate_xml_error(path: Path) -> str:
    """Where ``path`` stops being well-formed XML ("line L, column C: ..."), or "" if it is well-formed."""
    try:
        with _open_binary(path) as f:
            for _ in ET.iterparse(f, events=("end",)):
                pass
    except ET.ParseError as exc:
        line, col = exc.position
        return f"line {line}, column {col}: {str(exc).split(':')[0]}"
    except (OSError, EOFError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return ""


def _locate_token(path: Path, token: str) -> str:
    """"line L" of the first line holding ``token`` (a value the parser refused), or ""."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", errors="replace") as f:
        for k, line in enumerate(f, 1):
            if token in line.split():
                return f"line {k}"
    return ""


def _bad_file(path: Path, what: str, exc: Exception | None = None) -> FileFormatError:
    where = _locate_xml_error(path)
    if not where and exc is not None:  # well-formed XML, but a number pylhe could not read
        m = re.search(r"'([^']+)'", str(exc))
        where = _locate_token(path, m.group(1)) if m else ""
    return FileFormatError(path, f"{what}" + (f" at {where}" if where else "") + "; nothing was read")


def _open_binary(path: Path):
    """``path`` opened for reading bytes, decompressed if it is ``.gz``."""
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")


class _LargeReads:
    """A binary file (plain or gzipped) whose reads return 64 MiB whatever is asked.

    ElementTree's iterparse feeds expat 16 KiB at a time, and expat rescans a
    token that spans feeds from its start at every feed: a 10 MB comment in
    the header took 8 s, 20 MB 32 s. With 64 MiB feeds a token of up to that
    size is scanned once (a 50 MB comment: 0.2 s).
    """

    CHUNK = 1 << 26

    def __init__(self, path: Path):
        self._f = _open_binary(path)

    def read(self, n: int = -1) -> bytes:
        return self._f.read(n if n is None or n < 0 else max(n, self.CHUNK))

    def close(self) -> None:
        self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_lhe_header(path: str | os.PathLike, *, max_bytes: int = 1 << 26) -> dict:
    """mcdh's header record of an LHE file (its ``<mcdh>`` block), read without reading the events."""
    meta = _header_record(Path(path), max_bytes)
    if meta is None:
        raise FileFormatError(path, "has no <mcdh> header block (not written by mcdh)")
    return meta


def _header_record(path: Path, max_bytes: int | None = None) -> dict | None:
    """The checked ``<mcdh>`` record of an LHE file's header, or None where it has none (within ``max_bytes``).
    Read by mcdh itself, not through pylhe (whose header support differs between versions: 1.x drops unknown
    header blocks). Linear in the header's size: each block is searched once for the header's end."""
    check_input_file(path)
    with reading(path), _open_binary(path) as f:
        head = bytearray()
        while max_bytes is None or len(head) < max_bytes:
            block = f.read(1 << 20)
            if not block:
                break
            start = max(0, len(head) - 8)  # an end tag may straddle two blocks
            head += block
            if head.find(b"</header>", start) >= 0 or head.find(b"<event", start) >= 0:
                break
    m = re.search(rb"<mcdh[^>]*><!\[CDATA\[(.*?)\]\]></mcdh>", bytes(head), re.S)
    if m is None:
        return None
    try:
        meta = json.loads(m.group(1))
    except (ValueError, RecursionError):
        raise FileFormatError(path, "the <mcdh> header block is not valid JSON") from None
    return checked_header(path, meta, where="its <mcdh> header block")


def read_lhe(
    path: str | os.PathLike,
    roles: dict[str, int] | None = None,
    *,
    process: str | None = None,
    normalisation: str = "auto",
    frame: str | None = None,
) -> Events:
    """Read an LHE file (plain or gzipped) into :class:`Events`.

    Parameters
    ----------
    path : path
    roles : {slot name: PDG id}, optional
        Which final-state particle fills which slot; each must occur exactly
        once per event (status 1, or 2 for a particle decayed in the file).
        Default: the slots recorded by mcdh in the file, else the signal
        slots ``gamma, phi, chi, chibar`` (``phi, chi, chibar`` if the file
        has no photon) with :data:`PDG_IDS`.
    process : str, optional
        Name of the sample (default: the recorded one, else ``"lhe-import"``).
    normalisation : {"auto", "average", "sum"}
        How XWGTUP relates to the cross section: MadGraph's ``event_norm =
        average`` (sigma = mean of the weights) or ``sum``. ``auto`` picks the
        one matching the ``<init>`` cross section. Ignored when the file has
        mcdh's exact ``mcdh_fb`` weights.
    frame : {"cms", "lab"}, optional
        Default: recorded by mcdh, else ``cms`` for equal beam energies.

    Returns
    -------
    Events
        Weights in fb summing to the file's cross section for the events it
        holds; ``parameters`` holds sigma and its error from ``<init>``, the
        beams, the weighting strategy and (for mcdh files) the run parameters.
    """
    import pylhe

    path = Path(path)
    check_input_file(path)
    if normalisation not in ("auto", "average", "sum"):
        raise ParameterError("normalisation", normalisation, "must be 'auto', 'average' or 'sum'")
    with reading(path):
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                lhe = pylhe.LHEFile.frombuffer(_LargeReads(path), generator=False)
                init = lhe.init
                events = list(lhe.events)
            # pylhe reports XML errors met while reading events as warnings and stops there:
            # a truncated or corrupt file must not come back half-read
            for w in caught:
                if issubclass(w.category, RuntimeWarning) and "Parse Error" in str(w.message):
                    raise _bad_file(path, "not a well-formed LHE file")
        except (FileFormatError, RecursionError, MemoryError):
            raise
        except (ET.ParseError, ValueError, IndexError, KeyError, AttributeError, TypeError) as exc:
            raise _bad_file(path, f"not a readable LHE file ({type(exc).__name__}: {exc})", exc) from None
    if init is None or not init.procInfo:
        raise FileFormatError(path, "no <init> block with a cross section")

    meta = _header_record(path)
    if roles is None and meta is not None:
        roles = meta["pdg"]
    n = len(events)
    if n == 0:
        raise FileFormatError(path, "holds no events")
    if meta is not None and meta.get("n_events") not in (None, n):
        raise FileFormatError(path, f"holds {n} events, its mcdh header says {meta['n_events']}")
    if roles is None:
        ids = {p.id for p in events[0].particles if p.status == 1}
        names: tuple[str, ...] = ("gamma", "phi", "chi", "chibar") if PDG_IDS["gamma"] in ids else ("phi", "chi", "chibar")
        roles = {k: PDG_IDS[k] for k in names}
    roles = check_roles(roles)
    names = tuple(roles)
    wanted = {v: k for k, v in roles.items()}

    mom = np.empty((n, len(names), 4))
    xwgt = np.empty(n)
    exact = np.empty(n)
    have_exact = True
    for i, ev in enumerate(events):
        try:
            nup = ev.eventinfo.nparticles
            if nup != len(ev.particles):  # NUP says how many particle lines follow: a reader that trusts it
                raise FileFormatError(path, f"event {i + 1}: NUP = {nup:g} but the event holds {len(ev.particles)} "
                                      "particle lines")
            seen = dict.fromkeys(names, 0)
            for p in ev.particles:
                slot = wanted.get(int(p.id))
                if slot is None or p.status not in (1, 2):
                    continue
                seen[slot] += 1
                mom[i, names.index(slot)] = (p.e, p.px, p.py, p.pz)
            bad = {k: c for k, c in seen.items() if c != 1}
            if bad:
                raise FileFormatError(
                    path, f"event {i + 1}: slot(s) {', '.join(f'{k} (PDG {roles[k]}) found {c} times' for k, c in bad.items())}; "
                    "each must appear exactly once (give the PDG id of each slot: roles=..., mcdh analyze --roles)")
            xwgt[i] = ev.eventinfo.weight
            w_fb = ev.weights.get(WEIGHT_ID) if ev.weights else None
            if w_fb is None:
                have_exact = False
            else:
                exact[i] = w_fb
        except FileFormatError:
            raise
        except (AttributeError, TypeError, ValueError) as exc:
            raise FileFormatError(path, f"event {i + 1}: malformed ({type(exc).__name__}: {exc})") from None
    sigma_pb = float(sum(pi.xSection for pi in init.procInfo))
    err_pb = float(math.sqrt(sum(pi.error**2 for pi in init.procInfo)))
    if not (math.isfinite(sigma_pb) and sigma_pb > 0 and math.isfinite(err_pb)):
        raise FileFormatError(path, f"<init>: the cross section must be finite and > 0 (XSECUP {sigma_pb:g} pb, XERRUP {err_pb:g} pb)")
    norm_used = "mcdh_fb"
    if have_exact:
        weights = exact
    else:
        norm_used = normalisation
        if normalisation == "auto":
            mean, total = float(xwgt.mean()), float(xwgt.sum())
            norm_used = "average" if abs(mean - sigma_pb) <= abs(total - sigma_pb) else "sum"
        weights = xwgt / PB_PER_FB / (n if norm_used == "average" else 1)
    info = init.initInfo
    e1, e2 = float(info.energyA), float(info.energyB)
    if frame is None:
        frame = meta["frame"] if meta is not None else ("cms" if math.isclose(e1, e2, rel_tol=1e-9) else "lab")
    if frame not in ("cms", "lab"):
        raise ParameterError("frame", frame, "must be 'cms' or 'lab'")
    params = dict(meta["parameters"]) if meta is not None else {}
    params.update({
        "source": str(path),
        "lhe_sigma_fb": sigma_pb / PB_PER_FB,
        "lhe_sigma_err_fb": err_pb / PB_PER_FB,
        "beam_ids": [int(info.beamA), int(info.beamB)],
        "beam_energies": [e1, e2],
        "weighting_strategy": int(info.weightingStrategy),
        "weight_normalisation": norm_used,
        "roles": {k: int(v) for k, v in roles.items()},
    })
    if meta is None:
        params.setdefault("sqrt_s", e1 + e2 if frame == "cms" else 2.0 * math.sqrt(e1 * e2))
        params["sigma_fb"] = sigma_pb / PB_PER_FB
        params["sigma_err_fb"] = err_pb / PB_PER_FB
    name = process or (meta["process"] if meta is not None else "lhe-import")
    return checked_events(path, mom, weights, names, name, frame, params)
