"""mcdh: fast Monte Carlo for dark Higgs-strahlung at Belle II (arXiv:2508.09247).

Public API
----------
rambo                 flat n-body phase space (C core, threaded, reproducible)
generate_background   the paper's RAMBO mock backgrounds (section 3.2)
Events                the event container passed between stages
PhotonAcceptance      Belle II single-photon acceptance (CMS)
ParameterError        raised for invalid input (a ValueError)
"""
from ._version import __version__

try:  # the C core must be built; say how when it is not
    from . import _rambo  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only on broken installs
    import os as _os

    raise ImportError(
        f"mcdh's compiled RAMBO core (mcdh._rambo) is missing from {_os.path.dirname(__file__)}: "
        "install with `pip install .` (or `pip install -e .` to work on the sources)"
    ) from exc

from . import _numba_cache

_numba_cache.install()  # before any kernel is defined: mcdh's kernels are cached per version and source

from .errors import GenerationError, ParameterError  # noqa: E402
from .events import Events  # noqa: E402
from .generate.background import generate_background  # noqa: E402
from .generate.phasespace import lips_factor, massless_volume, rambo  # noqa: E402
from .kinematics.acceptance import PhotonAcceptance  # noqa: E402

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
