"""Events and histograms as ROOT files, written and read with uproot.

Layout (Belle II ntuple style): one flat TTree per sample (e.g. per channel)
with one row per event,

    __event__          event number in the sample (int64)
    __weight__         event weight in fb (sum = cross section)
    <p>_E, <p>_px, <p>_py, <p>_pz   four-momentum of every particle slot (GeV)
    mchichi            missing (chi chibar) invariant mass, if the sample has chi and chibar
    E_gamma            photon energy, if it has a photon
    pt_phi, costheta_phi   dark Higgs transverse momentum and polar angle

    MC truth of the displaced decay, for signal samples with a finite phi lifetime:
    phi_L              proper decay length c t (mm), L ~ Exp(c tau_phi)
    phi_vx, phi_vy, phi_vz   decay vertex in the Belle II lab frame (mm), p_lab L / m_phi
    phi_vr             its transverse radius sqrt(vx^2 + vy^2) (mm): the r of the paper's regions

The momenta and the derived kinematics are in the sample's frame (``cms`` or
``lab``), the vertex always in the lab frame; the tree title says so, and the
header records it (``branch_frames``). The decay lengths are drawn as the
HepMC3 and LHE writers draw them (:class:`~mcdh.generate.decays.PhiDecayer`,
same ``seed``), so the formats agree event by event.

A TObjString ``mcdh_parameters`` holds, as JSON, each tree's particle
slots, process, frame and the parameters that made it, so a file read back
is the same :class:`~mcdh.events.Events`. Histograms are written as TH1D
with their sums of squared weights (from ``hist.Hist``, ``(values, edges)``
or :func:`th1`, which also sets the number of entries).

Files are written in chunks of events (bounded memory) under a temporary
name in the target folder and renamed when complete.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from .._atomic import atomic_path, json_default
from .._version import __version__
from ..errors import FileFormatError, ParameterError, check_count
from ..events import Events
from ..generate.decays import PhiDecayer
from ..kinematics.beams import Beams
from ..kinematics.variables import mass
from ._validate import check_input_file, checked_column, checked_events, checked_header, reading
from ._writer import EventWriter

METADATA_KEY = "mcdh_parameters"
COMPONENTS = ("E", "px", "py", "pz")


def _derived(events: Events, start: int, stop: int) -> dict[str, np.ndarray]:
    from ..kinematics.variables import cos_theta, p_t, pair_mass

    p = events.momenta[start:stop]
    names = events.particles
    out = {}
    if "chi" in names and "chibar" in names:
        out["mchichi"] = pair_mass(p[:, names.index("chi")], p[:, names.index("chibar")])
    if "gamma" in names:
        out["E_gamma"] = p[:, names.index("gamma"), 0].copy()
    if "phi" in names:
        out["pt_phi"] = p_t(p[:, names.index("phi")])
        out["costheta_phi"] = cos_theta(p[:, names.index("phi")])
    return out


def _truth(events: Events, decayer) -> dict[str, np.ndarray]:
    """The phi decay's proper length and lab-frame vertex (mm) of a chunk, drawn by ``decayer``."""
    p_phi = events.momentum("phi")
    dec = decayer(p_phi)
    p_lab = p_phi if events.frame == "lab" else Beams().to_lab(p_phi)
    x = p_lab[:, 1:] * (dec.proper_length_mm / mass(p_lab))[:, None]
    return {"phi_L": dec.proper_length_mm, "phi_vx": x[:, 0].copy(), "phi_vy": x[:, 1].copy(),
            "phi_vz": x[:, 2].copy(), "phi_vr": np.hypot(x[:, 0], x[:, 1])}


def _tree_title(events: Events, truth: bool) -> str:
    title = f"mcdh {events.process}: weights in fb; momenta (GeV), mchichi, E_gamma, pt_phi, costheta_phi in the {events.frame} frame"
    return title + ("; phi decay vertex (mm) in the lab frame, proper length phi_L (mm)" if truth else "")


