"""Parameter scans on dask.distributed, resumable after a crash or an interrupt.

A scan grid is benchmark x m_A x channel (one task each: generate signal and
background, smear, fill) x theta x eps x N_b (evaluated inside the task from
the same histograms). Each task's seed comes from the root seed through
:func:`mcdh.seeds.point` (``SeedSequence(seed, spawn_key=(1, benchmark,
m_A in MeV, channel))``), so results do not depend on the number of workers
or the order in which tasks finish.

The masses can leave the benchmarks: ``m_phi_ratio`` and ``m_chi_ratio`` (m_phi / m_A and m_chi / m_A, each
replacing the benchmark's) add two axes of tasks, a scan over (m_A, m_phi, m_chi, theta, ...). Such a model is
no benchmark (its stream is :func:`mcdh.seeds.point`'s for a model that is not one): points that differ only in
m_phi or m_chi share their random numbers, so differences between them are smooth (common random numbers).
Mass combinations outside the model (:class:`~mcdh.physics.model.DarkSector`: m_A > 2 m_chi + m_phi,
m_chi > m_phi, m_A + m_phi < sqrt s) are not tasks: :meth:`ScanGrid.outside_model` lists them.

On disk (``OUT``):

    scan.json           the grid (written first; a rerun must ask for the same grid)
    .scan.lock          held (filelock) for the whole life of a run: a second scan on the folder refuses
    points/*.json       one file per finished task, written atomically as it completes; named after the
                        task and a digest of its exact parameters (grid and task, floats exactly), and
                        holding both, so a point is never taken for another
    results.csv/.json   all rows, written at the end

Rerunning the same command skips the tasks whose point files exist and check
out (parameters equal, rows complete), so a killed or interrupted scan
continues where it stopped and ends with the same results as an
uninterrupted one.
"""
from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import math
import warnings
from concurrent.futures import CancelledError
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from ._atomic import write_text
from ._progress import progress_bar
from .channels import CHANNELS
from .errors import FileAccessError, ParameterError, check_count, check_positive, one_line, require
from .settings import LUMINOSITY_FB, MASSES

GRID_FILE = "scan.json"


@dataclass(frozen=True)
class ScanRow:
    """One (point, theta, eps, N_b) of a scan: the table row's numbers and the eps reach at that theta.

    ``m_phi``/``m_chi`` are the point's masses (GeV; the benchmark's, or its ratios' to m_A).

    ``window_lo``/``window_hi`` are the selected window's edges (GeV for phi, sqrt|v| for gamma-phi);
    ``excluded``: -2 log L >= 3.84 at this eps; ``eps95`` is None (with ``eps95_note`` saying why) where
    there is no sensitivity.
    """

    benchmark: str
    mA: float
    channel: str
    m_phi: float
    m_chi: float
    theta: float
    eps: float
    n_b: float
    resc_sig: float
    window_lo: float
    window_hi: float
    sel_sig: float
    sel_bkg: float
    m2loglike: float
    excluded: bool
    eps95: float | None
    eps95_note: str | None


ROW_FIELDS = tuple(f.name for f in fields(ScanRow))
"""The columns of results.csv (the fields of :class:`ScanRow`)."""


def _tuple(name, values, check):
    vals = tuple(check(name, v) for v in values)
    if not vals:
        raise ParameterError(name, values, "must not be empty")
    return vals


