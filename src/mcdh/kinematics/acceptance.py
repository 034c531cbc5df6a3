"""The Belle II single-photon acceptance (paper section 3.1), applied in the CMS frame."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError, check_finite, check_nonnegative
from .variables import cos_theta


@dataclass(frozen=True)
class PhotonAcceptance:
    """Belle II single-photon acceptance in the CMS frame.

    Attributes
    ----------
    e_min : float
        Minimum photon energy E_0 in GeV (paper: 0.25).
    theta_min_deg, theta_max_deg : float
        Polar-angle window in degrees (paper: 22 and 158).
    """

    e_min: float = 0.25
    theta_min_deg: float = 22.0
    theta_max_deg: float = 158.0

    def __post_init__(self):
        check_nonnegative("e_min", self.e_min)
        lo = check_finite("theta_min_deg", self.theta_min_deg)
        hi = check_finite("theta_max_deg", self.theta_max_deg)
        if not 0.0 <= lo < hi <= 180.0:
            raise ParameterError(
                "theta_min_deg/theta_max_deg", (lo, hi), "need 0 <= theta_min_deg < theta_max_deg <= 180"
            )

    def accepts(self, p_gamma: np.ndarray) -> np.ndarray:
        """Boolean mask of photons (n, 4) inside the acceptance."""
        p = np.asarray(p_gamma)
        c = cos_theta(p)
        c_hi = np.cos(np.radians(self.theta_min_deg))
        c_lo = np.cos(np.radians(self.theta_max_deg))
        return (p[:, 0] >= self.e_min) & (c <= c_hi) & (c >= c_lo)
