"""mcdh: fast Monte Carlo for dark Higgs-strahlung at Belle II (arXiv:2508.09247).

Public API
----------
rambo                 flat n-body phase space (C core, threaded, reproducible)
generate_background   the paper's RAMBO mock backgrounds (section 3.2)
Events                the event container passed between stages
PhotonAcceptance      Belle II single-photon acceptance (CMS)
ParameterError        raised for invalid input (a ValueError)
"""
try:  # the C core must be built; say how when it is not (e.g. a source checkout shadowing the install)
    from . import _rambo  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only on broken installs
    import os as _os

    raise ImportError(
        f"mcdh's compiled RAMBO core (mcdh._rambo) is missing from {_os.path.dirname(__file__)}: "
        "install with `pip install .` (or `pip install -e .` to work in the source tree); if mcdh is "
        "installed, run from outside the source checkout so that it does not shadow the installed package"
    ) from exc

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