def th1(h, entries: float | None = None, title: str = ""):
    """A ROOT TH1D of a one-dimensional histogram, with its sums of squared weights.

    ``h``: ``hist.Hist`` (Weight storage keeps the variances; other storages
    use the values as variances) or ``(values, edges)``. ``entries``: the
    number of fills (default: the effective number (sum w)^2 / sum w^2).
    """
    import uproot.writing.identify as ident

    if isinstance(h, tuple):
        values, edges = (np.asarray(a, dtype=np.float64) for a in h)
        variances = values.copy()
        label = ""
        values = np.concatenate([[0.0], values, [0.0]])
        variances = np.concatenate([[0.0], variances, [0.0]])
    else:
        axis = h.axes[0]
        edges = np.asarray(axis.edges, dtype=np.float64)
        label = axis.label or ""
        view = h.view(flow=True)
        if view.dtype.names and "variance" in view.dtype.names:
            values, variances = np.asarray(view["value"], dtype=np.float64), np.asarray(view["variance"], dtype=np.float64)
        else:
            values = np.asarray(view, dtype=np.float64)
            variances = values.copy()
        if values.size == edges.size - 1:  # no flow bins
            values = np.concatenate([[0.0], values, [0.0]])
            variances = np.concatenate([[0.0], variances, [0.0]])
    nb = edges.size - 1
    inner = slice(1, nb + 1)
    centres = 0.5 * (edges[1:] + edges[:-1])
    sumw, sumw2 = float(values[inner].sum()), float(variances[inner].sum())
    if entries is None:
        entries = sumw * sumw / sumw2 if sumw2 > 0 else 0.0
    uniform = np.allclose(np.diff(edges), edges[1] - edges[0], rtol=1e-12, atol=0)
    xaxis = ident.to_TAxis("xaxis", label, nb, float(edges[0]), float(edges[-1]),
                           fXbins=None if uniform else edges)
    return ident.to_TH1x("", title, values, float(entries), sumw, sumw2, float(values[inner] @ centres),
                         float(values[inner] @ centres**2), variances, xaxis)


def _branches(events: Events, start: int, stop: int, number_offset: int = 0) -> dict[str, np.ndarray]:
    """Branch arrays of events[start:stop], numbered from ``number_offset + start``."""
    data = {
        "__event__": np.arange(number_offset + start, number_offset + stop, dtype=np.int64),
        "__weight__": events.weights[start:stop],
    }
    for k, name in enumerate(events.particles):
        for c, comp in enumerate(COMPONENTS):
            data[f"{name}_{comp}"] = np.ascontiguousarray(events.momenta[start:stop, k, c])
    data.update(_derived(events, start, stop))
    return data


COMPRESSIONS = ("lz4", "zlib", "none")


def _compression(name: str):
    """uproot compression for ``name``: LZ4 (default; 13x faster to write than ZLIB for 7 % more bytes), ZLIB or none."""
    import uproot

    if name not in COMPRESSIONS:
        raise ParameterError("compression", name, f"must be one of {COMPRESSIONS}")
    return {"lz4": uproot.LZ4(1), "zlib": uproot.ZLIB(1), "none": None}[name]


def _tree_meta(ev: Events, n_events: int, parameters: dict) -> dict:
    return {
        "particles": list(ev.particles), "process": ev.process, "frame": ev.frame,
        "n_events": n_events, "parameters": json.loads(json.dumps(parameters, default=json_default)),
    }


