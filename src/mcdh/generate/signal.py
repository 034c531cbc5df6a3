"""Native signal generator with exact matrix elements (docs/physics-notes.md section 5).

    phi:        e+e- -> phi chi chibar
    gamma-phi:  e+e- -> gamma phi chi chibar   (photon inside the acceptance)

Phase space is built as a chain of two-body decays with the invariant masses
sampled by mappings that flatten the propagators:

    phi:        s -> phi + P,            P -> chi chibar
    gamma-phi:  s -> gamma + Q,  Q -> phi + P,  P -> chi chibar

    dPhi_3 = dPhi_2(s; phi, P) dP^2/2pi dPhi_2(P; chi, chibar)
    dPhi_4 = dPhi_2(s; gamma, Q) dQ^2/2pi dPhi_2(Q; phi, P) dP^2/2pi dPhi_2(P; chi, chibar)
    dPhi_2(M; a, b) = lambda^(1/2)(M^2, m_a^2, m_b^2)/M^2 / (8 pi) dOmega / (4 pi)

P^2 = m_chichi^2 always follows a Breit-Wigner of the A' (truncated to its
range: far below the pole this is the 1/(P^2 - m_A^2)^2 shape of an
off-shell A'). For gamma-phi, Q^2 = s - 2 sqrt(s) E_gamma is sampled by a
multi-channel density (Kleiss & Pittau) combining the configurations of
the paper's table 2:

    0  "vertical"        A'(Q) on shell: Breit-Wigner in Q^2 over its whole
                          range, then P^2 in [4 m_chi^2, (sqrt(Q^2) - m_phi)^2]
    1  "horizontal hard" A'(P) on shell: P^2 first (Breit-Wigner), then
                          Q^2 >= (m_chichi + m_phi)^2 with the Breit-Wigner tail
                          (photon energy near its upper end E_b)
    2  "horizontal soft" as 1, but Q^2 with density 1/(s - Q^2) = 1/E_gamma
    3  "off shell"       as 0 with both Breit-Wigners widened (see WIDE_WIDTH_FACTOR)

and cos(theta_gamma) = tanh(y) with y uniform, which flattens the 1/(1 -
cos^2) of the electron propagators. The channel weights are adapted on a
pilot run. Every other angle is isotropic. Weights are exact: w = dsigma /
(sampling density) / N, so that the weights sum to sigma in fb.

Randomness and threads
----------------------
Like :func:`mcdh.rambo`, events are made in chunks of
:data:`~mcdh.generate.phasespace.CHUNK_EVENTS` with independent PCG64 streams
spawned from one key drawn from the caller's generator; the pilot run uses
its own spawned stream. The result depends on the seed only, not on the
number of threads.
"""
from __future__ import annotations

import copy
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from .. import seeds as streams
from .._jit import njit
from .._memory import preflight
from .._progress import ordered_map, progress_bar
from ..channels import CHANNELS, PARTICLES, check_channel
from ..errors import GenerationError, ParameterError, check_count, check_finite
from ..events import Events, sigma_and_error
from ..kinematics.acceptance import PhotonAcceptance
from ..kinematics.beams import Beams, to_lab
from ..kinematics.decay import kallen_sqrt, two_body
from ..physics.amplitudes import couplings_gammaphi, couplings_phi, me2_gammaphi, me2_phi
from ..physics.constants import GEV2_TO_FB
from ..physics.model import DarkSector
from ..settings import MASSES
from .phasespace import CHUNK_EVENTS, as_generator, chunk_bit_generators, default_threads, run_chunks, seed_record

N_UNIFORMS = {"phi": 5, "gammaphi": 9}
N_CHANNELS = 4
CHANNEL_NAMES = (
    "vertical (A'(Q) on shell)",
    "horizontal hard (A'(P) on shell)",
    "horizontal soft (A'(P) on shell)",
    "off shell (wide Breit-Wigners)",
)
PILOT_EVENTS = 1 << 15
PILOT_ROUNDS = 4
MIN_CHANNEL_WEIGHT = 0.02
WIDE_WIDTH_FACTOR = 20.0
WIDE_WIDTH_MIN = 0.1
"""The fourth gamma-phi channel is the vertical one with a Breit-Wigner of
width max(20 Gamma_A, 0.1 m_A): it covers the doubly off-shell region that
the resonant channels starve (raising the unweighting efficiency about
threefold)."""

_PI = math.pi
_TWO_PI = 2.0 * math.pi


# ----------------------------------------------------------------------
# one-dimensional mappings


@njit(cache=True)
def _atan_diff(a, b):
    """atan(b) - atan(a) for b >= a without cancellation when both are large."""
    ab = a * b
    if ab > -1.0:
        return math.atan((b - a) / (1.0 + ab))
    if ab < -1.0:
        return math.atan((b - a) / (1.0 + ab)) + _PI
    return 0.5 * _PI


@njit(cache=True)
def _bw_sample(u, m, g, lo, hi):
    """Sample t in [lo, hi] with density proportional to 1/((t - m^2)^2 + m^2 g^2).

    Returns (t, density).
    """
    mg = m * g
    m2 = m * m
    xa = (lo - m2) / mg
    xb = (hi - m2) / mg
    d = _atan_diff(xa, xb)
    x = math.tan(math.atan(xa) + u * d)
    t = m2 + mg * x
    if t < lo:
        t = lo
    elif t > hi:
        t = hi
    x = (t - m2) / mg
    return t, 1.0 / (mg * (1.0 + x * x) * d)


