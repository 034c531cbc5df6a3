"""Lifetime reweighting: one simulated sample of long-lived phi made equal to a sample at any c tau.

A phi with lab decay length L (production to decay vertex, 3-D) and beta gamma = p / m was
generated with the density f0(L) of one of

* ``exponential`` at c tau_0:  f0 = exp(-L / lambda_0) / lambda_0,  lambda_0 = beta gamma c tau_0;
* ``flat`` in [L_min, L_max]:  f0 = 1 / (L_max - L_min) (basf2's GeneratedVertexDisplacer ``flat``:
  L_min = 0, L_max = maxDecayTime),

and the target at c tau is f(L) = exp(-L / lambda) / lambda. The weight w = f(L) / f0(L) makes
the sample equal to the target's in every distribution of L and of what follows from it (the
decay radius, the vertex position, the detector response) - exactly, for the L the source covers
(the flat source has no events beyond L_max: w = 0 there, and the weights' sum is the target's
probability to decay within [L_min, L_max]).

The kernel fills one contiguous row of weights per target (numba, parallel over targets) with its
sums of w and w^2, in chunks, so a ntuple of any length is reweighted in bounded memory.
"""
from __future__ import annotations

import math

import numpy as np

from .._jit import nb
from ..errors import ParameterError

SOURCES = ("exponential", "flat")
"""How the sample's decay lengths were generated."""


@nb.njit(cache=True, parallel=True, nogil=True)
def _weights(x, f, scale, rate, out, sums):
    # w[k, i] = scale[k] * f[i] * exp(rate[k] * x[i]), x = L / beta gamma the proper decay length; out (targets,
    # events): each target's row contiguous, filled by a loop the compiler keeps branch-free; sums[k] = (sum w,
    # sum w^2) of target k
    k_max, n = out.shape
    for k in nb.prange(k_max):
        row = out[k]
        a, r = scale[k], rate[k]
        s1 = 0.0
        s2 = 0.0
        for i in range(n):
            w = a * f[i] * math.exp(r * x[i])
            row[i] = w
            s1 += w
            s2 += w * w
        sums[k, 0] = s1
        sums[k, 1] = s2


def lifetime_weights(length, beta_gamma, ctau, source: str = "exponential", *, ctau0: float | None = None,
                     flat_range: tuple[float, float] | None = None, with_sums: bool = False,
                     out: np.ndarray | None = None):
    """(n_targets, n_events) weights taking decay lengths ``length`` (beta gamma ``beta_gamma``) generated as
    ``source`` (``exponential`` with ``ctau0``, or ``flat`` over ``flat_range``) to each c tau of ``ctau``
    (one contiguous row per target). Lengths in any unit, the same for all of them. ``with_sums``: also the
    (n_targets, 2) sums of w and w^2. ``out``: a C-contiguous float64 or float32 (n_targets, n_events) array
    to fill (a streamed caller reuses one buffer rather than fresh memory per chunk; the sums are those of the
    float64 weights before they are stored)."""
    L = np.ascontiguousarray(length, dtype=np.float64).ravel()
    bg = np.ascontiguousarray(beta_gamma, dtype=np.float64).ravel()
    targets = np.ascontiguousarray(np.atleast_1d(ctau), dtype=np.float64)
    if L.shape != bg.shape:
        raise ParameterError("beta_gamma", bg.shape, f"must match the lengths' shape {L.shape}")
    if not (targets.size and np.all(np.isfinite(targets)) and np.all(targets > 0)):
        raise ParameterError("ctau", targets.tolist(), "must be one or more finite c tau > 0")
    bad = ~(np.isfinite(L) & np.isfinite(bg) & (L >= 0) & (bg > 0))
    if bad.any():
        raise ParameterError("length", f"{int(bad.sum())} events", "must have finite decay lengths >= 0 and "
                             "beta gamma > 0 (check the momentum and vertex branches)")
    # w = f(L) / f0(L) = scale * f_i * exp(rate * x_i), x_i = L_i / beta gamma_i:
    #   exponential: (c tau_0 / c tau) exp(x (1 / c tau_0 - 1 / c tau)), f_i = 1;
    #   flat:        (1 / c tau) exp(-x / c tau), f_i = (L_max - L_min) / beta gamma_i inside the range, else 0
    if source == "exponential":
        if ctau0 is None or not (math.isfinite(ctau0) and ctau0 > 0):
            raise ParameterError("ctau0", ctau0, "must be the generated c tau (> 0) of an exponential source")
        scale, rate, f = ctau0 / targets, 1.0 / ctau0 - 1.0 / targets, np.ones_like(L)
    elif source == "flat":
        if flat_range is None or len(flat_range) != 2 or not (0 <= flat_range[0] < flat_range[1] < math.inf):
            raise ParameterError("flat_range", flat_range, "must be (L_min, L_max) with 0 <= L_min < L_max")
        lo, hi = float(flat_range[0]), float(flat_range[1])
        scale, rate = 1.0 / targets, -1.0 / targets
        f = np.where((L >= lo) & (L <= hi), (hi - lo) / bg, 0.0)
    else:
        raise ParameterError("source", source, f"must be one of {', '.join(SOURCES)}")
    if out is None:
        out = np.empty((targets.size, L.size))
    elif (out.shape != (targets.size, L.size) or out.dtype not in (np.float64, np.float32)
          or not out.flags.c_contiguous):
        raise ParameterError("out", out.shape, "must be a C-contiguous float64 or float32 array of shape "
                             f"{(targets.size, L.size)}")
    sums = np.empty((targets.size, 2))
    _weights(L / bg, f, scale, rate, out, sums)
    return (out, sums) if with_sums else out