class RootWriter(EventWriter):
    """Stream samples into TTrees of a new ROOT file (bounded memory, atomic).

    >>> with RootWriter("signal.root", tree="phi") as out:   # doctest: +SKIP
    ...     for chunk in SignalStream(model, "phi", 10_000_000, seed):
    ...         out.write(chunk)
    ...     out.set_parameters(stream.parameters)

    Each ``write`` appends baskets to the current tree; :meth:`new_tree`
    starts another one. Histograms (``hist.Hist`` or ``(values, edges)``)
    and the run parameters of every tree are written at the end.
    """

    def __init__(self, path, tree: str | None = None, histograms: dict | None = None, compression: str = "lz4",
                 *, seed: int = 0, truth: bool = True):
        super().__init__(path)
        self._compression = _compression(compression)
        self.tree = tree
        self.histograms = histograms or {}
        self._first: Events | None = None
        self._meta: dict[str, dict] = {}
        self._seed = check_count("seed", seed, 0)
        self._truth = truth
        self._decayer: PhiDecayer | None = None

    def _open(self):
        import uproot

        self._file = uproot.recreate(self.tmp, compression=self._compression)

    def _write(self, events: Events):
        if self._first is None and self._truth and "phi" in events.particles:
            self._decayer = PhiDecayer.for_events(events, self._seed, daughters=False)
        data = _branches(events, 0, len(events), number_offset=self.n_written)
        if self._decayer is not None:
            data.update(_truth(events, self._decayer))
        if self._first is None:
            self._first = events
            self.tree = self.tree or events.process.replace("-", "_")
            if self.tree in self._meta:
                raise ParameterError("tree", self.tree, "is already in the file")
            self._file.mktree(self.tree, {k: v.dtype for k, v in data.items()},
                              title=_tree_title(events, self._decayer is not None))
        self._file[self.tree].extend(data)

    def _close_tree(self):
        if self._first is None:
            raise ParameterError("events", 0, f"no events were written to tree {self.tree!r}")
        params = self._record(self._first)
        meta = _tree_meta(self._first, self.n_written, params)
        meta["branch_frames"] = {"momenta": self._first.frame, "derived": self._first.frame,
                                 **({"phi_vertex": "lab", "truth_seed": self._seed} if self._decayer is not None else {})}
        self._meta[str(self.tree)] = meta
        self._decayer = None

    def new_tree(self, tree: str | None = None) -> None:
        """Close the current tree and write the next chunks to ``tree`` (default: named after their process)."""
        self._close_tree()
        self.tree, self._first, self.parameters, self.n_written, self._particles = tree, None, None, 0, None
        self._w_sums = np.zeros(2)

    def _finish(self):
        if self._first is not None or not self.histograms:  # a file of histograms alone is fine
            self._close_tree()
        for hname, h in self.histograms.items():
            self._file[hname] = h if type(h).__name__.startswith("Model_TH1") else th1(h)
        self._file[METADATA_KEY] = json.dumps({"mcdh_version": __version__, "trees": self._meta})
        self._file.close()

    def _abort(self):
        f = getattr(self, "_file", None)
        if f is not None:
            f.close()


def write_root(
    path: str | os.PathLike,
    samples: Events | dict[str, Events],
    *,
    histograms: dict | None = None,
    chunk_events: int = RootWriter.max_chunk,
    compression: str = "lz4",
    seed: int = 0,
) -> Path:
    """Write event samples (one TTree each) and histograms to a new ROOT file, atomically.

    Parameters
    ----------
    path : path
        The ROOT file to create (replaced if it exists, only once complete).
    samples : Events or {tree name: Events}
        A single sample goes to a tree named after its process.
    histograms : {name: hist.Hist or (values, edges)}, optional
        Written as TH1.
    chunk_events : int
        Events converted and appended at a time (:class:`RootWriter`), so the
        extra memory does not grow with the sample.
    compression : {"lz4", "zlib", "none"}
        Basket compression (default LZ4, level 1).
    seed : int
        Seed of the sampled phi decay vertices (MC truth branches), as for LHE and HepMC3.
    """
    if isinstance(samples, Events):
        samples = {samples.process.replace("-", "_"): samples}
    if not samples:
        raise ParameterError("samples", samples, "give at least one Events sample")
    for name, ev in samples.items():
        if not isinstance(ev, Events):
            raise ParameterError(f"samples[{name!r}]", type(ev).__name__, "must be an Events")
    path = Path(path)
    with RootWriter(path, histograms=histograms, compression=compression, seed=seed) as out:
        out.max_chunk = check_count("chunk_events", chunk_events, 1)
        for k, (name, ev) in enumerate(samples.items()):
            if k:
                out.new_tree(name)
            else:
                out.tree = name
            out.write(ev)
    return path