@njit(cache=True)
def _bw_norm(m, g, lo, hi):
    """The atan range normalising the Breit-Wigner on [lo, hi] (see :func:`_bw_sample`)."""
    m2 = m * m
    mg = m * g
    return _atan_diff((lo - m2) / mg, (hi - m2) / mg)


@njit(cache=True)
def _bw_density_n(t, m, g, lo, hi, d):
    """Breit-Wigner density on [lo, hi] with its precomputed normalisation d."""
    if t < lo or t > hi or hi <= lo:
        return 0.0
    mg = m * g
    x = (t - m * m) / mg
    return 1.0 / (mg * (1.0 + x * x) * d)


@njit(cache=True)
def _bw_density(t, m, g, lo, hi):
    if hi <= lo:
        return 0.0
    return _bw_density_n(t, m, g, lo, hi, _bw_norm(m, g, lo, hi))


@njit(cache=True)
def _soft_sample(u, s, lo, hi):
    """Sample t in [lo, hi] with density proportional to 1/(s - t). Returns (t, density)."""
    L = math.log((s - lo) / (s - hi))
    t = s - (s - lo) * math.exp(-u * L)
    if t < lo:
        t = lo
    elif t > hi:
        t = hi
    return t, 1.0 / ((s - t) * L)


@njit(cache=True)
def _soft_density(t, s, lo, hi):
    if t < lo or t > hi or hi <= lo:
        return 0.0
    return 1.0 / ((s - t) * math.log((s - lo) / (s - hi)))


@njit(cache=True)
def _phi_chichi(parent, M2, t, m_phi, m_chi, u1, u2, u3, u4, P, phi, chi, chibar):
    """parent (mass^2 M2) -> phi A'*(P), P^2 = t, then P -> chi chibar; isotropic in each rest frame.

    Fills phi, chi, chibar (and the scratch P) from four uniforms.
    """
    two_body(phi, M2, m_phi, t, 2.0 * u1 - 1.0, _TWO_PI * u2, parent)
    for j in range(4):
        P[j] = parent[j] - phi[j]
    two_body(chi, t, m_chi, m_chi * m_chi, 2.0 * u3 - 1.0, _TWO_PI * u4, P)
    for j in range(4):
        chibar[j] = P[j] - chi[j]


# ----------------------------------------------------------------------
# kernels


@njit(cache=True, nogil=True)
def _phi_kernel(u, rs, m_A, g_A, m_chi, m_phi, norm, mom, w):
    """Fill mom (n, 3, 4) and w (n,) for e+e- -> phi chi chibar.

    ``norm`` = couplings^2 / (2 s) * GEV2_TO_FB / N_total.
    """
    s = rs * rs
    lo = 4.0 * m_chi * m_chi
    hi = (rs - m_phi) ** 2
    p1 = np.array([0.5 * rs, 0.0, 0.0, 0.5 * rs])
    p2 = np.array([0.5 * rs, 0.0, 0.0, -0.5 * rs])
    cms = np.array([rs, 0.0, 0.0, 0.0])
    P = np.empty(4)
    c8 = 1.0 / (8.0 * _PI)
    for i in range(u.shape[0]):
        t, gt = _bw_sample(u[i, 0], m_A, g_A, lo, hi)
        _phi_chichi(cms, s, t, m_phi, m_chi, u[i, 1], u[i, 2], u[i, 3], u[i, 4], P, mom[i, 0], mom[i, 1], mom[i, 2])
        beta1 = kallen_sqrt(s, m_phi * m_phi, t) / s
        beta2 = math.sqrt(max(0.0, 1.0 - lo / t))
        ps = beta1 * beta2 * c8 * c8 / (_TWO_PI * gt)
        w[i] = norm * ps * me2_phi(p1, p2, mom[i, 1], mom[i, 2], m_chi, m_A, g_A)


@njit(cache=True)
def _channel_densities(q2, t, s, m_A, g_A, g_wide, m_phi, q2min, q2max, tmin, tmax, norms, out):
    """Joint densities g_c(Q^2, P^2) of the four gamma-phi channels at one point.

    ``norms`` holds the fixed Breit-Wigner normalisations: Q^2 on its full
    range with Gamma_A and with the wide width, P^2 on its full range.
    """
    thi = (math.sqrt(q2) - m_phi) ** 2
    out[0] = _bw_density_n(q2, m_A, g_A, q2min, q2max, norms[0]) * _bw_density(t, m_A, g_A, tmin, thi)
    out[3] = _bw_density_n(q2, m_A, g_wide, q2min, q2max, norms[1]) * _bw_density(t, m_A, g_wide, tmin, thi)
    gp = _bw_density_n(t, m_A, g_A, tmin, tmax, norms[2])
    lo = (math.sqrt(t) + m_phi) ** 2
    out[1] = gp * _bw_density(q2, m_A, g_A, lo, q2max)
    out[2] = gp * _soft_density(q2, s, lo, q2max)


