"""The event container passed from stage to stage, and the record of how a sample was made."""
from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from .errors import ParameterError


def sigma_and_error(w: np.ndarray) -> tuple[float, float]:
    """The cross section of weighted events, the sum of ``w`` (fb), and its Monte Carlo error.

    The one definition of the error used everywhere: the N w_i are i.i.d.
    estimates of sigma, so its standard error is std(N w, ddof=1) / sqrt(N)
    (inf for fewer than two events). For weights of very different sizes
    this is well below sqrt(sum w^2), the Poisson-like error of a histogram bin.
    """
    w = np.asarray(w, dtype=np.float64)
    n = w.size
    return float(w.sum()), (float(np.std(w * n, ddof=1) / math.sqrt(n)) if n > 1 else math.inf)


def _frozen(x: Any) -> Any:
    """A read-only deep copy of a JSON-like value (dicts become mappingproxies, lists tuples)."""
    if isinstance(x, Mapping):
        return MappingProxyType({str(k): _frozen(v) for k, v in x.items()})
    if isinstance(x, (list, tuple)):
        return tuple(_frozen(v) for v in x)
    if isinstance(x, np.ndarray):
        return tuple(_frozen(v) for v in x.tolist())
    if isinstance(x, np.generic):
        return x.item()
    return x


def _thawed(x: Any) -> Any:
    """A plain, mutable deep copy of a value made by :func:`_frozen` (dicts and lists, for JSON)."""
    if isinstance(x, Mapping):
        return {k: _thawed(v) for k, v in x.items()}
    if isinstance(x, tuple):
        return [_thawed(v) for v in x]
    return copy.copy(x)


@dataclass(frozen=True)
class SampleInfo:
    """How a sample was made: the one provenance record an :class:`Events` carries.

    Frozen: a selection or a concatenation makes a new record in which sigma
    and its error are recomputed and the operation is stated, so the record
    is true of the events it travels with.

    Attributes
    ----------
    process : str
        What made the sample, e.g. ``"signal-phi"`` or ``"background-gammaphi"``.
    frame : str
        ``"cms"`` or ``"lab"``.
    sigma_fb, sigma_err_fb : float
        Cross section of the sample in fb and its Monte Carlo error, in the one
        definition of :func:`sigma_and_error` (the generator's, or the file's
        for imported samples; recomputed after a selection or concatenation).
    sqrt_s : float or None
        Centre-of-mass energy in GeV, when recorded.
    seed : int or None
        The integer seed of the run, when it was made from one.
    model : mapping or None
        The dark-sector model that made a signal sample (``DarkSector.as_dict()``).
    selected : tuple (kept, of) or None
        Set by :meth:`Events.select`: how many events of how many were kept.
    parts : int
        Number of independent samples merged by :func:`concatenate` (1 otherwise).
    record : mapping
        Everything the generator or file recorded (generator settings,
        channel weights, beams, ...), read-only; :meth:`as_record` is the
        JSON form written to files.
    """

    process: str
    frame: str
    sigma_fb: float
    sigma_err_fb: float
    sqrt_s: float | None = None
    seed: int | None = None
    model: Mapping[str, Any] | None = None
    selected: tuple[int, int] | None = None
    parts: int = 1
    record: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), repr=False)

    @classmethod
    def from_record(cls, process: str, frame: str, record: Mapping[str, Any] | None,
                    weights: np.ndarray) -> SampleInfo:
        """The record of a sample from the parameters a generator or file gives.

        sigma and its error are the recorded ones where the record has them
        (a generator's or a file's header), otherwise those of ``weights``.
        """
        rec = _frozen(dict(record or {}))
        sigma, err = sigma_and_error(weights)
        sigma = float(rec.get("sigma_fb", sigma))
        err = float(rec.get("sigma_err_fb", err))
        sel = rec.get("selected")
        seed = rec.get("seed")
        return cls(process=str(process), frame=str(frame), sigma_fb=sigma, sigma_err_fb=err,
                   sqrt_s=None if rec.get("sqrt_s") is None else float(rec["sqrt_s"]),
                   seed=None if seed is None else int(seed), model=rec.get("model"),
                   selected=None if sel is None else (int(sel["kept"]), int(sel["of"])),
                   parts=int(rec.get("parts", 1)), record=rec)

    def as_record(self) -> dict[str, Any]:
        """The record as a plain JSON-ready dict (a fresh copy), with sigma, its error and the operations up to date."""
        out = _thawed(self.record)
        out["sigma_fb"], out["sigma_err_fb"] = self.sigma_fb, self.sigma_err_fb
        if self.selected is not None:
            out["selected"] = {"kept": self.selected[0], "of": self.selected[1]}
        if self.parts != 1:
            out["parts"] = self.parts
        if self.seed is None:
            out.pop("seed", None)
        return out


