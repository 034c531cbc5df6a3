"""mcdh: fast Monte Carlo for dark Higgs-strahlung at Belle II (arXiv:2508.09247).

Everything a study needs comes from ``import mcdh``:

Model
    DarkSector, BENCHMARKS              the dark photon, dark matter and dark Higgs (masses GeV)
Generation
    generate_signal, SignalStream       exact matrix elements (phi, gamma-phi); streamed in batches
    cross_section                       sigma in fb with its Monte Carlo error
    generate_background                 the paper's RAMBO mock backgrounds (N_b at 10 ab^-1)
    rambo                               flat n-body phase space (C core, threaded, reproducible)
Files
    read_events, write_events, open_writer   ROOT (uproot), LHE, HepMC3; atomic writes
Studies
    Study                               settings held once; tables, -2 log L, eps reach, theta band,
                                        histograms, the phi + gamma-phi combination; after a
                                        discovery: pseudo_data, fit, precision_table
    Reach, Band                         results: a number, or "no sensitivity" with the reason
    FitResult, FitConfig, Data          the fit's typed result, the model of the data, a data set
    ScanGrid, run_scan                  resumable scans on dask
Errors
    ParameterError, FileFormatError, GenerationError
Samples
    Events, SampleInfo, concatenate     events with the frozen record of how they were made
Types
    Channel, Seed, PhotonAcceptance
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

from ._types import Seed  # noqa: E402
from .channels import CHANNELS, Channel  # noqa: E402
from .errors import FileFormatError, GenerationError, ParameterError  # noqa: E402
from .events import Events, SampleInfo, concatenate  # noqa: E402
from .generate.background import generate_background  # noqa: E402
from .generate.phasespace import lips_factor, massless_volume, rambo  # noqa: E402
from .generate.signal import SignalStream, cross_section, generate_signal  # noqa: E402
from .io import open_writer, read_events, write_events  # noqa: E402
from .kinematics.acceptance import PhotonAcceptance  # noqa: E402
from .physics.model import BENCHMARKS, DarkSector  # noqa: E402
from .reconstruct.data import Data  # noqa: E402
from .reconstruct.fit import FitResult  # noqa: E402
from .reconstruct.model import FitConfig  # noqa: E402
from .scan import ScanGrid, run_scan  # noqa: E402
from .study import COMBINED, Band, Reach, Study  # noqa: E402

__all__ = [
    "BENCHMARKS",
    "CHANNELS",
    "COMBINED",
    "Band",
    "Channel",
    "DarkSector",
    "Data",
    "Events",
    "FileFormatError",
    "FitConfig",
    "FitResult",
    "GenerationError",
    "ParameterError",
    "PhotonAcceptance",
    "Reach",
    "SampleInfo",
    "ScanGrid",
    "Seed",
    "SignalStream",
    "Study",
    "concatenate",
    "cross_section",
    "generate_background",
    "generate_signal",
    "lips_factor",
    "massless_volume",
    "open_writer",
    "rambo",
    "read_events",
    "run_scan",
    "write_events",
    "__version__",
]