@njit(cache=True, nogil=True)
def _gammaphi_kernel(u, rs, m_A, g_A, g_wide, m_chi, m_phi, norm, alpha, q2min, q2max, ylo, yhi, mom, w, gfrac):
    """Fill mom (n, 4, 4) and w (n,) for e+e- -> gamma phi chi chibar.

    Channel 0 samples Q^2 (Breit-Wigner) and then P^2 in its range; channels
    1 and 2 sample P^2 (Breit-Wigner over its whole range) first and then
    Q^2 >= (m_chichi + m_phi)^2 with a Breit-Wigner tail (hard photon) or
    1/(s - Q^2) (soft photon). The weight uses the combined density
    sum_c alpha_c g_c(Q^2, P^2). ``gfrac`` (n, 3) receives g_c / g when it has
    n rows (pilot runs).
    """
    s = rs * rs
    tmin = 4.0 * m_chi * m_chi
    tmax = (math.sqrt(q2max) - m_phi) ** 2
    p1 = np.array([0.5 * rs, 0.0, 0.0, 0.5 * rs])
    p2 = np.array([0.5 * rs, 0.0, 0.0, -0.5 * rs])
    Q = np.empty(4)
    P = np.empty(4)
    gc = np.empty(4)
    norms = np.array([_bw_norm(m_A, g_A, q2min, q2max), _bw_norm(m_A, g_wide, q2min, q2max), _bw_norm(m_A, g_A, tmin, tmax)])
    c8 = 1.0 / (8.0 * _PI)
    fill = gfrac.shape[0] == u.shape[0]
    for i in range(u.shape[0]):
        uc = u[i, 0]
        if uc < alpha[0]:
            q2, _ = _bw_sample(u[i, 1], m_A, g_A, q2min, q2max)
            t, _ = _bw_sample(u[i, 4], m_A, g_A, tmin, (math.sqrt(q2) - m_phi) ** 2)
        elif uc >= alpha[0] + alpha[1] + alpha[2]:
            q2, _ = _bw_sample(u[i, 1], m_A, g_wide, q2min, q2max)
            t, _ = _bw_sample(u[i, 4], m_A, g_wide, tmin, (math.sqrt(q2) - m_phi) ** 2)
        else:
            t, _ = _bw_sample(u[i, 4], m_A, g_A, tmin, tmax)
            lo = (math.sqrt(t) + m_phi) ** 2
            if uc < alpha[0] + alpha[1]:
                q2, _ = _bw_sample(u[i, 1], m_A, g_A, lo, q2max)
            else:
                q2, _ = _soft_sample(u[i, 1], s, lo, q2max)
        _channel_densities(q2, t, s, m_A, g_A, g_wide, m_phi, q2min, q2max, tmin, tmax, norms, gc)
        g = alpha[0] * gc[0] + alpha[1] * gc[1] + alpha[2] * gc[2] + alpha[3] * gc[3]
        # photon: E = (s - Q^2)/(2 rs), cos theta = tanh(y)
        eg = (s - q2) / (2.0 * rs)
        y = ylo + u[i, 2] * (yhi - ylo)
        ct = math.tanh(y)
        st = 1.0 / math.cosh(y)
        ph = _TWO_PI * u[i, 3]
        k = mom[i, 0]
        k[0] = eg
        k[1] = eg * st * math.cos(ph)
        k[2] = eg * st * math.sin(ph)
        k[3] = eg * ct
        Q[0] = rs - eg
        Q[1] = -k[1]
        Q[2] = -k[2]
        Q[3] = -k[3]
        _phi_chichi(Q, q2, t, m_phi, m_chi, u[i, 5], u[i, 6], u[i, 7], u[i, 8], P, mom[i, 1], mom[i, 2], mom[i, 3])
        beta1 = 1.0 - q2 / s
        beta2 = kallen_sqrt(q2, m_phi * m_phi, t) / q2
        beta3 = math.sqrt(max(0.0, 1.0 - tmin / t))
        # (1/4pi)/p(Omega_gamma) = (1 - c^2)(yhi - ylo)/2
        ang = 0.5 * st * st * (yhi - ylo)
        ps = beta1 * beta2 * beta3 * c8 * c8 * c8 * ang / (_TWO_PI * _TWO_PI * g)
        w[i] = norm * ps * me2_gammaphi(p1, p2, k, mom[i, 2], mom[i, 3], m_chi, m_A, g_A)
        if fill:
            for c in range(4):
                gfrac[i, c] = gc[c] / g


# ----------------------------------------------------------------------
# set-up


def _check_acceptance(acc: PhotonAcceptance) -> PhotonAcceptance:
    if not acc.e_min > 0.0:
        raise ParameterError("acceptance.e_min", acc.e_min, "must be > 0 GeV for gamma-phi (soft divergence)")
    if not (acc.theta_min_deg > 0.0 and acc.theta_max_deg < 180.0):
        raise ParameterError(
            "acceptance.theta_min_deg/theta_max_deg",
            (acc.theta_min_deg, acc.theta_max_deg),
            "must exclude the beam directions (0 < theta_min < theta_max < 180 degrees; collinear divergence)",
        )
    return acc