def _open(path, header_optional: bool = False):
    """The open file and its mcdh header; ``header_optional``: a file without one (a plain ntuple written by
    another program) gives ``None`` for the header instead of an error."""
    import uproot

    p = Path(path)
    check_input_file(p)
    with reading(p):
        try:
            f = uproot.open(p)
            if header_optional and METADATA_KEY not in f:
                return f, None
            raw = f[METADATA_KEY]
        except Exception as exc:  # uproot raises many types for truncated or foreign files
            raise FileFormatError(p, f"not a complete mcdh ROOT file ({type(exc).__name__}: {exc})") from None
        try:
            meta = json.loads(str(raw))
        except ValueError:
            raise FileFormatError(p, f"its {METADATA_KEY} is not valid JSON") from None
        if not isinstance(meta, dict) or not isinstance(meta.get("trees"), dict):
            raise FileFormatError(p, f"its {METADATA_KEY} has no 'trees' object")
    return f, meta


def tree_names(path: str | os.PathLike) -> list[str]:
    """Names of the event trees in an mcdh ROOT file."""
    f, meta = _open(path)
    f.close()
    return list(meta["trees"])


def read_root(path: str | os.PathLike, tree: str | None = None) -> Events:
    """Read one event tree back into :class:`Events` (``tree`` may be omitted if there is only one).

    Every branch read must hold one floating-point number per event; weights
    must be finite and >= 0 and momenta finite (see :mod:`mcdh.io._validate`).
    """
    f, meta = _open(path)
    with f, reading(path):
        trees = meta["trees"]
        if tree is None:
            if len(trees) != 1:
                raise ParameterError("tree", None, f"{path} has several trees, pick one of {list(trees)}")
            tree = next(iter(trees))
        if tree not in trees:
            raise ParameterError("tree", tree, f"must be one of {list(trees)} in {path}")
        info = checked_header(path, trees[tree], where=f"the header of tree {tree!r}", pdg=False)
        names = info["particles"]
        n = info.get("n_events")
        branches = ["__weight__"] + [f"{n}_{c}" for n in names for c in COMPONENTS]
        if tree not in f:
            raise FileFormatError(path, f"tree {tree!r} is in the header but not in the file")
        have = set(f[tree].keys())
        missing = [b for b in branches if b not in have]
        if missing:
            raise FileFormatError(path, f"tree {tree!r} lacks the branch(es) {', '.join(missing[:4])}")
        try:
            arrays = f[tree].arrays(branches, library="np")
        except Exception as exc:
            raise FileFormatError(path, f"tree {tree!r} cannot be read ({type(exc).__name__}: {exc})") from None
        w = checked_column(path, "__weight__", arrays["__weight__"], n)
        mom = np.empty((w.size, len(names), 4))
        for k, name in enumerate(names):
            for c, comp in enumerate(COMPONENTS):
                mom[:, k, c] = checked_column(path, f"{name}_{comp}", arrays[f"{name}_{comp}"], w.size)
        return checked_events(path, mom, w, names, info["process"], info["frame"], info.get("parameters"))


def read_histogram(path: str | os.PathLike, name: str):
    """A TH1 of an mcdh ROOT file as a ``hist.Hist``."""
    f, _ = _open(path)
    with f:
        if name not in f:
            raise ParameterError("name", name, f"no histogram of that name in {path}")
        return f[name].to_hist()


COLUMNS_KIND = "columns"
"""Header ``kind`` of a tree of named per-event columns (e.g. reconstructed events), not of particle momenta."""


