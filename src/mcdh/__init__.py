"""mcdh: fast Monte Carlo for dark Higgs-strahlung at Belle II (arXiv:2508.09247).

Everything a study needs comes from ``import mcdh``:

Model
    DarkSector, BENCHMARKS              the dark photon, dark matter and dark Higgs (masses GeV)
Generation
    generate_signal, SignalStream       exact matrix elements (phi, gamma-phi); streamed in batches
    cross_section, CrossSection         sigma in fb with its Monte Carlo error (a typed record)
    generate_background                 the paper's RAMBO mock backgrounds (N_b at 10 ab^-1)
    rambo                               flat n-body phase space (C core, threaded, reproducible)
Files
    read_events, write_events, open_writer   ROOT (uproot), LHE, HepMC3; atomic writes
Studies
    Study                               settings held once; tables, -2 log L, eps reach, theta band,
                                        histograms, the phi + gamma-phi combination; after a
                                        discovery: pseudo_data, fit, precision_table
    Reach, Band                         results: a number, or "no sensitivity" with the reason
    PointResult                         everything figures 11-12 and the tables need at one point
    FitResult, FitConfig, Data          the fit's typed result, the model of the data, a data set
    ScanGrid, ScanRow, run_scan         resumable scans on dask; one typed row per point and setting
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

# The public names load their modules on first use (PEP 562): ``import mcdh`` costs little above numpy, and
# numba, scipy, uproot and dask are imported by the parts that need them.
_LAZY = {
    "Seed": "._types", "CHANNELS": ".channels", "Channel": ".channels",
    "FileFormatError": ".errors", "GenerationError": ".errors", "ParameterError": ".errors",
    "Events": ".events", "SampleInfo": ".events", "concatenate": ".events",
    "generate_background": ".generate.background",
    "lips_factor": ".generate.phasespace", "massless_volume": ".generate.phasespace", "rambo": ".generate.phasespace",
    "SignalStream": ".generate.signal", "CrossSection": ".generate.signal", "cross_section": ".generate.signal", "generate_signal": ".generate.signal",
    "open_writer": ".io", "read_events": ".io", "write_events": ".io",
    "PhotonAcceptance": ".kinematics.acceptance", "BENCHMARKS": ".physics.model", "DarkSector": ".physics.model",
    "Data": ".reconstruct.data", "FitResult": ".reconstruct.fit", "FitConfig": ".reconstruct.model",
    "ScanGrid": ".scan", "ScanRow": ".scan", "run_scan": ".scan", "COMBINED": ".study", "Band": ".study",
    "PointResult": ".study", "Reach": ".study", "Study": ".study",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value  # once: later lookups do not come here
        return value
    raise AttributeError(f"module 'mcdh' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "BENCHMARKS",
    "CHANNELS",
    "COMBINED",
    "Band",
    "Channel",
    "CrossSection",
    "DarkSector",
    "Data",
    "Events",
    "FileFormatError",
    "FitConfig",
    "FitResult",
    "GenerationError",
    "ParameterError",
    "PhotonAcceptance",
    "PointResult",
    "Reach",
    "SampleInfo",
    "ScanGrid",
    "ScanRow",
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