class _Setup:
    """Everything a kernel call needs, derived once from the model."""

    def __init__(self, model: DarkSector, process: str, acceptance: PhotonAcceptance):
        self.model = model
        self.process = process
        self.rs = model.sqrt_s
        self.s = self.rs**2
        self.m_A, self.m_chi, self.m_phi = model.m_A, model.m_chi, model.m_phi
        self.g_A = model.width_A
        coup = couplings_phi(model) if process == "phi" else couplings_gammaphi(model)
        self.base_norm = coup**2 / (2.0 * self.s) * GEV2_TO_FB
        self.alpha = np.array([1.0, 0.0, 0.0, 0.0])
        if process == "gammaphi":
            acc = _check_acceptance(acceptance)
            self.acceptance = acc
            e_max = (self.s - (self.m_phi + 2 * self.m_chi) ** 2) / (2 * self.rs)
            if not acc.e_min < e_max:
                raise ParameterError("acceptance.e_min", acc.e_min, f"must be below the largest photon energy {e_max:.4g} GeV")
            self.q2min = (self.m_phi + 2.0 * self.m_chi) ** 2
            self.q2max = self.s - 2.0 * self.rs * acc.e_min
            if not self.m_A**2 < self.q2max:
                raise ParameterError(
                    "acceptance.e_min", acc.e_min,
                    f"must be below E_bar = (s - m_A^2)/(2 sqrt_s) = {(self.s - self.m_A**2) / (2 * self.rs):.4g} GeV",
                )
            self.ylo = math.atanh(math.cos(math.radians(acc.theta_max_deg)))
            self.yhi = math.atanh(math.cos(math.radians(acc.theta_min_deg)))
            self.alpha = np.array([0.3, 0.25, 0.25, 0.2])
            self.g_wide = max(WIDE_WIDTH_FACTOR * self.g_A, WIDE_WIDTH_MIN * self.m_A)

    def run(self, u: np.ndarray, mom: np.ndarray, w: np.ndarray, n_total: int, gfrac: np.ndarray | None = None) -> None:
        norm = self.base_norm / n_total
        if self.process == "phi":
            _phi_kernel(u, self.rs, self.m_A, self.g_A, self.m_chi, self.m_phi, norm, mom, w)
        else:
            g = gfrac if gfrac is not None else np.empty((0, N_CHANNELS))
            _gammaphi_kernel(
                u, self.rs, self.m_A, self.g_A, self.g_wide, self.m_chi, self.m_phi, norm, self.alpha,
                self.q2min, self.q2max, self.ylo, self.yhi, mom, w, g,
            )

    def run_chunk(self, seeds, k: int, n_total: int, mom: np.ndarray | None, w: np.ndarray,
                  w_offset: int = 0) -> np.ndarray:
        """Generate chunk k of :data:`CHUNK_EVENTS` events from its own stream ``seeds[k]``.

        Weights go to ``w[lo - w_offset:hi - w_offset]`` (``w`` may hold a batch that starts at event
        ``w_offset``), momenta to ``mom[lo:hi]`` (or a new array if ``mom`` is None); returns the chunk's momenta.
        """
        lo, hi = k * CHUNK_EVENTS, min(n_total, (k + 1) * CHUNK_EVENTS)
        u = np.random.Generator(seeds[k]).random((hi - lo, N_UNIFORMS[self.process]))
        m = mom[lo:hi] if mom is not None else np.empty((hi - lo, len(PARTICLES[self.process]), 4))
        self.run(u, m, w[lo - w_offset:hi - w_offset], n_total)
        return m

    def warm_up(self) -> None:
        n = len(PARTICLES[self.process])
        self.run(np.full((1, N_UNIFORMS[self.process]), 0.5), np.empty((1, n, 4)), np.empty(1), 1)

    def adapt(self, bitgen: np.random.PCG64) -> list[list[float]]:
        """Kleiss-Pittau adaptation of the gamma-phi channel weights on pilot runs."""
        history = [self.alpha.tolist()]
        if self.process != "gammaphi":
            return history
        gen = np.random.Generator(bitgen)
        n = PILOT_EVENTS
        mom = np.empty((n, 4, 4))
        w = np.empty(n)
        gfrac = np.empty((n, N_CHANNELS))
        for _ in range(PILOT_ROUNDS):
            u = gen.random((n, N_UNIFORMS["gammaphi"]))
            self.run(u, mom, w, n, gfrac)
            # W_c = <g_c/g w^2>; alpha_c <- alpha_c sqrt(W_c), normalised, with a floor
            wc = np.mean(gfrac * (w**2)[:, None], axis=0)
            a = self.alpha * np.sqrt(np.maximum(wc, 0.0))
            if not np.all(np.isfinite(a)) or a.sum() <= 0:
                break
            a /= a.sum()
            a = np.maximum(a, MIN_CHANNEL_WEIGHT)
            self.alpha = a / a.sum()
            history.append(self.alpha.tolist())
        return history


# ----------------------------------------------------------------------
# public API


def _check_request(model, process: str, frame: str, n_events) -> int:
    """Validate what a signal run is asked for; returns the event count."""
    if not isinstance(model, DarkSector):
        raise ParameterError("model", type(model).__name__, "must be a mcdh DarkSector")
    check_channel(process, "process")
    if frame not in ("cms", "lab"):
        raise ParameterError("frame", frame, "must be 'cms' or 'lab'")
    return check_count("n_events", n_events, 1)


