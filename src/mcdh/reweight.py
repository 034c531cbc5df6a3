"""Lifetime reweighting of full-simulation ntuples: one simulated sample, the whole theta scan.

:func:`reweight_ntuple` reads a ntuple's MC-truth dark Higgs - its four-momentum and its
production and decay vertices (branch names :data:`BASF2_BRANCHES` by default, basf2's
``variablesToNtuple`` MC variables; any names can be given) - chunk by chunk, and writes one
weight column per target c tau (:func:`mcdh.analysis.lifetime.lifetime_weights`) into a new
ROOT file, a tree of the same length with ``__entry__``: attach it as a friend tree and
multiply. The source distribution is the generator's: exponential at c tau_0, or flat in
[L_min, L_max] (basf2's GeneratedVertexDisplacer ``flat``). Memory is flat in the number of
events; the output is written atomically.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ._atomic import atomic_path
from ._progress import progress_bar
from .analysis.lifetime import lifetime_weights
from .errors import FileFormatError, ParameterError
from .io._validate import check_input_file, checked_column

BASF2_BRANCHES = {"E": "mcE", "px": "mcPX", "py": "mcPY", "pz": "mcPZ",
                  "x": "mcDecayVertexX", "y": "mcDecayVertexY", "z": "mcDecayVertexZ",
                  "x0": "mcProductionVertexX", "y0": "mcProductionVertexY", "z0": "mcProductionVertexZ"}
"""The MC-truth branches read, by role: basf2's names (GeV, cm). The production vertex is optional (default:
the origin)."""
STEP = 200_000
"""Events per chunk (x 50 float64 weight columns: 80 MB)."""


def _open_tree(path: Path, tree: str | None):
    import uproot

    check_input_file(path)
    try:
        f = uproot.open(path)
        kinds = {k.split(";")[0]: c for k, c in f.classnames().items()}
        trees = [k for k, c in kinds.items() if c.startswith("TTree")]
    except Exception as exc:  # noqa: BLE001 - any failure to parse is a foreign or damaged file
        raise FileFormatError(path, f"is not a readable ROOT file ({type(exc).__name__}: {exc})") from None
    if not trees:
        f.close()
        raise FileFormatError(path, f"holds no TTree (it holds {', '.join(f'{k} ({c})' for k, c in kinds.items()) or 'nothing'})")
    if tree is None:
        if len(trees) != 1:
            f.close()
            raise ParameterError("tree", None, f"must be given: {path} holds the trees {sorted(trees)}")
        tree = trees[0]
    if tree not in trees:
        f.close()
        raise ParameterError("tree", tree, f"is not in {path} (it holds {sorted(trees)})")
    return f, f[tree], tree


@dataclass(frozen=True)
class LifetimeSource:
    """How a simulated sample's decay lengths were generated (:func:`~mcdh.analysis.lifetime.lifetime_weights`):
    ``"exponential"`` with c tau ``ctau0`` (basf2's GeneratedVertexDisplacer default), or ``"flat"`` over
    ``flat_range`` = (L_min, L_max); lengths in the unit of the vertex branches. Checked when made."""

    kind: str = "exponential"
    ctau0: float | None = None
    flat_range: tuple[float, float] | None = None

    def __post_init__(self):
        lifetime_weights([0.0], [1.0], np.array([1.0]), self.kind, ctau0=self.ctau0, flat_range=self.flat_range)


@dataclass(frozen=True)
class ReweightSummary:
    """What :func:`reweight_ntuple` wrote: the events, and per weight column its sum and effective number of
    events (sum w)^2 / sum w^2; ``notes``: targets the sample cannot represent well."""

    output: str
    tree: str
    events: int
    production_vertex: bool
    sum_of_weights: dict[str, float]
    effective_events: dict[str, float]
    notes: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        """The JSON form (``mcdh reweight --json``)."""
        return asdict(self) | {"notes": list(self.notes)}


def reweight_ntuple(path: str | os.PathLike, output: str | os.PathLike, ctau: dict[str, float],
                    source: LifetimeSource, *, tree: str | None = None, branches: dict[str, str] | None = None,
                    double: bool = False, progress: bool = False) -> ReweightSummary:
    """Write the lifetime weights of the events of ``path`` for each target of ``ctau`` ({column name: c tau,
    in the unit of the vertex branches}) into ``output``, from a sample generated as ``source`` says; returns
    a :class:`ReweightSummary` (events, sum of each column).

    ``branches`` overrides :data:`BASF2_BRANCHES` by role; the events are read :data:`STEP` at a time. The weights are
    computed in double precision and stored as 32-bit floats (relative rounding 6e-8, far below any sample's
    statistical error; half the bytes of a file that is otherwise 400 bytes per event for 50 columns), or as
    64-bit floats with ``double``.

    The summary gives each column's effective number of events, (sum w)^2 / sum w^2, and a note for targets
    the sample cannot represent well: from an exponential source, c tau >= 2 c tau_0 gives weights of
    infinite variance (E[w^2] = int f^2 / f_0 diverges).
    """
    path, output = Path(path), Path(output)
    if not ctau:
        raise ParameterError("ctau", ctau, "needs at least one target c tau")
    names = list(ctau)
    targets = np.array([ctau[k] for k in names], dtype=np.float64)
    if not isinstance(source, LifetimeSource):
        raise ParameterError("source", source, "must be a LifetimeSource (how the sample's decay lengths were made)")
    made, ctau0, flat_range = source.kind, source.ctau0, source.flat_range
    lifetime_weights([0.0], [1.0], targets, made, ctau0=ctau0, flat_range=flat_range)  # the targets, checked first
    step = STEP
    unknown = sorted(set(branches or {}) - set(BASF2_BRANCHES))
    if unknown:
        raise ParameterError("branches", unknown, f"are not roles (they are {', '.join(BASF2_BRANCHES)})")
    roles = dict(BASF2_BRANCHES) | dict(branches or {})
    f, t, tree = _open_tree(path, tree)
    with f:
        have = set(t.keys())
        need = [roles[k] for k in ("E", "px", "py", "pz", "x", "y", "z")]
        missing = [b for b in need if b not in have]
        if missing:
            raise ParameterError("branches", missing, f"are not in tree {tree!r} of {path} (give the branch names of "
                                 "the phi's MC-truth momentum and decay vertex)")
        production = [roles[k] for k in ("x0", "y0", "z0")]
        use_production = all(b in have for b in production)
        columns = need + (production if use_production else [])
        n = int(t.num_entries)
        sums, squares = np.zeros(targets.size), np.zeros(targets.size)
        with atomic_path(output) as tmp, progress_bar(n, "reweight", "event", progress) as advance:
            import uproot

            # weights hardly compress (LZ4 saved 1 % and tripled the writing time): stored uncompressed
            with uproot.recreate(tmp, compression=None) as out:
                kind = np.dtype(np.float64 if double else np.float32)
                buffer = np.empty(targets.size * min(step, max(n, 1)), kind)  # one buffer for every chunk's weights
                out.mktree(tree, {"__entry__": np.int64, **{k: kind for k in names}})
                start = 0
                try:
                    chunks = t.iterate(columns, step_size=step, library="np")
                    for cols in chunks:
                        w, s = _chunk_weights(cols, roles, use_production, targets, made, ctau0, flat_range, path,
                                              start, buffer)
                        m = w.shape[1]
                        big = w.byteswap(inplace=True).view(w.dtype.newbyteorder(">"))  # ROOT's byte order: uproot
                        out[tree].extend({"__entry__": np.arange(start, start + m, dtype=">i8"),  # copies no more
                                          **{k: big[j] for j, k in enumerate(names)}})
                        sums += s[:, 0]
                        squares += s[:, 1]
                        start += m
                        advance(m)
                except (ValueError, OSError, KeyError) as exc:
                    if isinstance(exc, ParameterError):
                        raise
                    raise FileFormatError(path, f"cannot be read at entry {start} ({exc})") from None
                if start != n:
                    raise FileFormatError(path, f"gave {start} of its {n} entries")
    with np.errstate(invalid="ignore", divide="ignore"):
        effective = np.where(squares > 0, sums * sums / squares, 0.0)
    notes = []
    if made == "exponential":
        far = [k for k, c in zip(names, targets) if c >= 2.0 * float(ctau0)]  # type: ignore[arg-type]
        if far:
            notes.append(f"{', '.join(far)}: c tau >= 2 x the sample's, where the weights have infinite variance (the "
                         "estimate converges slowly and its errors are unreliable): simulate at a longer c tau, or flat")
    return ReweightSummary(str(output), tree, n, use_production, dict(zip(names, sums.tolist())),
                           dict(zip(names, effective.tolist())), tuple(notes))


def _chunk_weights(cols, roles, use_production, targets, source, ctau0, flat_range, path, start, buffer):
    for name, column in cols.items():
        if np.asarray(column).dtype.kind in "iu":  # integer vertices or momenta are numbers all the same
            continue
        checked_column(path, name, column)
    E, px, py, pz = (np.asarray(cols[roles[k]], dtype=np.float64) for k in ("E", "px", "py", "pz"))
    p = np.sqrt(px * px + py * py + pz * pz)
    with np.errstate(invalid="ignore"):
        m = np.sqrt(E * E - p * p)
        beta_gamma = p / m
    dx, dy, dz = (np.asarray(cols[roles[k]], dtype=np.float64) for k in ("x", "y", "z"))
    if use_production:
        dx, dy, dz = (d - np.asarray(cols[roles[k]], dtype=np.float64) for d, k in zip((dx, dy, dz), ("x0", "y0", "z0")))
    length = np.sqrt(dx * dx + dy * dy + dz * dz)
    bad = ~(np.isfinite(length) & np.isfinite(beta_gamma) & (beta_gamma > 0))
    if bad.any():
        i = start + int(np.flatnonzero(bad)[0])
        raise FileFormatError(path, f"entry {i} has no valid phi: a non-finite or non-timelike momentum or vertex "
                              f"({int(bad.sum())} such entries in this chunk)")
    size = targets.size * length.size
    out = buffer[:size].reshape(targets.size, length.size) if size <= buffer.size else None
    return lifetime_weights(length, beta_gamma, targets, source, ctau0=ctau0, flat_range=flat_range, with_sums=True,
                            out=out)


def column_name(kind: str, value: float) -> str:
    """A weight column's name: ``w_theta_1e-04`` or ``w_ctau_2.5``."""
    return f"w_{kind}_{value:.6g}".replace("+", "")