class Events:
    """A sample of weighted events and the record of how it was made.

    Parameters
    ----------
    momenta : array_like, shape (n_events, n_particles, 4)
        Four-momenta (E, px, py, pz) in GeV.
    weights : array_like, shape (n_events,)
        Event weights in fb: their sum is the cross section of the sample
        (expected events = sum of weights x luminosity in fb^-1).
    particles : sequence of str
        Name of each particle slot, e.g. ``("gamma", "phi", "chi", "chibar")``.
    process : str
        What made the sample, e.g. ``"background-phi"``.
    frame : str
        ``"cms"`` or ``"lab"``.
    parameters : mapping, optional
        What the generator or file recorded (masses, sqrt_s, seed, sigma, ...);
        becomes :attr:`info`.

    Attributes
    ----------
    info : SampleInfo
        The frozen record of how the sample was made; :attr:`parameters` is its JSON form.
    """

    __slots__ = ("momenta", "weights", "particles", "info")

    def __init__(self, momenta, weights, particles: Sequence[str], process: str, frame: str = "cms",
                 parameters: Mapping[str, Any] | None = None, *, info: SampleInfo | None = None):
        self.momenta = np.asarray(momenta, dtype=np.float64)
        self.weights = np.asarray(weights, dtype=np.float64)
        self.particles = tuple(particles)
        if self.momenta.ndim != 3 or self.momenta.shape[2] != 4:
            raise ParameterError("momenta", self.momenta.shape, "must have shape (n_events, n_particles, 4)")
        if self.momenta.shape[1] != len(self.particles):
            raise ParameterError("particles", self.particles, f"must name all {self.momenta.shape[1]} slots")
        if self.weights.shape != (self.momenta.shape[0],):
            raise ParameterError("weights", self.weights.shape, f"must have shape ({self.momenta.shape[0]},)")
        if frame not in ("cms", "lab"):
            raise ParameterError("frame", frame, "must be 'cms' or 'lab'")
        if info is None:
            info = SampleInfo.from_record(process, frame, parameters, self.weights)
        elif (info.process, info.frame) != (process, frame):
            raise ParameterError("info", (info.process, info.frame), f"must be of process {process!r} in frame {frame!r}")
        self.info = info

    def __repr__(self) -> str:
        return (f"Events({self.info.process!r}, {len(self)} events, particles={self.particles}, "
                f"frame={self.info.frame!r}, sigma={self.info.sigma_fb:.6g} fb)")

    def __len__(self) -> int:
        return self.momenta.shape[0]

    @property
    def process(self) -> str:
        """What made the sample, e.g. ``"signal-phi"``."""
        return self.info.process

    @property
    def frame(self) -> str:
        """``"cms"`` or ``"lab"``."""
        return self.info.frame

    @property
    def parameters(self) -> dict[str, Any]:
        """The record in JSON form (a fresh copy: editing it changes nothing)."""
        return self.info.as_record()

    @property
    def n_events(self) -> int:
        """Number of events (``len(events)``)."""
        return len(self)

    @property
    def sigma_fb(self) -> float:
        """Cross section of the sample in fb (sum of weights)."""
        return float(self.weights.sum())

    @property
    def sigma_err_fb(self) -> float:
        """Monte Carlo error of :attr:`sigma_fb` (see :func:`sigma_and_error`: the definition the generators record)."""
        return sigma_and_error(self.weights)[1]

    def expected_events(self, luminosity_fb: float) -> float:
        """Expected number of events for an integrated luminosity in fb^-1."""
        return self.sigma_fb * luminosity_fb

    def momentum(self, name: str) -> np.ndarray:
        """Four-momenta (n_events, 4) of the named particle slot."""
        try:
            return self.momenta[:, self.particles.index(name), :]
        except ValueError:
            raise ParameterError("name", name, f"must be one of {self.particles}") from None

    def with_momenta(self, momenta: np.ndarray, frame: str, **record: Any) -> Events:
        """The same events with other momenta (e.g. boosted), the record amended by ``record``."""
        rec = self.info.as_record()
        rec.update(record)
        info = SampleInfo.from_record(self.process, frame, rec, self.weights)
        return Events(momenta, self.weights.copy(), self.particles, self.process, frame, info=info)

    def chunk(self, start: int, stop: int) -> Events:
        """Events ``start:stop`` with the record of the whole sample (for writing a sample in pieces)."""
        return Events(self.momenta[start:stop], self.weights[start:stop], self.particles, self.process,
                      self.frame, info=self.info)

    def select(self, mask: np.ndarray) -> Events:
        """The events where ``mask`` is true (weights unchanged).

        The record stays true: its sigma and error become those of the
        selected events, and ``info.selected`` says how many of how many were kept.
        """
        mask = np.asarray(mask)
        if mask.dtype != bool or mask.shape != (len(self),):
            raise ParameterError("mask", mask.shape, f"must be a boolean array of shape ({len(self)},)")
        kept = self.weights[mask]
        sigma, err = sigma_and_error(kept)
        info = dataclasses.replace(self.info, sigma_fb=sigma, sigma_err_fb=err, selected=(int(mask.sum()), len(self)))
        return Events(self.momenta[mask], kept, self.particles, self.process, self.frame, info=info)


