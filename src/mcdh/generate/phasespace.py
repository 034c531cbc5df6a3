"""Flat n-body phase space: RAMBO (Kleiss, Stirling, Ellis 1986).

The generator itself is C (``csrc/rambo.c``) reached through Cython; this
module validates inputs, splits the work into fixed chunks with independent
random streams and runs them on threads with the GIL released.

Phase-space convention
----------------------
Weights are elements of

    Phi_n = int prod_i d^3p_i / (2 E_i)  delta^4(P - sum_i p_i)

(no factors of 2 pi), so the mean weight estimates Phi_n. For massless
particles Phi_n = (pi/2)^(n-1) s^(n-2) / ((n-1)! (n-2)!). The Lorentz-invariant
phase space with the usual (2 pi) factors is ``lips_factor(n) * Phi_n``.

Reproducibility
---------------
Events are produced in chunks of :data:`CHUNK_EVENTS`. The caller's generator
supplies one 256-bit key (four 64-bit draws); chunk ``k`` uses
``PCG64(SeedSequence(key).spawn(...)[k])``. The result is therefore fixed by
the generator state and does not depend on the number of threads, and the
first N events of a longer run equal a run of N events.
"""
from __future__ import annotations

import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .. import _rambo
from .._memory import preflight
from .._progress import ordered_map
from ..errors import GenerationError, ParameterError, check_count, check_finite, check_positive

CHUNK_EVENTS = 1 << 16
"""Events per independent random stream (fixed: results must not depend on
the number of threads)."""


