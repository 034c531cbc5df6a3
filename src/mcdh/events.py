"""The event container passed from stage to stage."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
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


@dataclass
class Events:
    """A sample of weighted events.

    Attributes
    ----------
    momenta : ndarray, shape (n_events, n_particles, 4)
        Four-momenta (E, px, py, pz) in GeV.
    weights : ndarray, shape (n_events,)
        Event weights in fb: their sum is the cross section of the sample
        (expected events = sum of weights x luminosity in fb^-1).
    particles : tuple of str
        Name of each particle slot, e.g. ``("gamma", "phi", "chi", "chibar")``.
    process : str
        What made the sample, e.g. ``"background-phi"``.
    frame : str
        ``"cms"`` or ``"lab"``.
    parameters : dict
        The parameters that made the sample (masses, sqrt_s, seed, ...).
    """

    momenta: np.ndarray
    weights: np.ndarray
    particles: tuple[str, ...]
    process: str
    frame: str = "cms"
    parameters: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        self.momenta = np.asarray(self.momenta, dtype=np.float64)
        self.weights = np.asarray(self.weights, dtype=np.float64)
        self.particles = tuple(self.particles)
        if self.momenta.ndim != 3 or self.momenta.shape[2] != 4:
            raise ParameterError("momenta", self.momenta.shape, "must have shape (n_events, n_particles, 4)")
        if self.momenta.shape[1] != len(self.particles):
            raise ParameterError("particles", self.particles, f"must name all {self.momenta.shape[1]} slots")
        if self.weights.shape != (self.momenta.shape[0],):
            raise ParameterError("weights", self.weights.shape, f"must have shape ({self.momenta.shape[0]},)")

    def __len__(self) -> int:
        return self.momenta.shape[0]

    @property
    def n_events(self) -> int:
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

    def select(self, mask: np.ndarray) -> Events:
        """The events where ``mask`` is true (weights unchanged).

        The record stays true: ``parameters["sigma_fb"]`` and ``["sigma_err_fb"]``
        become those of the selected events, and ``["selected"]`` says how many
        of how many were kept.
        """
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (len(self),):
            raise ParameterError("mask", mask.shape, f"must be a boolean array of shape ({len(self)},)")
        params = dict(self.parameters)
        kept = self.weights[mask]
        if "sigma_fb" in params:
            params["sigma_fb"], params["sigma_err_fb"] = sigma_and_error(kept)
        params["selected"] = {"kept": int(mask.sum()), "of": len(self)}
        return Events(self.momenta[mask], kept, self.particles, self.process, self.frame, params)
