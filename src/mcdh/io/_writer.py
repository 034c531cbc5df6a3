"""What the event writers share: the streaming frame (temporary file, rename on success), PDG ids, beams, masses."""
from __future__ import annotations

import contextlib
import math
import os
import sys
from pathlib import Path

import numpy as np

from .._atomic import atomic_path
from ..errors import ParameterError, check_roles
from ..events import Events
from ..kinematics.beams import Beams
from ..kinematics.variables import mass

PDG_IDS = {"gamma": 22, "phi": 54, "chi": 52, "chibar": -52, "A'": 55, "e-": 11, "e+": -11}
"""PDG ids used on export (and by default on import)."""

WEIGHT_ID = "mcdh_fb"
"""Name of the exact mcdh weight (fb) in LHE and HepMC3 files."""

PB_PER_FB = 1e-3


def roles_for(particles, pdg: dict | None = None) -> dict[str, int]:
    """PDG id of each particle slot: ``pdg`` overrides :data:`PDG_IDS`."""
    table = dict(PDG_IDS)
    table.update(pdg or {})
    missing = [p for p in particles if p not in table]
    if missing:
        raise ParameterError("pdg", pdg, f"give PDG ids for {missing}")
    return check_roles({p: table[p] for p in particles}, "pdg")


def beam_momenta(events: Events) -> np.ndarray:
    """Four-momenta (2, 4) of the incoming e- and e+ in the events' frame."""
    rs = float(events.parameters.get("sqrt_s", mass(events.momenta[0].sum(axis=0))))
    cms = np.array([[rs / 2, 0.0, 0.0, rs / 2], [rs / 2, 0.0, 0.0, -rs / 2]])
    if events.frame == "cms":
        return cms
    b = events.parameters.get("beams") or {}
    beams = Beams(**{k: b[k] for k in ("e_minus", "e_plus", "alpha_minus", "alpha_plus") if k in b})
    return beams.to_lab(cms[None])[0]


def nominal_masses(events: Events) -> dict[str, float]:
    """Pole masses of the particle slots from the run parameters (photon: 0)."""
    par = events.parameters
    src = par.get("model") or par
    out = {"gamma": 0.0}
    if "m_phi" in src and "m_chi" in src:
        out.update(phi=float(src["m_phi"]), chi=float(src["m_chi"]), chibar=float(src["m_chi"]))
    return out


class EventWriter:
    """Write events to ``path`` chunk by chunk, as a context manager.

    The file is written under a temporary name next to ``path`` and renamed
    onto it only when the ``with`` block ends without an exception; on an
    exception (or Ctrl-C) the temporary file is removed and ``path`` is left
    as it was. Subclasses implement ``_open``, ``_write`` and ``_finish``.
    """

    max_chunk = 200_000
    """Events handed to ``_write`` at a time (bounds the memory of the conversion)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.n_written = 0
        self.parameters: dict | None = None
        self._stack = contextlib.ExitStack()
        self._particles: tuple[str, ...] | None = None
        self._w_sums = np.zeros(2)  # sum w, sum w^2 of the events written (of the current tree)

    def __enter__(self):
        self.tmp = self._stack.enter_context(atomic_path(self.path))
        try:
            self._open()
        except BaseException:
            self._stack.__exit__(*sys.exc_info())
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self._finish()
            else:
                self._abort()
        except BaseException:
            self._abort()
            if not self._stack.__exit__(*sys.exc_info()):
                raise
            return False
        return self._stack.__exit__(exc_type, exc, tb)

    def write(self, events: Events) -> None:
        """Append a chunk of events (all chunks must have the same particle slots)."""
        if not isinstance(events, Events):
            raise ParameterError("events", type(events).__name__, "must be an Events")
        if self._particles is None:
            self._particles = events.particles
        elif events.particles != self._particles:
            raise ParameterError("events.particles", events.particles, f"must match the first chunk's {self._particles}")
        step = self.max_chunk
        for start in range(0, len(events), step):
            stop = min(len(events), start + step)
            part = events if (start == 0 and stop == len(events)) else events.chunk(start, stop)
            self._write(part)
            self.n_written += len(part)
            self._w_sums += (part.weights.sum(), np.square(part.weights).sum())

    def _record(self, first: Events) -> dict:
        """The run record the file stores: :meth:`set_parameters`' or else the first chunk's.

        When the chunks are the batches of a stream, the first one's record
        states only its own sigma: the run's is that of all events written.
        """
        if self.parameters is not None:
            return self.parameters
        record = first.parameters
        if record.pop("batch", None) is not None:
            n, (s1, s2) = self.n_written, self._w_sums
            record["sigma_fb"] = float(s1)
            record["sigma_err_fb"] = math.sqrt(max(s2 - s1 * s1 / n, 0.0) * n / (n - 1)) if n > 1 else math.inf
        return record

    def _record_before_writing(self, first: Events) -> dict:
        """The record for a header written before the events (HepMC3's run info): the first chunk's, without
        the partial sigma of a stream's first batch (the run's sigma is known only at the end)."""
        record = first.parameters
        if record.pop("batch", None) is not None:
            record.pop("sigma_fb", None)
            record.pop("sigma_err_fb", None)
        return record

    def set_parameters(self, parameters: dict) -> None:
        """Run parameters to store when the file is closed (default: those of the first chunk)."""
        self.parameters = dict(parameters)

    # subclass hooks
    def _open(self) -> None:
        pass

    def _write(self, events: Events) -> None:
        raise NotImplementedError

    def _finish(self) -> None:
        pass

    def _abort(self) -> None:
        pass