def concatenate(samples: Sequence[Events]) -> Events:
    """One sample from several independent samples of the same process, model and frame.

    Each sample's weights sum to its own estimate of sigma, so the merged
    weights are scaled by n_i / N: their sum is the event-weighted mean of
    the estimates (the estimate of the pooled N events), and sigma and its
    error are recomputed from them. The record keeps the first sample's
    settings, says how many samples were merged (``parts``), and keeps the
    seed only if all samples share it.

    The batches of one :class:`~mcdh.SignalStream` run, all of them in order,
    are parts of one sample: they are joined as they are.

    Raises
    ------
    ParameterError
        If the samples differ in process, frame, particle slots, sqrt(s) or model.
    """
    samples = list(samples)
    if not samples or not all(isinstance(s, Events) for s in samples):
        raise ParameterError("samples", samples, "must be a non-empty sequence of Events")
    first = samples[0]
    for s in samples[1:]:
        for what in ("process", "frame", "particles"):
            if getattr(s, what) != getattr(first, what):
                raise ParameterError(f"samples[].{what}", getattr(s, what), f"must equal the first sample's {getattr(first, what)!r}")
        for what in ("sqrt_s", "model"):
            if getattr(s.info, what) != getattr(first.info, what):
                raise ParameterError(f"samples[].info.{what}", getattr(s.info, what),
                                     f"must equal the first sample's {getattr(first.info, what)!r}")
    n_total = sum(len(s) for s in samples)
    if n_total == 0:
        raise ParameterError("samples", [len(s) for s in samples], "must hold at least one event")
    if _whole_run(samples):  # the batches of one SignalStream, in order: their weights already add up
        weights = np.concatenate([s.weights for s in samples])
        record = dict(first.info.record)
        del record["batch"]
        info = SampleInfo.from_record(first.process, first.frame, record, weights)
    else:
        weights = np.concatenate([s.weights * (len(s) / n_total) for s in samples])
        sigma, err = sigma_and_error(weights)
        seeds = {s.info.seed for s in samples}
        info = dataclasses.replace(first.info, sigma_fb=sigma, sigma_err_fb=err, selected=None,
                                   parts=sum(s.info.parts for s in samples),
                                   seed=seeds.pop() if len(seeds) == 1 else None)
    return Events(np.concatenate([s.momenta for s in samples]), weights, first.particles, first.process,
                  first.frame, info=info)


def _whole_run(samples: list[Events]) -> bool:
    """Whether ``samples`` are all the batches of one stream, in order (records with "batch")."""
    if len({s.info.seed for s in samples}) != 1:
        return False
    first, total = 0, None
    for s in samples:
        b = s.info.record.get("batch")
        if b is None or b["first"] != first or b["events"] != len(s) or total not in (None, b["of"]):
            return False
        first, total = first + len(s), b["of"]
    return first == total
