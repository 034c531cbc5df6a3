"""Mock backgrounds of the paper's section 3.2 (PHYSICS.md section 10).

Flat phase space (a constant matrix element) generated with RAMBO:

* ``"phi"`` channel: 2 -> 3 with masses (m_phi, m_chi, m_chi). The m_phi
  particle stands for the displaced vertex, the two m_chi particles for a
  continuum of missing four-momentum with m_chichi in [2 m_chi, sqrt_s - m_phi].
* ``"gammaphi"`` channel: 2 -> 4 with (0, m_phi, m_chi, m_chi) and the Belle II
  photon acceptance applied in the CMS.

Normalisation: N_b is the number of background events of the phi channel at
the reference luminosity of 10 ab^-1 (the paper's; :data:`mcdh.settings.LUMINOSITY_FB`),
before any analysis selection. The background cross section is therefore
fixed: the sample's weights sum to ``n_b / 1e4 fb^-1`` (fb) for the phi channel
and ``0.22 n_b / 1e4 fb^-1`` for gamma-phi, and at a luminosity L it predicts
N_b L / 10 ab^-1 (0.22 times that) events, like the signal scales. For gamma-phi the photon acceptance is part of the generation (as
for the signal), so the normalisation holds for events inside the acceptance.
"""
from __future__ import annotations

import numpy as np

from ..channels import PARTICLES, check_channel
from ..errors import ParameterError, check_count, check_nonnegative, check_positive
from ..events import Events
from ..kinematics.acceptance import PhotonAcceptance
from ..kinematics.variables import pair_mass
from ..physics.constants import SQRT_S
from ..settings import GAMMAPHI_BACKGROUND_RATIO, LUMINOSITY_FB
from .phasespace import as_generator, rambo, seed_record


def background_masses(channel: str, m_phi: float, m_chi: float) -> tuple[float, ...]:
    """Final-state masses of the mock background of ``channel``."""
    if channel == "phi":
        return (m_phi, m_chi, m_chi)
    check_channel(channel)
    return (0.0, m_phi, m_chi, m_chi)


N_B_MAX = 1e15
"""Largest background level accepted: all e+e- collisions in 10 ab^-1 at Belle II are about 1e12 events
(beyond, weights squared in the Monte Carlo error overflow double precision)."""


def check_n_b(n_b, name: str = "n_b") -> float:
    """A background level N_b (phi-channel events at 10 ab^-1): finite, >= 0 and at most :data:`N_B_MAX`."""
    n_b = check_nonnegative(name, n_b)
    if not n_b <= N_B_MAX:
        raise ParameterError(name, n_b, f"must be at most {N_B_MAX:g} (more than every e+e- collision in 10 ab^-1)")
    return n_b