def write_columns(path: str | os.PathLike, trees: dict[str, dict[str, np.ndarray]], record: dict | None = None,
                  compression: str = "lz4") -> Path:
    """Flat trees of named per-event float columns and a JSON ``record``, atomically.

    The layout is the event trees' (``__event__``, ``__weight__``, flat float branches, the
    ``mcdh_parameters`` header); each tree's header entry has ``kind = "columns"`` and lists its branches.
    """
    import uproot

    meta: dict = {}
    for name, cols in trees.items():
        n = {np.asarray(c).shape for c in cols.values()}
        if len(n) != 1 or len(next(iter(n))) != 1 or "__weight__" not in cols:
            raise ParameterError(f"trees[{name!r}]", sorted(cols), "need 1-D columns of one length, __weight__ among them")
        meta[name] = {"kind": COLUMNS_KIND, "n_events": int(next(iter(n))[0]), "branches": sorted(cols)}
    with atomic_path(path) as tmp:
        f = uproot.recreate(tmp, compression=_compression(compression))
        try:
            for name, cols in trees.items():
                data = {"__event__": np.arange(meta[name]["n_events"], dtype=np.int64)}
                data.update({k: np.ascontiguousarray(v, dtype=np.float64) for k, v in cols.items()})
                f.mktree(name, {k: v.dtype for k, v in data.items()})
                if meta[name]["n_events"]:
                    f[name].extend(data)
            f[METADATA_KEY] = json.dumps({"mcdh_version": __version__, "trees": meta, **(record or {})},
                                         default=json_default)
        finally:
            f.close()
    return Path(path)


def read_columns(path: str | os.PathLike, required: dict[str, tuple[str, ...]],
                 optional: tuple[str, ...] = ()) -> tuple[dict[str, dict[str, np.ndarray]], dict]:
    """The column trees of ``path`` that ``required`` names ({tree: branches}), and the file's header.

    Every tree of the file that ``required`` names is read (at least one must be there), each with
    its required branches and the ``optional`` ones it has, checked as floats per event; weights must
    be finite and >= 0. A tree of particle momenta (``mcdh generate``) or a tree with another layout
    is refused in one line. A plain ntuple without mcdh's header (an analyst's own) is read too: its
    trees named in ``required`` are taken as column trees (the header returned is then empty).
    """
    f, meta = _open(path, header_optional=True)
    with f, reading(path):
        if meta is None:
            meta = {"trees": {t: {"kind": COLUMNS_KIND} for t in required if t in f}}
        trees = {t: h for t, h in meta["trees"].items() if t in required}
        if not trees:
            raise FileFormatError(path, f"has no tree {' or '.join(map(repr, required))} (it has {sorted(meta['trees'])})")
        out = {}
        for t, h in trees.items():
            if not isinstance(h, dict) or h.get("kind") != COLUMNS_KIND:
                raise FileFormatError(path, f"tree {t!r} holds generated events (particle momenta), not columns of "
                                            "reconstructed events")
            if t not in f:
                raise FileFormatError(path, f"tree {t!r} is in the header but not in the file")
            have = set(f[t].keys())
            missing = [b for b in ("__weight__", *required[t]) if b not in have]
            if missing:
                raise FileFormatError(path, f"tree {t!r} lacks the branch(es) {', '.join(missing)} "
                                            f"(it has {', '.join(sorted(have - {'__event__'}))})")
            names = ["__weight__", *required[t], *(b for b in optional if b in have and b not in required[t])]
            try:
                arrays = f[t].arrays(names, library="np")
            except Exception as exc:
                raise FileFormatError(path, f"tree {t!r} cannot be read ({type(exc).__name__}: {exc})") from None
            n = h.get("n_events")
            cols = {b: checked_column(path, b, arrays[b], n if isinstance(n, int) else None) for b in names}
            for b, a in cols.items():
                bad = ~np.isfinite(a)
                if bad.any():
                    raise FileFormatError(path, f"tree {t!r}, event {int(np.argmax(bad)) + 1}: {b} is {a[bad][0]}")
            bad = cols["__weight__"] < 0
            if bad.any():
                raise FileFormatError(path, f"tree {t!r}, event {int(np.argmax(bad)) + 1}: negative weight")
            out[t] = cols
    return out, meta