def generate_signal(
    model: DarkSector,
    process: str,
    n_events: int,
    rng: np.random.Generator | int | None = None,
    *,
    acceptance: PhotonAcceptance | None = None,
    unweight: bool = False,
    max_overweight: float = 1e-3,
    frame: str = "cms",
    beams: Beams | None = None,
    n_threads: int | None = None,
    progress: bool = False,
) -> Events:
    """Generate signal events of ``process`` for ``model``.

    Parameters
    ----------
    model : DarkSector
        Masses, couplings and sqrt_s (the A' width is computed from it).
    process : {"phi", "gammaphi"}
        e+e- -> phi chi chibar, or e+e- -> gamma phi chi chibar with the photon
        inside ``acceptance``.
    n_events : int
        Weighted events to generate (>= 1).
    rng : numpy.random.Generator, int or None
        Random source or seed. The result does not depend on ``n_threads``.
    acceptance : PhotonAcceptance, optional
        Photon acceptance in the CMS for gamma-phi (default Belle II:
        E >= 0.25 GeV, 22-158 degrees). Must exclude E = 0 and the beam axis.
    unweight : bool
        Return unweighted events: each event is kept with probability
        min(1, w / w_max), where w_max is the smallest weight such that the
        weights above it carry at most ``max_overweight`` of sigma; kept
        events get weight max(w, w_max), so the sample stays exact.
    max_overweight : float
        See ``unweight``.
    frame : {"cms", "lab"}
        Frame of the returned momenta: the CMS (e- along +z) or the Belle II
        lab frame of ``beams`` (see :mod:`mcdh.kinematics.beams`). The
        photon acceptance is always applied in the CMS.
    beams : Beams, optional
        Beam set-up for ``frame="lab"`` (default: SuperKEKB, 7 x 4 GeV).
    n_threads : int, optional
        Worker threads (default: all cores).
    progress : bool
        Show a progress bar.

    Returns
    -------
    Events
        Momenta (gamma,) phi, chi, chibar in GeV; weights in fb summing to the
        Monte Carlo estimate of sigma. ``parameters`` holds the model, sigma,
        its error, the channel weights and the unweighting efficiency.
    """
    n_events = _check_request(model, process, frame, n_events)
    n_part = len(PARTICLES[process])
    preflight(8.0 * n_events * (4 * n_part + 2), f"{n_events} signal events in memory", "n_events", n_events,
              "SignalStream or mcdh generate write them in bounded memory")
    max_overweight = check_finite("max_overweight", max_overweight)
    if not 0.0 <= max_overweight < 1.0:
        raise ParameterError("max_overweight", max_overweight, "must be in [0, 1)")
    mom, w, setup, history, seeds = _generate(model, process, n_events, rng, acceptance, n_threads, progress, True)
    params = _parameters(model, process, setup, history, w, n_events, unweight) | seed_record(rng)
    if unweight:
        keep, w_max = _unweighting(w, seeds, max_overweight, params)
        mom = mom[keep]
        w = np.maximum(w[keep], w_max)
    else:
        params["unweighting_efficiency"] = unweighting_efficiency(w, max_overweight)
    events = Events(mom, w, PARTICLES[process], f"signal-{process}", "cms", params)
    return to_lab(events, beams) if frame == "lab" else events


def _unweighting(w, seeds, max_overweight, params) -> tuple[np.ndarray, float]:
    """Which events unweighting keeps (each with probability min(1, w / w_max), from the run's last stream) and
    w_max; records w_max and the efficiency in ``params``."""
    w_max = overweight_threshold(w, max_overweight)
    params["unweighting_efficiency"] = float(w.mean() / w_max)
    params["w_max"] = w_max
    return np.random.Generator(seeds[-1]).random(w.size) * w_max < w, w_max


def _parameters(model, process, setup, history, w, n_events, unweight) -> dict:
    """The run record; ``w``: the weights, or (sigma, its error) already summed (a stream)."""
    sigma, sigma_err = w if isinstance(w, tuple) else sigma_and_error(w)
    params = {
        "process": process,
        "model": model.as_dict(),
        "sqrt_s": model.sqrt_s,
        "gamma_A": model.width_A,
        "sigma_fb": sigma,
        "sigma_err_fb": sigma_err,
        "generated_events": n_events,
        "channel_weights": history[-1],
        "channel_weight_history": history,
        "channels": list(CHANNEL_NAMES) if process == "gammaphi" else ["Breit-Wigner in m_chichi^2"],
        "weighted": not unweight,
    }
    if process == "gammaphi":
        acc = setup.acceptance
        params["photon_acceptance"] = {"e_min": acc.e_min, "theta_min_deg": acc.theta_min_deg, "theta_max_deg": acc.theta_max_deg}
    return params


