"""The one validation layer of the three readers (ROOT, LHE, HepMC3).

Every reader parses its format and hands the result here; nothing reaches an
:class:`~mcdh.events.Events` without passing these checks:

* :func:`reading` turns whatever a parser raises (XML nesting, a corrupt
  deflate stream, bytes that are not UTF-8, uproot's multi-line messages)
  into one :class:`~mcdh.errors.FileFormatError` line naming the file, and
  the operating system's refusals into :class:`~mcdh.errors.FileAccessError`;
* :func:`checked_header` checks mcdh's JSON header (an object with the keys
  and types mcdh writes);
* :func:`checked_column` refuses non-float columns (a bool or integer
  weight or momentum branch would be converted silently);
* :func:`checked_events` checks shape, finiteness, energies and weights
  (finite, >= 0, a positive sum), naming the first bad event.
"""
from __future__ import annotations

import contextlib
import gzip
import zlib
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from ..errors import FileAccessError, FileFormatError, ParameterError, check_roles
from ..events import Events

FRAMES = ("cms", "lab")


@contextlib.contextmanager
def reading(path) -> Iterator[None]:
    """Convert any failure of a parser into one line naming ``path``."""
    try:
        yield
    except (FileFormatError, ParameterError, FileAccessError):
        raise
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise FileFormatError(path, f"corrupt or truncated compressed data ({type(exc).__name__}: {exc})") from None
    except OSError as exc:
        raise FileAccessError(path, "read", exc) from None
    except MemoryError:
        raise FileFormatError(path, "too large to read into memory") from None
    except UnicodeDecodeError as exc:
        raise FileFormatError(path, f"byte {exc.start} of a text field is not UTF-8") from None
    except RecursionError:
        raise FileFormatError(path, "nested too deeply to be an event file") from None
    except Exception as exc:  # noqa: BLE001 - a parser's own failure, whatever its type
        raise FileFormatError(path, f"cannot be read ({type(exc).__name__}: {exc})") from None


def _fail(path, what: str) -> FileFormatError:
    return FileFormatError(path, what)


def checked_header(path, meta: Any, *, where: str = "its mcdh header", pdg: bool = True) -> dict[str, Any]:
    """mcdh's JSON header: an object with particles, process, frame, pdg (unless ``pdg=False``), parameters, n_events."""
    if not isinstance(meta, dict):
        raise _fail(path, f"{where} is not a JSON object")
    missing = [k for k in ("particles", "process", "frame") + (("pdg",) if pdg else ()) if k not in meta]
    if missing:
        raise _fail(path, f"{where} lacks {', '.join(missing)}")
    particles = meta["particles"]
    if (not isinstance(particles, list) or not particles or not all(isinstance(p, str) for p in particles)
            or len(set(particles)) != len(particles)):
        raise _fail(path, f"{where}: particles must be a list of distinct names")
    if not isinstance(meta["process"], str):
        raise _fail(path, f"{where}: process must be a string")
    if meta["frame"] not in FRAMES:
        raise _fail(path, f"{where}: frame must be 'cms' or 'lab', not {meta['frame']!r}")
    if pdg:
        checked_roles(path, meta["pdg"], where=f"{where}: pdg")
    if not isinstance(meta.get("parameters", {}), dict):
        raise _fail(path, f"{where}: parameters must be a JSON object")
    n = meta.get("n_events")
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 0):
        raise _fail(path, f"{where}: n_events must be a non-negative integer")
    return meta


def checked_roles(path, roles: Any, *, where: str = "roles") -> dict[str, int]:
    """{slot name: PDG id} read from a file (:func:`~mcdh.errors.check_roles`, as a file error)."""
    try:
        return check_roles(roles, where)
    except ParameterError as exc:
        raise _fail(path, f"{where}: {exc.allowed}") from None


def checked_column(path, name: str, array: np.ndarray, n: int | None = None) -> np.ndarray:
    """A one-dimensional floating-point column (ROOT branch), of length ``n`` if given."""
    a = np.asarray(array)
    if a.dtype.kind == "O":
        raise _fail(path, f"branch {name!r} is jagged (a list of values per event), not one number per event")
    if a.ndim != 1:
        raise _fail(path, f"branch {name!r} holds an array of {'x'.join(map(str, a.shape[1:]))} values per event, "
                    "not one number")
    if a.dtype.kind != "f":
        raise _fail(path, f"branch {name!r} holds {a.dtype} values, not floating-point numbers")
    if n is not None and a.size != n:
        raise _fail(path, f"branch {name!r} has {a.size} entries, the header says {n}")
    return a


def check_input_file(path) -> None:
    """A file to read must exist and be a file (a folder is named as one, not as a missing file)."""
    from pathlib import Path

    p = Path(path)
    if p.is_dir():
        raise FileFormatError(p, "is a folder, not a file")
    if not p.is_file():
        raise FileFormatError(p, "no such file")


BALANCE_TOLERANCE = 1e-6
"""Four-momentum balance: |sum of the final state - the beams| <= this x sqrt(s), per component."""
MASS_TOLERANCE = 1e-6
"""On-shell: |m^2 - m_model^2| <= this x E^2 for each particle."""