def generate_background(
    channel: str,
    m_phi: float,
    m_chi: float,
    n_events: int,
    rng: np.random.Generator | int | None = None,
    *,
    n_b: float = 1.0,
    sqrt_s: float = SQRT_S,
    acceptance: PhotonAcceptance | None = None,
    unweight: bool = False,
    n_threads: int | None = None,
    progress: bool = False,
) -> Events:
    """Generate the mock background of ``channel``.

    Parameters
    ----------
    channel : {"phi", "gammaphi"}
        Which signal's background.
    m_phi, m_chi : float
        Masses of the dark Higgs proxy and of each missing-mass proxy (GeV).
    n_events : int
        Weighted events wanted (after the photon acceptance for gamma-phi).
    rng : numpy.random.Generator, int or None
        Random source or seed.
    n_b : float
        Background level: expected phi-channel events N_b at the reference
        luminosity of 10 ab^-1 (gamma-phi: 0.22 N_b).
    sqrt_s : float
        CMS energy in GeV.
    acceptance : PhotonAcceptance, optional
        Photon acceptance for gamma-phi (default: Belle II, E >= 0.25 GeV,
        22-158 degrees).
    unweight : bool
        Hit-or-miss unweighting against the sample's largest weight: returns
        the kept subset (about efficiency x n_events events) with equal weights.
    n_threads : int, optional
        Threads for RAMBO; results do not depend on it.
    progress : bool
        Show a progress bar.

    Returns
    -------
    Events
        CMS-frame events whose weights sum to the normalised cross section in
        fb. ``parameters`` records the inputs, the raw phase-space integral,
        the acceptance efficiency and (if unweighted) the unweighting efficiency.
    """
    check_channel(channel)
    m_phi = check_positive("m_phi", m_phi)
    m_chi = check_positive("m_chi", m_chi)
    n_events = check_count("n_events", n_events, 1)
    n_b = check_n_b(n_b)
    sqrt_s = check_positive("sqrt_s", sqrt_s)
    if not m_phi + 2.0 * m_chi < sqrt_s:
        raise ParameterError(
            "m_phi, m_chi", (m_phi, m_chi), f"need m_phi + 2 m_chi < sqrt_s = {sqrt_s} GeV"
        )
    gen = as_generator(rng)
    masses = background_masses(channel, m_phi, m_chi)
    target_sigma = n_b / LUMINOSITY_FB
    if channel == "gammaphi":
        target_sigma *= GAMMAPHI_BACKGROUND_RATIO
        acc = acceptance if acceptance is not None else PhotonAcceptance()
        if acc.e_min >= (sqrt_s**2 - (m_phi + 2 * m_chi) ** 2) / (2 * sqrt_s):
            raise ParameterError("acceptance.e_min", acc.e_min, "is above the largest photon energy allowed")
        moms, wts = [], []
        kept = tried = 0
        raw_sum = 0.0
        # Draw rounds until n_events photons are accepted; events are i.i.d.,
        # so truncating the last round does not bias the sample.
        while kept < n_events:
            eff = kept / tried if kept > 0 else 0.5
            batch = int(1.1 * (n_events - kept) / max(eff, 1e-3)) + 1000
            p, w = rambo(sqrt_s, masses, batch, gen, n_threads=n_threads, progress=progress)
            ok = acc.accepts(p[:, 0, :])
            tried += batch
            raw_sum += float(w[ok].sum())
            kept += int(ok.sum())
            moms.append(p[ok])
            wts.append(w[ok])
        p = np.concatenate(moms)
        w = np.concatenate(wts)
        acceptance_eff = kept / tried
        # the phase-space integral inside the acceptance, from all rounds
        phase_space = raw_sum / tried
        p, w = p[:n_events], w[:n_events]
        acc_info = {"e_min": acc.e_min, "theta_min_deg": acc.theta_min_deg, "theta_max_deg": acc.theta_max_deg}
    else:
        p, w = rambo(sqrt_s, masses, n_events, gen, n_threads=n_threads, progress=progress)
        acceptance_eff = 1.0
        phase_space = float(w.mean())
        acc_info = None

    parameters = {
        "channel": channel,
        "m_phi": m_phi,
        "m_chi": m_chi,
        "n_b": n_b,
        "n_b_luminosity_fb": LUMINOSITY_FB,
        "sqrt_s": sqrt_s,
        "masses": list(masses),
        "phase_space_volume": phase_space,
        "acceptance_efficiency": acceptance_eff,
        "photon_acceptance": acc_info,
        "weighted": not unweight,
        **seed_record(rng),
    }
    if unweight:
        u = gen.random(w.size)
        keep = u * w.max() < w
        parameters["unweighting_efficiency"] = float(w.mean() / w.max())
        p = p[keep]
        w = np.full(p.shape[0], target_sigma / max(p.shape[0], 1))
    else:
        w = w * (target_sigma / w.sum())
    return Events(p, w, PARTICLES[channel], f"background-{channel}", "cms", parameters)


def background_summary(events: Events, luminosity_fb: float = LUMINOSITY_FB) -> dict:
    """JSON-ready description of a background sample: normalisation, events at ``luminosity_fb`` (fb^-1), m_chichi."""
    luminosity_fb = check_positive("luminosity_fb", luminosity_fb)
    m = pair_mass(events.momentum("chi"), events.momentum("chibar"))
    p = dict(events.parameters)
    return {
        "channel": p["channel"],
        "events": len(events),
        "sigma_fb": events.sigma_fb,
        "expected_events": events.expected_events(luminosity_fb),
        "n_b": p["n_b"],
        "n_b_luminosity_fb": p["n_b_luminosity_fb"],
        "luminosity_fb": luminosity_fb,
        "m_phi": p["m_phi"],
        "m_chi": p["m_chi"],
        "sqrt_s": p["sqrt_s"],
        "phase_space_volume": p["phase_space_volume"],
        "acceptance_efficiency": p["acceptance_efficiency"],
        "unweighting_efficiency": p.get("unweighting_efficiency"),
        "mchichi_mean": float(np.average(m, weights=events.weights)) if len(events) else None,
        "mchichi_range": [2 * p["m_chi"], p["sqrt_s"] - p["m_phi"]],
    }