@dataclass(frozen=True)
class ScanGrid:
    """The grid of a scan and the statistics of each task."""

    benchmarks: tuple[str, ...] = ("B1",)
    masses: tuple[float, ...] = MASSES
    channels: tuple[str, ...] = CHANNELS
    thetas: tuple[float, ...] = (1e-4,)
    eps: tuple[float, ...] = (1e-4,)
    n_b: tuple[float, ...] = (1.0, 1e4)
    n_signal: int = 20_000
    n_background: int = 20_000
    seed: int = 1
    region: str = "uninstrumented"
    luminosity_fb: float = LUMINOSITY_FB
    background_uncertainty: float = 0.0
    statistic: str = "paper"
    smearing: str = "copies"
    m_phi_ratio: tuple[float, ...] | None = None
    m_chi_ratio: tuple[float, ...] | None = None

    def __post_init__(self):
        from .analysis.displacement import get_region
        from .generate.background import check_n_b
        from .physics.model import BENCHMARKS, check_eps, check_theta

        bad = [b for b in self.benchmarks if b not in BENCHMARKS]
        if bad or not self.benchmarks:
            raise ParameterError("benchmarks", self.benchmarks, f"must be some of {tuple(BENCHMARKS)}")
        bad = [c for c in self.channels if c not in CHANNELS]
        if bad or not self.channels:
            raise ParameterError("channels", self.channels, f"must be some of {CHANNELS}")
        object.__setattr__(self, "masses", _tuple("mA", self.masses, check_positive))
        object.__setattr__(self, "thetas", _tuple("theta", self.thetas, lambda name, t: check_theta(t, name)))
        object.__setattr__(self, "eps", _tuple("eps", self.eps, lambda name, e: check_eps(e, name)))
        object.__setattr__(self, "n_b", _tuple("nb", self.n_b, lambda name, v: check_n_b(check_positive(name, v), name)))
        object.__setattr__(self, "benchmarks", tuple(self.benchmarks))
        object.__setattr__(self, "channels", tuple(self.channels))
        for name in ("m_phi_ratio", "m_chi_ratio"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, _tuple(name, getattr(self, name), check_positive))
        check_count("events", self.n_signal, 100)
        check_count("background-events", self.n_background, 100)
        check_count("seed", self.seed, 0)
        get_region(self.region)
        check_positive("luminosity_fb", self.luminosity_fb)
        from .analysis.limits import Statistic
        from .analysis.smearing import check_smearing

        check_smearing(self.smearing)
        object.__setattr__(self, "background_uncertainty",
                           Statistic(self.statistic, self.background_uncertainty).background_uncertainty)

    @property
    def custom_masses(self) -> bool:
        """Whether the grid has mass-ratio axes (then a task is (benchmark, m_A, channel, m_phi/m_A, m_chi/m_A))."""
        return self.m_phi_ratio is not None or self.m_chi_ratio is not None

    def _candidates(self) -> list[tuple]:
        if not self.custom_masses:
            return [(b, m, c) for b in self.benchmarks for m in self.masses for c in self.channels]
        from .physics.model import BENCHMARKS

        out = []
        for b in self.benchmarks:
            r_chi, r_phi = BENCHMARKS[b]
            for m in self.masses:
                for rp in self.m_phi_ratio or (r_phi,):
                    for rc in self.m_chi_ratio or (r_chi,):
                        out += [(b, m, c, rp, rc) for c in self.channels]
        return out

    def tasks(self) -> list[tuple]:
        """The points of the grid, in order: (benchmark, m_A, channel), or with mass-ratio axes (benchmark, m_A,
        channel, m_phi/m_A, m_chi/m_A) for the combinations inside the model."""
        return [t for t in self._candidates() if len(t) == 3 or task_model(t) is not None]

    def outside_model(self) -> list[tuple]:
        """The mass combinations of the grid the model does not allow (not tasks)."""
        return [t for t in self._candidates() if len(t) == 5 and task_model(t) is None]

    def as_dict(self) -> dict:
        """The JSON form (scan.json; what identifies the scan's folder)."""
        d = asdict(self)
        # settings only where they are not the paper's (mass ratios: where given): a scan made before they
        # existed resumes
        for k, default in (("background_uncertainty", 0.0), ("statistic", "paper"), ("smearing", "copies"),
                           ("m_phi_ratio", None), ("m_chi_ratio", None)):
            if d[k] == default:
                del d[k]
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


LOCK_FILE = ".scan.lock"


class ClusterLost(RuntimeError):
    """The dask scheduler or the connection to it went away mid-scan (finished points are saved)."""


class TasksFailed(RuntimeError):
    """Some tasks raised (the others ran to the end and are saved); the message names the first."""


def task_model(task, eps: float = 1e-4):
    """The model of a task: the benchmark's at m_A, with the task's mass ratios (no benchmark then); None where
    the model does not allow those masses."""
    from .physics.model import DarkSector
    from .settings import THETA_TABLE

    model = DarkSector.from_benchmark(task[0], task[1], eps=eps, theta=THETA_TABLE)
    if len(task) == 3:
        return model
    try:
        return model.replace(m_phi=task[3] * task[1], m_chi=task[4] * task[1], benchmark=None)
    except ParameterError:
        return None