def _beams_total(frame: str, sqrt_s: float, beams) -> np.ndarray:
    cms = np.array([sqrt_s, 0.0, 0.0, 0.0])
    if frame == "cms":
        return cms
    from ..kinematics.beams import Beams

    b = Beams(**{k: v for k, v in beams.items() if k != "sqrt_s"}) if isinstance(beams, Mapping) else Beams()
    return b.to_lab(cms[None])[0]


SIGMA_TOLERANCE = 1e-9
"""A weighted mcdh file's weights must add up to its recorded sigma to this relative precision."""


def physics_problem(mom: np.ndarray, particles: tuple[str, ...], frame: str, params: Mapping[str, Any],
                    weights: np.ndarray | None = None) -> str | None:
    """The first event whose physics a file's own record contradicts, or None: for a file that records its
    sqrt(s) (and its model or masses), every event's final state must balance the beams of its frame and each
    particle sit on its mass shell (tolerances :data:`BALANCE_TOLERANCE`, :data:`MASS_TOLERANCE`), and the
    weights of a weighted file add up to its recorded sigma (:data:`SIGMA_TOLERANCE`). This catches numbers
    changed in a file that still parses."""
    sqrt_s = params.get("sqrt_s")
    model: Mapping[str, Any] = params["model"] if isinstance(params.get("model"), Mapping) else {}
    recorded = bool(model) or ("m_phi" in params and "m_chi" in params)  # mcdh's record of a signal or background
    if not recorded or not isinstance(sqrt_s, (int, float)) or not sqrt_s > 0:
        return None  # a foreign file (its slots may be part of the final state): nothing recorded to check against
    try:
        total = _beams_total(frame, float(sqrt_s), params.get("beams"))
    except (TypeError, ParameterError):
        return None
    off = np.abs(mom.sum(axis=1) - total).max(axis=1)
    bad = ~(off <= BALANCE_TOLERANCE * sqrt_s)
    if bad.any():
        i = int(np.argmax(bad))
        return f"event {i + 1}: the final state does not balance the beams (off by {off[i]:.3g} GeV): a changed number"
    masses = {"phi": model.get("m_phi", params.get("m_phi")), "chi": model.get("m_chi", params.get("m_chi")),
              "gamma": 0.0}
    masses["chibar"] = masses["chi"]
    for k, name in enumerate(particles):
        m0 = masses.get(name)
        if not isinstance(m0, (int, float)):
            continue
        p = mom[:, k]
        m2 = p[:, 0] ** 2 - np.sum(p[:, 1:] ** 2, axis=1)
        bad = ~(np.abs(m2 - m0 * m0) <= MASS_TOLERANCE * p[:, 0] ** 2)
        if bad.any():
            i = int(np.argmax(bad))
            return (f"event {i + 1}: the {name} is off its mass shell (m^2 = {m2[i]:.6g} GeV^2, the file's model says "
                    f"{m0 * m0:.6g}): a changed number")
    sigma = params.get("sigma_fb")
    if weights is not None and params.get("weighted") is True and isinstance(sigma, (int, float)) and sigma > 0:
        w_sum = float(weights.sum())
        if not abs(w_sum - sigma) <= SIGMA_TOLERANCE * sigma:
            return (f"its weights add up to {w_sum:.10g} fb, its record says sigma = {sigma:.10g} fb: a changed weight "
                    "(or a file cut short and its record kept)")
    return None


def checked_events(path, momenta, weights, particles, process: str, frame: str,
                   parameters: Mapping[str, Any] | None) -> Events:
    """The Events of a reader, once shape, finiteness, energies and weights are checked."""
    mom = np.asarray(momenta)
    w = np.asarray(weights)
    if mom.dtype.kind != "f" or w.dtype.kind != "f":
        raise _fail(path, "momenta and weights must be floating-point numbers")
    n = w.shape[0] if w.ndim == 1 else -1
    if n <= 0 or mom.shape != (n, len(particles), 4):
        raise _fail(path, "holds no events" if n == 0 else f"momenta of shape {mom.shape} for {w.shape} weights")
    if frame not in FRAMES:
        raise _fail(path, f"frame must be 'cms' or 'lab', not {frame!r}")
    bad = ~np.isfinite(mom).all(axis=(1, 2))
    if bad.any():
        raise _fail(path, f"event {int(np.argmax(bad)) + 1}: non-finite momentum")
    bad = mom[:, :, 0].min(axis=1) < 0
    if bad.any():
        raise _fail(path, f"event {int(np.argmax(bad)) + 1}: negative energy")
    bad = ~np.isfinite(w)
    if bad.any():
        i = int(np.argmax(bad))
        raise _fail(path, f"event {i + 1}: weight is {w[i]}")
    bad = w < 0
    if bad.any():
        i = int(np.argmax(bad))
        raise _fail(path, f"event {i + 1}: negative weight {w[i]:g} (mcdh's analysis needs weights >= 0)")
    if not w.sum() > 0:
        raise _fail(path, "all weights are zero (no cross section)")
    problem = physics_problem(mom, tuple(particles), frame, parameters or {}, w)
    if problem is not None:
        raise _fail(path, problem)
    return Events(mom.astype(np.float64, copy=False), w.astype(np.float64, copy=False), tuple(particles),
                  process, frame, dict(parameters or {}))
