"""mcdh: fast Monte Carlo for dark Higgs-strahlung at Belle II (arXiv:2508.09247).

Public API
----------
rambo                 flat n-body phase space (C core, threaded, reproducible)
generate_background   the paper's RAMBO mock backgrounds (section 3.2)
Events                the event container passed between stages
PhotonAcceptance      Belle II single-photon acceptance (CMS)
ParameterError        raised for invalid input (a ValueError)
"""
from .errors import GenerationError, ParameterError
from .events import Events
from .generate.background import PhotonAcceptance, generate_background
from .generate.phasespace import lips_factor, massless_volume, rambo

__version__ = "0.1.0"

__all__ = [
    "Events",
    "GenerationError",
    "ParameterError",
    "PhotonAcceptance",
    "generate_background",
    "lips_factor",
    "massless_volume",
    "rambo",
    "__version__",
]