def _task_record(grid: dict, task) -> dict:
    """What a point file must hold to be this task's: the grid and the task, exactly."""
    b, m, c = task[:3]
    ratios = {"m_phi_ratio": float(task[3]), "m_chi_ratio": float(task[4])} if len(task) == 5 else {}
    return {"grid": grid, "task": {"benchmark": b, "mA": float(m), "channel": c, **ratios}}


def task_name(grid: dict, task) -> str:
    """The point file name: readable, and unique through a digest of the exact parameters (masses 0.4 MeV
    apart are different points)."""
    b, m, c = task[:3]
    digest = hashlib.sha256(json.dumps(_task_record(grid, task), sort_keys=True).encode()).hexdigest()[:16]
    ratios = f"_phi{task[3]:.4g}_chi{task[4]:.4g}" if len(task) == 5 else ""
    return f"{b}_mA{round(m * 1000):05d}MeV_{c}{ratios}_{digest}"


def run_task(grid: dict, task) -> list[ScanRow]:
    """Analyse one point (benchmark, m_A, channel[, mass ratios]) at every theta, eps and N_b of the grid."""
    from .physics.widths import HadronicValidityWarning
    from .study import Study, reach_result

    benchmark, m_A, channel = task[:3]
    study = Study(luminosity_fb=grid["luminosity_fb"], region=grid["region"], n_signal=grid["n_signal"],
                  n_background=grid["n_background"], seed=grid["seed"], n_threads=1,  # a worker's task: one thread
                  background_uncertainty=grid.get("background_uncertainty", 0.0), statistic=grid.get("statistic", "paper"),
                  smearing=grid.get("smearing", "copies"))
    model = task_model(task, study.eps_ref)
    if model is None:
        raise ParameterError("task", task, "has masses the model does not allow (not a task of any grid)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HadronicValidityWarning)
        a = study.analysis(model, None, channel)
        a.signal_hists(grid["thetas"])  # one smearing pass for all theta
        rows = []
        for theta in grid["thetas"]:
            for n_b in grid["n_b"]:
                reach = reach_result(a.eps_reach(theta, n_b, statistic=study.limit_statistic).eps, channel, theta,
                                     a.model)
                for eps in grid["eps"]:
                    r = a.table_row(eps, theta, n_b, study.background_uncertainty, with_error=False)
                    rows.append(ScanRow(benchmark, m_A, channel, model.m_phi, model.m_chi, theta, eps, n_b,
                                        r.resc_sig, r.window_lo, r.window_hi, r.sel_sig, r.sel_bkg, r.m2loglike,
                                        bool(r.m2loglike >= 3.84), reach.eps, reach.note))
    return rows


def _check_out(out: Path, grid: ScanGrid) -> bool:
    """Whether ``out`` already holds this scan; raises if it holds another one (nothing is written)."""
    gfile = out / GRID_FILE
    if not gfile.exists():
        return False
    try:
        old = json.dumps(json.loads(gfile.read_text()), sort_keys=True)
    except ValueError:
        old = None
    if old != json.dumps(grid.as_dict(), sort_keys=True):
        raise ParameterError(
            "out", str(out), f"holds a different scan ({gfile}); use another folder or the same options to resume")
    return True


def _create_out(out: Path, grid: ScanGrid) -> None:
    (out / "points").mkdir(parents=True, exist_ok=True)
    if not (out / GRID_FILE).exists():
        write_text(out / GRID_FILE, json.dumps(grid.as_dict(), indent=1, sort_keys=True))


def rows_digest(rows: list[dict]) -> str:
    """The digest a point file stores of its rows: an edited or damaged value no longer matches it."""
    return hashlib.sha256(json.dumps(rows, sort_keys=True, allow_nan=True).encode()).hexdigest()


def _load_point(path: Path, record: dict) -> list[ScanRow] | None:
    """The rows of a point file, or None (recompute, never copy) unless it is this task's, complete, as mcdh
    wrote it (its digest) and its values are what a point holds (:func:`_valid_rows`)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError):
        return None  # unreadable (cannot happen with atomic writes, but never trust it)
    if not isinstance(data, dict) or {k: data.get(k) for k in record} != record:
        return None
    rows = data.get("rows")
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) and set(r) == set(ROW_FIELDS) for r in rows):
        return None
    if data.get("digest") != rows_digest(rows) or not _valid_rows(rows, record):
        return None
    return [ScanRow(**r) for r in rows]


def _number(x, lo: float = -math.inf) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x >= lo


def _valid_rows(rows: list[dict], record: dict) -> bool:
    """Every row of the task, once per (theta, eps, N_b) of the grid, with finite values in range."""
    grid, task = record["grid"], record["task"]
    keys = [(r["theta"], r["eps"], r["n_b"]) for r in rows]
    expected = [(t, e, n) for t in grid["thetas"] for n in grid["n_b"] for e in grid["eps"]]
    if sorted(keys) != sorted(expected):  # unique and complete
        return False
    for r in rows:
        if (r["benchmark"], r["mA"], r["channel"]) != (task["benchmark"], task["mA"], task["channel"]):
            return False
        if not (_number(r["m_phi"], 0.0) and _number(r["m_chi"], 0.0)):
            return False
        if not all(_number(r[k], 0.0) for k in ("resc_sig", "sel_sig", "sel_bkg", "m2loglike")):
            return False
        if not (_number(r["window_lo"]) and _number(r["window_hi"]) and r["window_lo"] <= r["window_hi"]):
            return False
        if r["excluded"] is not bool(r["m2loglike"] >= 3.84):
            return False
        if not (r["eps95"] is None or (_number(r["eps95"]) and r["eps95"] > 0)):
            return False
        if not (r["eps95_note"] is None or isinstance(r["eps95_note"], str)):
            return False
    return True


def saved_points(grid: ScanGrid, out) -> int:
    """How many of the grid's tasks have a valid point file in ``out`` (what a rerun will not recompute)."""
    spec = grid.as_dict()
    points = Path(out) / "points"
    return sum(_load_point(points / f"{task_name(spec, t)}.json", _task_record(spec, t)) is not None for t in grid.tasks())


@contextlib.contextmanager
def _locked(out: Path):
    """Hold the folder's lock for a run's whole life; a second run refuses in one line."""
    from filelock import FileLock, Timeout

    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FileAccessError(out, "create the scan folder", exc) from None
    lock = FileLock(str(out / LOCK_FILE))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise ParameterError("out", str(out), "is in use by another running scan (wait for it, or use another "
                             "folder)") from None
    try:
        yield
    except BaseException:
        if created and {p.name for p in out.iterdir()} <= {LOCK_FILE}:  # a scan that could not start leaves nothing
            lock.release()
            with contextlib.suppress(OSError):
                (out / LOCK_FILE).unlink()
                out.rmdir()
        raise
    finally:
        lock.release()


def run_scan(grid: ScanGrid, out, *, scheduler: str | None = None, n_workers: int = 2, serial: bool = False,
             progress: bool = True) -> list[ScanRow]:
    """Run (or resume) the scan of ``grid`` into folder ``out``; returns all rows.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running dask scheduler (``tcp://host:8786``); default: a
        ``LocalCluster`` of ``n_workers`` single-threaded worker processes.
    serial : bool
        Run the tasks in this process, one after the other (no dask).
    """
    out = Path(out)
    n_workers = check_count("workers", n_workers, 1)
    if not serial:  # a missing extra is said before anything is written
        require("dask.distributed", "dask", "a scan on dask (or serial=True, --serial: no dask)")
    _check_out(out, grid)  # a folder of another scan is refused before anything is written
    with _locked(out):
        return _run_locked(grid, out, scheduler, n_workers, serial, progress)


def _run_locked(grid: ScanGrid, out: Path, scheduler, n_workers: int, serial: bool, progress: bool) -> list[ScanRow]:
    _check_out(out, grid)  # again under the lock: a scan that started meanwhile may have claimed the folder
    points = out / "points"
    tasks = grid.tasks()
    spec = grid.as_dict()
    names = {t: task_name(spec, t) for t in tasks}
    done = {}
    for t in tasks:
        p = points / f"{names[t]}.json"
        if p.exists():
            rows = _load_point(p, _task_record(spec, t))
            if rows is not None:
                done[t] = rows
    todo = [t for t in tasks if t not in done]
    with progress_bar(len(tasks), "scan", "point", progress, initial=len(done)) as advance:

        def store(task, rows):
            records = [asdict(r) for r in rows]
            write_text(points / f"{names[task]}.json",
                       json.dumps({**_task_record(spec, task), "rows": records, "digest": rows_digest(records)}))
            done[task] = rows
            advance(1)

        failed: list[tuple[tuple, BaseException]] = []
        if todo and serial:
            _create_out(out, grid)
            for t in todo:
                try:
                    store(t, run_task(spec, t))
                except Exception as exc:  # the other points still run and are saved
                    failed.append((t, exc))
        elif todo:
            from dask.distributed import as_completed

            client, cluster = _connect(scheduler, n_workers)  # a bad scheduler address fails before anything is written
            quiet = _quiet_distributed()
            try:
                _create_out(out, grid)
                futures = {client.submit(run_task, spec, t, key=f"mcdh-{names[t]}", pure=False): t for t in todo}
                for fut in as_completed(futures):
                    task = futures.pop(fut)
                    try:
                        rows = fut.result()
                    except (CancelledError, OSError, TimeoutError) as exc:  # the scheduler (or the connection) is gone
                        raise ClusterLost(one_line(f"the dask cluster was lost ({type(exc).__name__}: {exc})", 120)) from None
                    except Exception as exc:  # the task raised: the other points still run and are saved
                        failed.append((task, exc))
                    else:
                        store(task, rows)
                    fut.release()  # a stored point is never recomputed when a worker dies later
            finally:
                with contextlib.suppress(Exception):  # a lost scheduler cannot be closed politely
                    client.close(timeout=5)
                if cluster is not None:
                    with contextlib.suppress(Exception):
                        cluster.close()
                quiet()
    if failed:
        first, error = failed[0]
        raise TasksFailed(one_line(f"{len(failed)} of {len(tasks)} points failed, the first {first}: "
                                   f"{type(error).__name__}: {error}", 200))
    rows = [r for t in tasks for r in done[t]]
    _write_results(out, rows)
    return rows


def _quiet_distributed():
    """Silence dask.distributed's own log lines (its reconnection errors): mcdh reports a lost cluster in one
    line. Returns the function that restores the previous level."""
    import logging

    names = ["distributed"] + [n for n in logging.root.manager.loggerDict if n.startswith("distributed.")]
    saved = {n: logging.getLogger(n).level for n in names}
    for n in names:
        logging.getLogger(n).setLevel(logging.CRITICAL + 1)

    def restore():
        for n, level in saved.items():
            logging.getLogger(n).setLevel(level)

    return restore


def _connect(scheduler, n_workers):
    """A dask client: on the scheduler at ``scheduler``, or on a new LocalCluster (returned too, to close)."""
    from dask.distributed import Client, LocalCluster

    if scheduler is None:
        # ":0": a free port (no warning when 8787 is taken); the workers' logs silenced up to CRITICAL: a worker
        # whose heartbeat meets the scheduler already closing (a busy machine) logs an ERROR at shutdown, and a
        # lost cluster or a failed task reaches mcdh through its futures (one line), not through the log
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                               dashboard_address=":0", silence_logs=50)
        return Client(cluster), cluster
    try:
        return Client(scheduler, timeout="10s"), None
    except Exception as exc:  # OSError, TimeoutError, dask's CommClosedError, ValueError for a bad address...
        raise ParameterError("scheduler", scheduler,
                             f"no dask scheduler answers there ({type(exc).__name__}: {exc})") from None


def _write_results(out: Path, scan_rows: list[ScanRow]) -> None:
    rows = [asdict(r) for r in scan_rows]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=ROW_FIELDS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r[k] is None else repr(r[k]) if isinstance(r[k], float) else r[k]) for k in ROW_FIELDS})
    write_text(out / "results.csv", buf.getvalue())
    write_text(out / "results.json", json.dumps(rows, indent=1))