def as_generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    """Accept a ``numpy.random.Generator``, an integer seed or ``None``."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        if rng < 0:
            raise ParameterError("seed", rng, "must be a non-negative integer")
        return np.random.default_rng(int(rng))
    raise ParameterError(
        "rng", rng, "must be a numpy.random.Generator, a non-negative integer seed or None"
    )


def seed_record(rng: np.random.Generator | int | None) -> dict[str, int]:
    """``{"seed": rng}`` for an integer seed (what a sample's record keeps), else ``{}``."""
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return {"seed": int(rng)}
    return {}


def validate_kinematics(sqrt_s, masses) -> tuple[float, np.ndarray]:
    """Check ``sqrt_s`` and ``masses`` and return them as float and array.

    Raises :class:`~mcdh.errors.ParameterError` naming the parameter for
    fewer than 2 particles, negative or non-finite masses, a non-positive or
    non-finite ``sqrt_s`` and sum of masses >= ``sqrt_s``.
    """
    sqrt_s = check_finite("sqrt_s", sqrt_s)
    if not sqrt_s > 0.0:
        raise ParameterError("sqrt_s", sqrt_s, "must be > 0 (GeV)")
    if any(isinstance(x, (bool, np.bool_)) for x in np.ravel(np.asarray(masses, dtype=object))):
        raise ParameterError("masses", masses, "must be real numbers (GeV), not bools")
    try:
        m = np.array(masses, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise ParameterError("masses", masses, "must be a sequence of real numbers (GeV)") from None
    if m.size < 2:
        raise ParameterError("masses", [float(x) for x in m], "needs at least 2 final-state particles")
    if not np.all(np.isfinite(m)):
        raise ParameterError("masses", [float(x) for x in m], "every mass must be finite")
    if np.any(m < 0.0):
        raise ParameterError("masses", [float(x) for x in m], "every mass must be >= 0 (GeV)")
    with np.errstate(over="ignore"):  # masses near the double limit sum to inf, which is refused here
        total = float(m.sum())
    if not total < sqrt_s:
        raise ParameterError(
            "masses", [float(x) for x in m], f"their sum {total:.6g} GeV must be below sqrt_s = {sqrt_s:.6g} GeV"
        )
    return sqrt_s, np.ascontiguousarray(m)


def chunk_bit_generators(rng: np.random.Generator, n_events: int, extra: int = 0) -> list[np.random.PCG64]:
    """The independent PCG64 streams, one per chunk of :data:`CHUNK_EVENTS`, then ``extra`` more.

    Draws four 64-bit words from ``rng`` (advancing it) as the root key. The
    chunk streams do not depend on ``extra`` (spawned children are numbered).
    """
    key = rng.integers(0, 2**64, size=4, dtype=np.uint64, endpoint=False)
    n_chunks = max(1, -(-n_events // CHUNK_EVENTS))
    children = np.random.SeedSequence([int(k) for k in key]).spawn(n_chunks + extra)
    return [np.random.PCG64(c) for c in children]


def run_chunks(n_events: int, work, n_threads: int, progress: bool = False, desc: str = "") -> list:
    """Call ``work(k)`` for every chunk k of :data:`CHUNK_EVENTS` events, on a thread pool.

    Results come back in chunk order; ``work`` must release the GIL to gain
    from threads. A progress bar counts events.
    """
    n_chunks = -(-n_events // CHUNK_EVENTS)
    return ordered_map(work, range(n_chunks), n_threads=n_threads, progress=progress, desc=desc, unit="ev",
                       size=lambda k: min(n_events, (k + 1) * CHUNK_EVENTS) - k * CHUNK_EVENTS, total=n_events)


def default_threads() -> int:
    """Cores available to this process."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def rambo(
    sqrt_s: float,
    masses: Sequence[float],
    n_events: int,
    rng: np.random.Generator | int | None = None,
    *,
    n_threads: int | None = None,
    out: tuple[np.ndarray, np.ndarray] | None = None,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Generate ``n_events`` flat phase-space events in the CMS frame.

    Parameters
    ----------
    sqrt_s : float
        Centre-of-mass energy in GeV.
    masses : sequence of float
        Final-state masses in GeV (at least 2, each >= 0, sum < sqrt_s).
    n_events : int
        Number of events (>= 0).
    rng : numpy.random.Generator, int or None
        Source of randomness; an int is a seed for ``numpy.random.default_rng``.
    n_threads : int, optional
        Worker threads (default: the cores available). Results do not depend
        on it.
    out : (momenta, weights), optional
        Caller-owned C-contiguous float64 arrays of shapes (n_events, n, 4) and
        (n_events,) to fill instead of allocating.
    progress : bool
        Show a progress bar.

    Returns
    -------
    momenta : ndarray, shape (n_events, n, 4)
        Four-momenta (E, px, py, pz) in GeV; beams along the z axis.
    weights : ndarray, shape (n_events,)
        Phase-space weights (GeV^(2n-4)); their mean estimates Phi_n.
    """
    sqrt_s, m = validate_kinematics(sqrt_s, masses)
    n_events = check_count("n_events", n_events, 0)
    _check_volume(m.size, sqrt_s)
    gen = as_generator(rng)
    n = m.size
    if n_threads is None:
        n_threads = default_threads()
    n_threads = check_count("n_threads", n_threads, 1)
    if out is None:
        preflight(8.0 * n_events * (4 * n + 1), f"{n_events} RAMBO events of {n} particles", "n_events", n_events)
        p = np.empty((n_events, n, 4))
        w = np.empty(n_events)
    else:
        p, w = out
        if (
            not isinstance(p, np.ndarray)
            or p.shape != (n_events, n, 4)
            or p.dtype != np.float64
            or not p.flags.c_contiguous
            or not p.flags.writeable
        ):
            raise ParameterError("out", "momenta", f"must be a writeable C-contiguous float64 array of shape {(n_events, n, 4)}")
        if (not isinstance(w, np.ndarray) or w.shape != (n_events,) or w.dtype != np.float64 or not w.flags.c_contiguous
                or not w.flags.writeable):
            raise ParameterError("out", "weights", f"must be a writeable C-contiguous float64 array of shape {(n_events,)}")
    streams = chunk_bit_generators(gen, n_events)
    if n_events == 0:
        return p, w

    def run(k: int) -> int:
        lo = k * CHUNK_EVENTS
        hi = min(n_events, lo + CHUNK_EVENTS)
        return _rambo.generate(streams[k], sqrt_s, m, p[lo:hi], w[lo:hi])

    _check_status(run_chunks(n_events, run, n_threads, progress, f"RAMBO 2->{n}"))
    _check_weights(w, m)
    return p, w


def rambo_batches(
    sqrt_s: float,
    masses: Sequence[float],
    n_events: int,
    rng: np.random.Generator | int | None = None,
    *,
    n_threads: int | None = None,
):
    """The events of :func:`rambo` with the same arguments, batch by batch, in bounded memory.

    Returns an iterator of ``(momenta, weights)`` batches of at most
    ``n_threads`` x :data:`CHUNK_EVENTS` events, in order; concatenated they
    equal ``rambo(sqrt_s, masses, n_events, rng)`` bit for bit. The inputs are
    checked and the key drawn from ``rng`` now, at the call, as :func:`rambo` does.
    """
    sqrt_s, m = validate_kinematics(sqrt_s, masses)
    n_events = check_count("n_events", n_events, 0)
    _check_volume(m.size, sqrt_s)
    n_threads = check_count("n_threads", default_threads() if n_threads is None else n_threads, 1)
    streams = chunk_bit_generators(as_generator(rng), n_events)
    return _batches(streams, sqrt_s, m, n_events, n_threads)


def _batches(streams, sqrt_s: float, m: np.ndarray, n_events: int, n_threads: int):
    n_chunks = -(-n_events // CHUNK_EVENTS)
    with ThreadPoolExecutor(max_workers=n_threads) as pool:
        for first in range(0, n_chunks, n_threads):
            ks = range(first, min(n_chunks, first + n_threads))
            lo, hi = first * CHUNK_EVENTS, min(n_events, ks[-1] * CHUNK_EVENTS + CHUNK_EVENTS)
            p, w = np.empty((hi - lo, m.size, 4)), np.empty(hi - lo)

            def run(k: int, lo=lo, p=p, w=w) -> int:
                a, b = k * CHUNK_EVENTS - lo, min(n_events, k * CHUNK_EVENTS + CHUNK_EVENTS) - lo
                return _rambo.generate(streams[k], sqrt_s, m, p[a:b], w[a:b])

            _check_status(list(pool.map(run, ks)))
            _check_weights(w, m)
            yield p, w


def _check_status(codes: list[int]) -> None:
    bad = [rc for rc in codes if rc != 0]
    if bad:
        raise GenerationError(f"RAMBO failed: {_rambo.STATUS.get(bad[0], bad[0])}")


def _check_volume(n: int, sqrt_s: float) -> None:
    """Refuse, before any work, a phase space whose volume double precision cannot hold."""
    log_v = log_massless_volume(n, sqrt_s)
    if not LOG_DOUBLE_RANGE[0] < log_v < LOG_DOUBLE_RANGE[1]:
        raise ParameterError("masses", f"{n} particles at sqrt_s = {sqrt_s:g} GeV",
                             f"the phase-space volume, 1e{log_v / math.log(10):.0f} GeV^(2n-4), is outside double "
                             "precision: fewer particles or another energy")


def _check_weights(w: np.ndarray, m: np.ndarray) -> None:
    """The massive rescaling multiplies by (sum |k| / sqrt_s)^(2n-3): for many massive particles it underflows."""
    if w.size and not (np.all(np.isfinite(w)) and np.all(w > 0)):
        raise ParameterError("masses", f"{m.size} particles of total mass {m.sum():.6g} GeV",
                             "give phase-space weights that underflow or overflow double precision")


# --------------------------------------------------------------------------
# references and closed forms


def log_massless_volume(n: int, sqrt_s: float) -> float:
    """Natural log of :func:`massless_volume`, computed where it cannot overflow (any n, any sqrt_s > 0)."""
    n = check_count("n", n, 2)
    sqrt_s = check_positive("sqrt_s", sqrt_s)
    return (n - 1) * math.log(math.pi / 2) + 2 * (n - 2) * math.log(sqrt_s) - math.lgamma(n) - math.lgamma(n - 1)


LOG_DOUBLE_RANGE = (math.log(1e-290), math.log(1e290))
"""Volumes and weights whose log lies outside this range are refused (near the double-precision limits,
where a weight would overflow to inf or lose its digits to underflow)."""


def massless_volume(n: int, sqrt_s: float) -> float:
    """Massless n-body volume ``(pi/2)^(n-1) s^(n-2) / ((n-1)! (n-2)!)`` (GeV^(2n-4)).

    Raises :class:`ParameterError` where it is not representable in double
    precision (e.g. 141 massless particles, or sqrt_s = 1e300 GeV); see
    :func:`log_massless_volume` for its logarithm.
    """
    log_v = log_massless_volume(n, sqrt_s)
    if not LOG_DOUBLE_RANGE[0] < log_v < LOG_DOUBLE_RANGE[1]:
        raise ParameterError("n, sqrt_s", (n, sqrt_s), f"give a phase-space volume of 1e{log_v / math.log(10):.0f} "
                             "GeV^(2n-4), outside double precision (use log_massless_volume)")
    s = float(sqrt_s) ** 2
    try:
        v = (math.pi / 2) ** (n - 1) * s ** (n - 2) / (math.factorial(n - 1) * math.factorial(n - 2))
    except OverflowError:  # an intermediate overflows although the volume is a double
        v = 0.0
    return v if math.isfinite(v) and v > 0 else math.exp(log_v)


def lips_factor(n: int) -> float:
    """(2 pi)^(4 - 3n): converts Phi_n to the standard Lorentz-invariant phase space."""
    return (2.0 * math.pi) ** (4 - 3 * n)


def uniforms_from_words(words: np.ndarray, n: int) -> np.ndarray:
    """The uniforms the C generator makes from 64-bit words (see rambo.h).

    ``words`` holds 2 n words per event, in stream order; returns an array
    of shape (n_events, 4 n) for :func:`rambo_from_uniforms`.
    """
    w = np.asarray(words, dtype=np.uint64).reshape(-1, n, 2)
    hi = (w >> np.uint64(32)).astype(np.float64)
    lo = (w & np.uint64(0xFFFFFFFF)).astype(np.float64)
    u = np.stack([hi[..., 0], lo[..., 0], hi[..., 1], lo[..., 1]], axis=-1)
    return ((u + 0.5) / 4294967296.0).reshape(w.shape[0], 4 * n)


def rambo_from_uniforms(sqrt_s: float, masses: Sequence[float], u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The C map applied to given uniforms ``u`` of shape (n_events, 4 n)."""
    sqrt_s, m = validate_kinematics(sqrt_s, masses)
    u = np.ascontiguousarray(u, dtype=np.float64)
    if u.ndim != 2 or u.shape[1] != 4 * m.size:
        raise ParameterError("u", u.shape, f"must have shape (n_events, {4 * m.size})")
    if not np.all((u > 0.0) & (u < 1.0)):  # also refuses NaN
        raise ParameterError("u", "an array with entries outside (0, 1)", "every uniform must lie in the open interval (0, 1)")
    _check_volume(m.size, sqrt_s)
    p = np.empty((u.shape[0], m.size, 4))
    w = np.empty(u.shape[0])
    rc = _rambo.from_uniforms(sqrt_s, m, u, p, w)
    if rc != 0:
        raise GenerationError(f"RAMBO failed: {_rambo.STATUS.get(rc, rc)}")
    _check_weights(w, m)
    return p, w


def rambo_numpy(sqrt_s: float, masses: Sequence[float], u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Plain numpy RAMBO on given uniforms: the slow, trusted reference.

    Same algorithm and the same use of the uniforms as the C code, written
    with whole-array numpy operations and library ``log``/``sin``/``cos``.
    """
    sqrt_s, m = validate_kinematics(sqrt_s, masses)
    n = m.size
    u = np.asarray(u, dtype=np.float64).reshape(-1, n, 4)
    cos_t = 2.0 * u[..., 0] - 1.0
    sin_t = 2.0 * np.sqrt(u[..., 0] * (1.0 - u[..., 0]))
    phi = 2.0 * np.pi * u[..., 1]
    e = -np.log((1.0 - u[..., 2]) * (1.0 - u[..., 3]))
    q = np.stack([e, e * sin_t * np.cos(phi), e * sin_t * np.sin(phi), e * cos_t], axis=-1)
    r = q.sum(axis=1)
    r_mass = np.sqrt(r[:, 0] ** 2 - np.sum(r[:, 1:] ** 2, axis=1))
    b = -r[:, 1:] / r_mass[:, None]
    g = r[:, 0] / r_mass
    a = 1.0 / (1.0 + g)
    x = sqrt_s / r_mass
    bq = np.einsum("ek,eik->ei", b, q[..., 1:])
    p0 = x[:, None] * (g[:, None] * q[..., 0] + bq)
    pv = x[:, None, None] * (q[..., 1:] + b[:, None, :] * (q[..., 0] + a[:, None] * bq)[..., None])
    w0 = massless_volume(n, sqrt_s)
    if not np.any(m > 0):
        return np.concatenate([p0[..., None], pv], axis=-1), np.full(p0.shape[0], w0)
    xi = np.full(p0.shape[0], math.sqrt(1.0 - (m.sum() / sqrt_s) ** 2))
    noise = 8.0 * n * np.finfo(float).eps * sqrt_s
    for _ in range(100):
        k = xi[:, None] * p0
        en = np.sqrt(m**2 + k**2)
        f = en.sum(axis=1) - sqrt_s
        fp = np.sum(k * p0 / en, axis=1)
        step = f / fp
        moving = (step > 1e-8 * xi) & (f > noise)
        xi = np.maximum(xi - step, 0.5 * xi)
        if not np.any(moving):
            break
    else:  # pragma: no cover - convergence is guaranteed (monotone Newton)
        raise GenerationError("numpy RAMBO: Newton iteration did not converge")
    k = xi[:, None] * p0
    en = np.sqrt(m**2 + k**2)
    w = (
        w0
        * (k.sum(axis=1) / sqrt_s) ** (2 * n - 3)
        * np.prod(k / en, axis=1)
        * sqrt_s
        / np.sum(k * k / en, axis=1)
    )
    mom = np.concatenate([en[..., None], xi[:, None, None] * pv], axis=-1)
    return mom, w


def rambo_numpy_generate(
    sqrt_s: float, masses: Sequence[float], n_events: int, rng: np.random.Generator | int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """numpy-vectorised RAMBO with numpy's own random numbers (benchmark baseline)."""
    gen = as_generator(rng)
    n = len(masses)
    return rambo_numpy(sqrt_s, masses, gen.random((check_count("n_events", n_events), 4 * n)))