class SignalStream:
    """The events of :func:`generate_signal`, produced batch by batch (bounded memory).

    Iterating yields :class:`Events` of at most ``n_threads`` x 65536 events, in
    order; concatenated they equal ``generate_signal(...)`` with the same
    arguments exactly. After the last batch, :attr:`parameters` holds the run's
    parameters (sigma and its error included), as ``generate_signal`` records
    them up to the rounding of the summation order: no per-event array is kept
    (:class:`WeightSummary`), so the memory does not grow with ``n_events``.

    With ``unweight`` the events are those of ``generate_signal(..., unweight=True)``, exactly (parameters
    included): w_max needs every weight, so a first pass generates the weights alone (8 bytes and a kept-or-not
    flag per event, not the momenta's ~150) and the second the events; :attr:`n_out` (the events that will be
    yielded, which a writer needs first) runs the first pass.
    """

    def __init__(self, model, process, n_events, rng=None, *, acceptance=None, frame="cms", beams=None,
                 n_threads=None, progress=False, unweight: bool = False, max_overweight: float = 1e-3):
        self.n_events = _check_request(model, process, frame, n_events)
        self.unweight = bool(unweight)
        self.max_overweight = check_finite("max_overweight", max_overweight)
        if not 0.0 <= self.max_overweight < 1.0:
            raise ParameterError("max_overweight", max_overweight, "must be in [0, 1)")
        if self.unweight:
            preflight(9.0 * self.n_events, f"the weights of {self.n_events} signal events", "n_events",
                      self.n_events, "fewer events per file")
        self.model, self.process, self.frame, self.beams = model, process, frame, beams
        self.n_threads = check_count("n_threads", default_threads() if n_threads is None else n_threads, 1)
        self.particles = PARTICLES[process]
        self._gen, self._seed = as_generator(rng), rng
        self._acceptance = acceptance
        self._progress = progress
        self.parameters: dict | None = None
        self._run: tuple | None = None  # the set-up, streams and channel weights, made once
        self._keep: tuple | None = None  # unweighting: (kept-or-not per event, w_max, the run's parameters)

    def _prepared(self):
        if self._run is None:
            self._run = _prepare(self.model, self.process, self._gen, self._acceptance, self.n_events)
        return self._run

    @property
    def n_out(self) -> int:
        """The events iterating yields: ``n_events``, or those unweighting keeps (runs the weights' pass)."""
        if not self.unweight:
            return self.n_events
        if self._keep is None:
            setup, seeds, history = self._prepared()
            seeds = copy.deepcopy(seeds)  # drawing advances a stream: the second pass starts them afresh
            n = self.n_events
            w = np.empty(n)
            run_chunks(n, lambda k: setup.run_chunk(seeds, k, n, None, w), self.n_threads, self._progress,
                       f"signal {self.process} (weights)")
            if not np.all(np.isfinite(w)) or np.any(w < 0):
                raise GenerationError(f"signal {self.process}: non-finite or negative weights for {self.model}")
            params = _parameters(self.model, self.process, setup, history, w, n, True) | seed_record(self._seed)
            keep, w_max = _unweighting(w, seeds, self.max_overweight, params)
            self._keep = keep, w_max, params
        return int(np.count_nonzero(self._keep[0]))

    def __iter__(self):
        n = self.n_events
        n_out = self.n_out  # unweighting: the weights' pass, once (and the count, not recounted per batch)
        setup, seeds, history = self._prepared()
        summary = WeightSummary()  # no per-event array lives for the whole run: memory flat in n
        n_chunks = -(-n // CHUNK_EVENTS)
        base = {"process": self.process, "model": self.model.as_dict(), "sqrt_s": self.model.sqrt_s,
                **seed_record(self._seed)}
        w_batch = np.empty(min(n, self.n_threads * CHUNK_EVENTS))
        batch_lo = out_lo = 0

        def run(k):
            return setup.run_chunk(seeds, k, n, None, w_batch, w_offset=batch_lo)

        with progress_bar(n, f"signal {self.process}", "ev", self._progress) as advance, \
                ThreadPoolExecutor(max_workers=self.n_threads) as pool:
            for first in range(0, n_chunks, self.n_threads):
                ks = range(first, min(n_chunks, first + self.n_threads))
                lo, hi = ks[0] * CHUNK_EVENTS, min(n, (ks[-1] + 1) * CHUNK_EVENTS)
                batch_lo = lo
                moms = list(pool.map(run, ks))
                w = w_batch[:hi - lo]
                if not np.all(np.isfinite(w)) or np.any(w < 0):
                    raise GenerationError(f"signal {self.process}: non-finite or negative weights for {self.model}")
                summary.add(w)
                mom, w = np.concatenate(moms), w.copy()
                batch = {"first": lo, "events": hi - lo, "of": n}
                if self._keep is not None:  # the batch's kept events, numbered among all the kept ones
                    keep, w_max = self._keep[0][lo:hi], self._keep[1]
                    mom, w = mom[keep], np.maximum(w[keep], w_max)
                    batch = {"first": out_lo, "events": len(w), "of": n_out}
                    out_lo += len(w)
                ev = Events(mom, w, self.particles, f"signal-{self.process}", "cms", base | {"batch": batch})
                advance(hi - lo)
                yield to_lab(ev, self.beams) if self.frame == "lab" else ev
        if self._keep is not None:
            params = dict(self._keep[2])
        else:
            params = _parameters(self.model, self.process, setup, history, (summary.sigma, summary.sigma_err), n,
                                 False)
            params |= seed_record(self._seed)
            params["unweighting_efficiency"] = summary.unweighting_efficiency()
        if self.frame == "lab":
            params["beams"] = (self.beams if self.beams is not None else Beams()).as_dict()
        self.parameters = params


class FixedUniforms:
    """The signal at many nearby parameter points from one set of uniforms (common random numbers).

    The kernels map uniforms to events smoothly in the masses, so with the same
    uniforms and the same gamma-phi channel weights an event moves continuously
    as m_A or m_phi change: templates made this way vary smoothly with the
    parameters instead of jumping with fresh Monte Carlo noise at every point.
    The channel weights are adapted once, at ``reference``.

    >>> crn = FixedUniforms(model, "gammaphi", 20_000, seed=1)    # doctest: +SKIP
    >>> momenta, weights = crn.events(model.replace(m_A=6.02))    # doctest: +SKIP
    """

    def __init__(self, reference: DarkSector, process: str, n_events: int, seed: int = 0,
                 acceptance: PhotonAcceptance | None = None):
        _check_request(reference, process, "cms", n_events)
        self.process = process
        self.n_events = int(n_events)
        self.acceptance = acceptance if acceptance is not None else PhotonAcceptance()
        pilot, main = np.random.SeedSequence(seed).spawn(2)
        setup = _Setup(reference, process, self.acceptance)
        setup.adapt(np.random.PCG64(pilot))
        self.alpha = setup.alpha.copy()
        self.u = np.random.Generator(np.random.PCG64(main)).random((self.n_events, N_UNIFORMS[process]))

    def events(self, model: DarkSector) -> tuple[np.ndarray, np.ndarray]:
        """CMS momenta (n, particles, 4) and weights (fb, summing to sigma) of ``model`` from the fixed uniforms."""
        setup = _Setup(model, self.process, self.acceptance)
        setup.alpha = self.alpha
        mom = np.empty((self.n_events, len(PARTICLES[self.process]), 4))
        w = np.empty(self.n_events)
        setup.run(self.u, mom, w, self.n_events)
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise GenerationError(f"signal {self.process}: non-finite or negative weights for {model}")
        return mom, w


def _prepare(model, process, gen, acceptance, n_events):
    """The kernel set-up, the chunk streams and the adapted channel weights of a run."""
    setup = _Setup(model, process, acceptance if acceptance is not None else PhotonAcceptance())
    # chunks 0..n-1, then the pilot run and the unweighting draws
    seeds = chunk_bit_generators(gen, n_events, extra=2)
    history = setup.adapt(seeds[-2])
    setup.warm_up()  # compile (or load from cache) in this thread: numba's first compilation is not thread-safe
    return setup, seeds, history


def _generate(model, process, n_events, rng, acceptance, n_threads, progress, keep_momenta):
    """Run the chunks; returns (momenta or None, weights, setup, channel-weight history, seeds)."""
    n_threads = check_count("n_threads", default_threads() if n_threads is None else n_threads, 1)
    setup, seeds, history = _prepare(model, process, as_generator(rng), acceptance, n_events)
    mom = np.empty((n_events, len(PARTICLES[process]), 4)) if keep_momenta else None
    w = np.empty(n_events)

    def run(k: int) -> None:
        setup.run_chunk(seeds, k, n_events, mom, w)

    run_chunks(n_events, run, n_threads, progress, f"signal {process}")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise GenerationError(f"signal {process}: non-finite or negative weights for {model}")
    return mom, w, setup, history, seeds


@dataclass(frozen=True)
class CrossSection:
    """sigma of one process at one model point, with its Monte Carlo error (:func:`cross_section`).

    Attributes
    ----------
    process : {"phi", "gammaphi"}
    model : DarkSector
        The point (its A' widths and branching ratios are properties here).
    sigma_fb, sigma_err_fb : float
        The cross section and its Monte Carlo error (fb).
    events : int
        Weighted events generated.
    unweighting_efficiency : float
        The expected fraction of events kept by unweighting.
    channel_weights : list of float
        The multichannel weights the integration settled on.
    """

    process: str
    model: DarkSector = field(repr=False)
    sigma_fb: float
    sigma_err_fb: float
    events: int
    unweighting_efficiency: float
    channel_weights: list = field(repr=False, compare=False)

    @property
    def gamma_A(self) -> float:
        """The A' total width (GeV)."""
        return self.model.width_A

    @property
    def widths_A(self) -> dict[str, float]:
        """The A' partial widths (GeV) by channel."""
        return dict(self.model.widths_A)

    @property
    def branching_ratios_A(self) -> dict[str, float]:
        """The A' branching ratios by channel."""
        return self.model.branching_ratios_A

    def as_row(self) -> dict[str, object]:
        """The figure-4 CSV row: benchmark, process, masses, eps, g_chi, sigma, its error, Gamma_A, efficiency."""
        m = self.model
        return {"benchmark": m.benchmark, "process": self.process, "m_A": m.m_A, "m_chi": m.m_chi,
                "m_phi": m.m_phi, "eps": m.eps, "g_chi": m.g_chi, "sigma_fb": self.sigma_fb,
                "sigma_err_fb": self.sigma_err_fb, "gamma_A": self.gamma_A,
                "unweighting_efficiency": self.unweighting_efficiency}


def cross_section(
    model: DarkSector,
    process: str,
    n_events: int = 1_000_000,
    rng: np.random.Generator | int | None = None,
    *,
    acceptance: PhotonAcceptance | None = None,
    n_threads: int | None = None,
    progress: bool = False,
) -> CrossSection:
    """sigma in fb with its Monte Carlo error, without keeping the events (memory O(n_events) doubles).

    Uses exactly the random numbers of :func:`generate_signal` with the same
    ``rng``, so both give the same sigma.
    """
    if not isinstance(model, DarkSector):
        raise ParameterError("model", type(model).__name__, "must be a mcdh DarkSector")
    check_channel(process, "process")
    n_events = check_count("n_events", n_events, 2)
    _, w, setup, history, _ = _generate(model, process, n_events, rng, acceptance, n_threads, progress, False)
    sigma, err = sigma_and_error(w)
    return CrossSection(process, model, sigma, err, n_events, unweighting_efficiency(w), history[-1])


def overweight_threshold(w: np.ndarray, max_overweight: float = 1e-3) -> float:
    """Smallest w_max with sum(max(w - w_max, 0)) <= max_overweight * sum(w).

    Uses two arrays of the size of ``w`` (the sorted weights and their excess);
    :class:`WeightSummary` finds the same threshold from the largest weights only.
    """
    w = np.sort(np.asarray(w, dtype=float))[::-1]
    if w.size == 0:
        return 0.0
    return _threshold_from_largest(w, max_overweight * w.sum(), w.size)[0]


def _threshold_from_largest(w_desc: np.ndarray, budget: float, n_total: int) -> tuple[float, bool]:
    """The overweight threshold from the largest weights of a sample, sorted in decreasing order.

    Returns (w_max, exact): exact is False when the threshold lies below the smallest weight given
    (more of the sample would be needed); with all ``n_total`` weights it is always exact.
    """
    w = w_desc
    # excess(w_j) = sum_{i<=j} (w_i - w_j) = csum_j - (j + 1) w_j grows with j: the last j within budget
    excess = np.cumsum(w)
    step = 1 << 20
    for lo in range(0, w.size, step):
        hi = min(w.size, lo + step)
        excess[lo:hi] -= np.arange(lo + 1, hi + 1) * w[lo:hi]
    j = int(np.searchsorted(excess, budget, side="right")) - 1  # >= 0 since excess[0] = 0
    if j + 1 >= w.size and w.size < n_total:
        return 0.0, False
    csum_j = excess[j] + (j + 1) * w[j]
    # on [w_{j+1}, w_j] the excess is linear: sum_{i<=j}(w_i - x) = budget
    x = (csum_j - budget) / (j + 1)
    lower = w[j + 1] if j + 1 < w.size else 0.0
    return float(max(x, lower)), True


class WeightSummary:
    """sigma, its error and the unweighting efficiency of weights added batch by batch, in bounded memory.

    Keeps counts, a mean and a sum of squared deviations (merged batch by batch), the exactly
    rounded sum of each batch, and only the ``keep`` largest weights (for the overweight
    threshold, which depends on the tail alone). The numbers are those of
    :func:`~mcdh.events.sigma_and_error` and :func:`unweighting_efficiency` on all weights, up to
    the rounding of a different summation order.
    """

    def __init__(self, keep: int = 1 << 20, max_overweight: float = 1e-3):
        self.keep, self.max_overweight = keep, max_overweight
        self.n, self.mean, self.m2 = 0, 0.0, 0.0
        self._sums: list[float] = []
        self._top = np.empty(0)

    def add(self, w: np.ndarray) -> None:
        """Add a batch of weights (mean and variance by Chan's parallel update; the largest weights kept)."""
        w = np.asarray(w, dtype=float)
        if w.size == 0:
            return
        mb = float(w.mean())
        m2b = float(np.square(w - mb).sum())
        n = self.n + w.size
        delta = mb - self.mean
        self.mean += delta * w.size / n
        self.m2 += m2b + delta * delta * self.n * w.size / n
        self.n = n
        self._sums.append(math.fsum(w))
        top = np.concatenate([self._top, w])
        if top.size > self.keep:
            top = np.partition(top, top.size - self.keep)[top.size - self.keep:]
        self._top = top

    @property
    def sigma(self) -> float:
        """Sum of the weights added (fb)."""
        return math.fsum(self._sums)

    @property
    def sigma_err(self) -> float:
        """Monte Carlo error of :attr:`sigma` (fb)."""
        return math.sqrt(self.n * self.m2 / (self.n - 1)) if self.n > 1 else math.inf

    def unweighting_efficiency(self) -> float | None:
        """<w> / w_max, or None if the threshold lies below the kept tail (then more weights would be needed)."""
        if self.n == 0:
            return 0.0
        w_max, exact = _threshold_from_largest(np.sort(self._top)[::-1], self.max_overweight * self.sigma, self.n)
        if not exact:
            return None
        return float(self.mean / w_max) if w_max > 0 else 0.0


def unweighting_efficiency(w: np.ndarray, max_overweight: float = 1e-3) -> float:
    """Expected fraction of events kept by unweighting: <w> / w_max."""
    w = np.asarray(w, dtype=float)
    wm = overweight_threshold(w, max_overweight)
    return float(w.mean() / wm) if wm > 0 else 0.0


def cross_section_table(
    benchmarks=("B1", "B2", "B3"),
    masses=MASSES,
    processes=CHANNELS,
    n_events: int = 200_000,
    seed: int = 1,
    *,
    n_threads: int | None = None,
    progress: bool = False,
    **model_kwargs,
) -> list[CrossSection]:
    """sigma(m_A) for benchmarks x processes (the paper's figure 4).

    Each grid point gets its own seed, ``SeedSequence(seed, spawn_key=(2,
    benchmark, process, m_A in MeV))``, so a point's value does not depend on
    which other points are computed. ``model_kwargs``
    (eps, g_chi, q_phi, alpha_em, ...) go to :meth:`DarkSector.from_benchmark`.
    """
    grid = [(b, p, float(m)) for b in benchmarks for p in processes for m in masses]

    def one(point):
        b, p, m_A = point
        model = DarkSector.from_benchmark(b, m_A, **model_kwargs)
        rng = np.random.default_rng(streams.cross_section(seed, b, p, m_A))
        return cross_section(model, p, n_events, rng, n_threads=1)

    # the points on the threads, each on one (a point's numbers do not depend on its threads): the adaptation
    # of each point's sampling is serial, so this keeps every thread busy. The first point of each process runs
    # alone: it compiles the kernels (numba's first compilation is not thread-safe)
    first: dict[str, int] = {}
    for k, (_, p, _) in enumerate(grid):
        first.setdefault(p, k)
    done = {k: one(grid[k]) for k in first.values()}
    rest = [k for k in range(len(grid)) if k not in done]
    done |= dict(zip(rest, ordered_map(lambda k: one(grid[k]), rest, progress=progress, desc="cross sections",
                                       unit="point", n_threads=default_threads() if n_threads is None else n_threads)))
    return [done[k] for k in range(len(grid))]
