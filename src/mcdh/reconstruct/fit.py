"""The joint fit of the phi and gamma-phi channels: binned extended Poisson likelihood, iminuit.

-2 log L = 2 sum_channels sum_bins [mu - n + n log(n / mu)]   (the Poisson deviance)

with mu = signal(m_A, m_phi, eps, theta) + b x background per bin (see
:mod:`mcdh.reconstruct.model`). MIGRAD finds the minimum, HESSE the
covariance, MINOS the asymmetric 68 % intervals; 1-D profiles and 2-D
profile-likelihood contours (68 %, 95 %) come from iminuit's ``mnprofile``
and ``mncontour``.

* **Signal present**: q0 = -2 Delta log L between eps = 0 (background only,
  b refitted) and the best fit; the *local* significance is sqrt(q0)
  (one-sided) - local because the masses and theta were free to find the
  largest excess. The global significance (the look-elsewhere effect, over
  the template window and over the m_A range searched) and the goodness of
  fit come from toys (:mod:`mcdh.reconstruct.calibration`).
* **What the rate measures**: with g_chi and q_phi fixed, the yields fix
  eps^2 (g_chi q_phi)^2 (to a few per cent while A' -> chi chi dominates):
  the result states the signal yield per channel and eps g_chi q_phi, so
  that a wrong fixed coupling gives a visible combination, not only a
  precise wrong eps.
* **The model test of dark Higgs-strahlung**: the model fixes the
  gamma-phi/phi rate ratio and the photon-energy peak given m_A. The fit is
  repeated with gamma-phi's own m_A and eps; -2 Delta log L between the two
  (2 degrees of freedom) says whether one channel's discovery predicts the other.
* **What a fit cannot say**: a parameter whose MINOS interval reaches the
  edge of the template grid or a physical boundary gets that side as
  ``None`` and a note - a flat profile is reported as such, not as an error.
  A fit that does not converge says so in :attr:`FitResult.status`, and its
  numbers are flagged invalid.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .. import seeds as streams
from .._progress import progress_bar
from ..channels import CHANNELS
from ..errors import ParameterError, check_count, require
from ..settings import FIT_MAX_OUTSIDE
from .data import Data
from .model import PARAMETERS, DataModel, FitConfig, default_truth

PAIRS = (("m_A", "eps"), ("eps", "theta"), ("m_A", "m_phi"))
"""The parameter pairs whose contours a full fit draws."""
LEVELS = (0.68, 0.95)
TINY = 1e-300
Q_UPPER_95 = 2.705543454095404  # chi2(1 dof) at 90 %: the one-sided 95 % CL upper limit, -2 Delta log L = 2.71


class Likelihood:
    """-2 log L (Poisson deviance) of binned data, as a function of the parameter vector in :attr:`names` order.

    ``free_ratio``: gamma-phi gets its own ``m_A_gammaphi`` and ``eps_gammaphi`` (the model test).
    """

    def __init__(self, model: DataModel, counts: dict[str, np.ndarray], free_ratio: bool = False):
        self.model = model
        self.counts: dict[str, np.ndarray] = {c: np.asarray(n, dtype=np.float64) for c, n in counts.items()
                                               if c in model.channels}
        if not self.counts:
            raise ParameterError("data", sorted(counts), f"has none of the model's channels {model.channels}")
        total = sum(float(n.sum()) for n in self.counts.values())
        if not total > 0:
            raise ParameterError("data", 0, "holds no events (an empty data set cannot be fitted)")
        self.free_ratio = bool(free_ratio) and "gammaphi" in self.counts and "phi" in self.counts
        self.names = [*PARAMETERS, "b"] + (["m_A_gammaphi", "eps_gammaphi"] if self.free_ratio else [])
        self._nz: dict[str, np.ndarray] = {c: n > 0 for c, n in self.counts.items()}
        self._n: dict[str, np.ndarray] = {c: n[self._nz[c]] for c, n in self.counts.items()}
        self._const: dict[str, float] = {c: float(np.sum(self._n[c] * np.log(self._n[c])) - n.sum()) for c, n in self.counts.items()}
        self.calls = 0

    def __call__(self, x) -> float:
        """-2 log L at the parameter vector ``x`` (iminuit's cost function)."""
        self.calls += 1
        if not all(math.isfinite(v) for v in x):
            return 1e300
        return sum(self.deviances(x).values())

    def deviances(self, x) -> dict[str, float]:
        """Each channel's Poisson deviance 2 sum [mu - n + n log(n / mu)] at ``x`` (their sum is -2 log L)."""
        p = dict(zip(self.names, x))
        out = {}
        for c, mu in self.model.expected(p, channels=tuple(self.counts)).items():
            m = np.maximum(mu[self._nz[c]], TINY)  # an event where the model expects none: finite, very unlikely
            out[c] = 2.0 * (float(mu.sum()) - float(np.sum(self._n[c] * np.log(m))) + self._const[c])
        return out

    errordef = 1.0  # -2 log L


@dataclass(frozen=True)
class LookElsewhere:
    """The global significance of a fit's excess (Gross-Vitells, calibrated with background-only toys; made by
    :func:`mcdh.reconstruct.calibration.calibrate`).

    ``p_local``/``z_local``: of q0 alone; ``p_window``/``z_window``: global over the template window (the m_A,
    m_phi and theta the fit could reach); ``p_range``/``z_range``: over ``m_A_range`` (the search);
    ``coefficients``: N_1 .. N_D; ``toys``, ``toys_above``: the background-only toys and how many reached q0;
    ``windows``: how many template windows the range holds.
    """

    q0: float
    p_local: float
    z_local: float | None
    p_window: float
    z_window: float
    p_range: float
    z_range: float
    m_A_range: tuple[float, float]
    windows: float
    coefficients: tuple[float, ...]
    toys: int
    toys_above: int
    method: str = "Gross-Vitells (Euler characteristic), coefficients from background-only toys"

    def summary(self) -> str:
        """One line: the global significance over the window and over the m_A range."""
        return (f"global {self.z_window:.3g} sigma over the template window, {self.z_range:.3g} sigma over m_A in "
                f"[{self.m_A_range[0]:.3g}, {self.m_A_range[1]:.3g}] GeV ({self.toys} background-only toys)")


@dataclass(frozen=True)
class GoodnessOfFit:
    """Deviance of the best fit and its p-value from toys of the best fit, per channel and ``combined`` (made by
    :func:`mcdh.reconstruct.calibration.goodness_of_fit`)."""

    deviance: dict[str, float]
    p_value: dict[str, float]
    toys: int

    @property
    def p_value_min(self) -> float:
        """The smallest p-value over the channels."""
        return min(self.p_value.values())

    def summary(self) -> str:
        """One line: the p-value per channel."""
        return ", ".join(f"{c} p = {p:.3g}" for c, p in self.p_value.items()) + f" ({self.toys} toys of the best fit)"

    def warning(self) -> str:
        """What a poor fit means for the parameters (for the report)."""
        worst = min(self.p_value, key=self.p_value.__getitem__)
        return (f"the model does not describe the data (goodness of fit p = {self.p_value[worst]:.3g} in {worst}): "
                "the parameters are those of the closest wrong model - check the fixed couplings, the resolutions "
                "and the background")


@dataclass(frozen=True)
class FitResult:
    """The outcome of :func:`fit`.

    ``values``/``errors``: best fit and HESSE errors of every parameter (fixed ones with error 0);
    ``minos``: {name: (lower, upper)} 68 % intervals, a side ``None`` where the profile stays flat to a
    boundary; ``covariance``: {name: {name: cov}} of the free parameters; ``valid`` and ``status``: whether
    MIGRAD converged with an accurate covariance and no parameter on the edge of the templates;
    ``n_events``: the events fitted per channel and ``n_outside`` those left out ({channel: {reason: events}});
    ``z_local``: sqrt(q0) of the signal, the *local* significance (None when the fit failed);
    ``lee``: the global significance (:class:`LookElsewhere`, when toys were run);
    ``gof``: the goodness of fit (:class:`GoodnessOfFit`, likewise);
    ``measured``: what the rate measures with the couplings fixed (the signal yield per channel and
    eps g_chi q_phi, with their 68 % intervals); ``hypothesis``: the masses, eps and theta the templates are
    centred on; ``eps_upper_95``: the 95 % CL upper limit on eps (profile,
    one-sided); ``ratio_test``: the model test; ``contours``: {"x,y": {level: [[x, y], ...]}};
    ``profiles``: {name: {"x": [...], "delta": [...]}} (-2 Delta log L).
    """

    values: dict[str, float]
    errors: dict[str, float]
    minos: dict[str, tuple[float | None, float | None]]
    covariance: dict[str, dict[str, float]]
    m2loglike: float
    valid: bool
    status: str
    fixed: tuple[str, ...]
    channels: tuple[str, ...]
    n_events: dict[str, float]
    z_local: float | None = None
    q0: float | None = None
    eps_upper_95: float | None = None
    ratio_test: dict | None = None
    contours: dict[str, dict[float, list[list[float]]]] = field(default_factory=dict)
    profiles: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    truth: dict[str, float] | None = None
    notes: tuple[str, ...] = ()
    calls: int = 0
    n_outside: dict[str, dict[str, float]] = field(default_factory=dict)
    measured: dict | None = None
    lee: LookElsewhere | None = None
    gof: GoodnessOfFit | None = None
    hypothesis: dict[str, float] = field(default_factory=dict)
    start: dict[str, float] = field(default_factory=dict)
    contour_failures: dict[str, str] = field(default_factory=dict)
    """Why a contour of a pair ("x,y") was not found, and the remedy."""

    def correlation(self) -> dict[str, dict[str, float]]:
        """The correlation matrix of the fitted parameters, by name."""
        c = self.covariance
        return {a: {b: c[a][b] / math.sqrt(c[a][a] * c[b][b]) if c[a][a] > 0 and c[b][b] > 0 else float("nan")
                    for b in c} for a in c}

    def pulls(self) -> dict[str, float]:
        """(fit - truth) / HESSE error of the free physics parameters (needs the truth)."""
        if not self.truth:
            return {}
        return {k: (self.values[k] - self.truth[k]) / self.errors[k] for k in PARAMETERS
                if k not in self.fixed and self.errors.get(k, 0) > 0 and k in self.truth}

    def as_dict(self) -> dict:
        """The JSON form of the result (fit.json)."""
        d = asdict(self)
        d["contours"] = {k: {f"{lv:g}": pts for lv, pts in v.items()} for k, v in self.contours.items()}
        d["correlation"] = self.correlation()
        d["pulls"] = self.pulls()
        return d

    def __str__(self) -> str:
        lines = [f"fit {'converged' if self.valid else 'NOT VALID'}: {self.status}; -2 log L = {self.m2loglike:.4g}; "
                 f"events fitted {', '.join(f'{c} {n:.4g}' for c, n in self.n_events.items())}"]
        for c, lost in self.n_outside.items():
            if lost:
                lines.append(f"  {c}: {sum(lost.values()):.4g} events left out ("
                             + "; ".join(f"{n:.4g} {why}" for why, n in lost.items()) + ")")
        for k, v in self.values.items():
            if k in self.fixed:
                lines.append(f"  {k:>13} = {v:.6g} (fixed)")
                continue
            lo, hi = self.minos.get(k, (None, None))
            mi = "" if k not in self.minos else \
                f"  MINOS [{'open' if lo is None else f'{lo:.6g}'}, {'open' if hi is None else f'{hi:.6g}'}]"
            tr = f"  truth {self.truth[k]:.6g}" if self.truth and k in self.truth else ""
            lines.append(f"  {k:>13} = {v:.6g} +- {self.errors[k]:.3g}{mi}{tr}")
        if self.z_local is not None:
            text = f"  signal: -2 Delta log L (eps = 0) = {self.q0:.4g}, local significance {self.z_local:.3g} sigma"
            if self.lee is not None:
                text += f"; {self.lee.summary()}"
            lines.append(text)
        if self.measured:
            lines.append("  measured: " + _measured_text(self.measured))
        if self.gof is not None:
            lines.append(f"  goodness of fit: {self.gof.summary()}")
        if self.eps_upper_95 is not None:
            lines.append(f"  eps < {self.eps_upper_95:.4g} (95 % CL)")
        if self.ratio_test:
            r = self.ratio_test
            lines.append(f"  model test (gamma-phi's own m_A and eps): -2 Delta log L = {r['lambda']:.3g}, "
                         f"p = {r['p_value']:.3g} ({r['dof']} dof){'' if r['valid'] else ', its fit NOT VALID'}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def _measured_text(m: dict) -> str:
    parts = [f"{c} signal {v:.4g} [{lo:.4g}, {hi:.4g}] events" for c, (v, lo, hi) in m["signal_events"].items()]
    v, lo, hi = m["eps_g_chi_q_phi"]
    parts.append(f"eps g_chi q_phi = {v:.4g} [{lo:.4g}, {hi:.4g}]")
    return ", ".join(parts)


def _limits(model: DataModel, names) -> dict[str, tuple[float | None, float | None]]:
    t_lo, t_hi = model.theta_range(model.config.model.m_phi)
    lim = _grid_limits(model.grid) | {"theta": (t_lo * 1.02, t_hi / 1.02)}
    return {k: lim[k] for k in names}


def _grid_limits(g: dict[str, np.ndarray]) -> dict[str, tuple[float | None, float | None]]:
    """The parameters' ranges that follow from the template grid alone (theta's needs the width model's spline)."""
    lim: dict[str, tuple[float | None, float | None]] = {
        "m_A": (float(g["m_A"][0]), float(g["m_A"][-1])), "m_phi": (float(g["m_phi"][0]), float(g["m_phi"][-1])),
        "eps": (0.0, 1.0), "theta": (0.0, math.pi / 2), "b": (0.0, None),
    }
    lim["m_A_gammaphi"], lim["eps_gammaphi"] = lim["m_A"], lim["eps"]
    return lim


def check_start(config: FitConfig, start: dict | None) -> dict[str, float]:
    """``start`` checked against the configuration before any template is made (an unknown name, a value that
    is not a number or outside the grid's range fails at once, not after minutes of templates); the start
    values, the configuration's model where not given."""
    s = default_truth(config)
    unknown = sorted(set(start or {}) - set(s) - {"m_A_gammaphi", "eps_gammaphi"})
    if unknown:
        names = list(s) + ["m_A_gammaphi", "eps_gammaphi"]
        raise ParameterError("start", unknown, f"names parameters the fit does not have (it has {', '.join(names)})")
    s.update(start or {})
    s.setdefault("m_A_gammaphi", s["m_A"])
    s.setdefault("eps_gammaphi", s["eps"])
    _in_limits(s, _grid_limits(config.grid()))
    return s


def _in_limits(s: dict, lim: dict) -> None:
    for k, (lo, hi) in lim.items():
        v = s[k]
        if not (isinstance(v, (int, float)) and math.isfinite(v)) or (lo is not None and v < lo) or (hi is not None and v > hi):
            raise ParameterError(f"start[{k!r}]", v, f"must lie in [{lo}, {'inf' if hi is None else hi}] "
                                 "(the physical range the templates cover)")


def _start(model: DataModel, names, start: dict | None) -> dict[str, float]:
    s = check_start(model.config, start)
    _in_limits(s, _limits(model, names))
    return {k: float(s[k]) for k in names}


def _minuit(lk: Likelihood, start: dict, fix: tuple[str, ...]):
    Minuit = require("iminuit", "fit", "the fit after a discovery").Minuit

    m = Minuit(lk, [start[k] for k in lk.names], name=lk.names)  # lk.errordef = 1: -2 log L
    for k, lim in _limits(lk.model, lk.names).items():
        m.limits[k] = lim
    cfg = lk.model.config
    steps = {"m_A": 0.1 * cfg.sigma_m, "m_phi": 0.1 * cfg.sigma_vtx, "eps": 0.05 * max(start["eps"], 1e-9),
             "theta": 0.05 * start["theta"], "b": 0.1}
    steps["m_A_gammaphi"], steps["eps_gammaphi"] = steps["m_A"], steps["eps"]
    for k in lk.names:
        m.errors[k] = steps[k]
        m.fixed[k] = k in fix
    m.strategy = 1
    return m


def _at_limit(m, k: str) -> bool:
    lo, hi = m.limits[k]
    v, e = m.values[k], max(m.errors[k], 1e-300)
    return (math.isfinite(lo) and v - lo < 1e-3 * e) or (math.isfinite(hi) and hi - v < 1e-3 * e)


MAX_OUTSIDE = FIT_MAX_OUTSIDE
"""The largest fraction of a channel's events that may lie outside the fit's ranges before the data are refused."""
HYPOTHESIS_OFFSET = 1.0
"""A best fit further than this many resolutions (sigma_vtx in m_phi, sigma_m in m_A) from the hypothesis gets a note."""


@dataclass(frozen=True)
class FitOptions:
    """What a fit computes beyond the best fit and HESSE (:func:`fit`, :func:`toys`).

    Attributes
    ----------
    minos : bool
        MINOS intervals of the free physics parameters.
    upper_limit, ratio_test : bool
        The 95 % CL upper limit on eps (always made when there is no significant signal), the model test
        (both channels needed).
    contours : pairs of names
        2-D profile-likelihood contours at 68 and 95 % (:data:`PAIRS` for the usual three).
    profiles : names
        1-D profiles of -2 Delta log L over +-3 sigma.
    """

    minos: bool = True
    upper_limit: bool = False
    ratio_test: bool = False
    contours: tuple[tuple[str, str], ...] = ()
    profiles: tuple[str, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "contours", tuple(tuple(p) for p in self.contours))
        object.__setattr__(self, "profiles", tuple(self.profiles))


NO_INTERVALS = FitOptions(minos=False)
"""Best fit and HESSE only (the quick fit of toys and scans)."""


def fit(model: DataModel, data: Data | dict[str, np.ndarray], *, start: dict | None = None, fix=(),
        options: FitOptions = FitOptions(), truth: dict | None = None, max_outside: float = MAX_OUTSIDE) -> FitResult:
    """Fit ``data`` (a :class:`~mcdh.reconstruct.data.Data` or {channel: counts}) with ``model``, computing what
    ``options`` (:class:`FitOptions`) asks beyond the best fit and HESSE.

    Parameters
    ----------
    start : dict, optional
        Start values (default the configuration's model, b = 1); must lie inside the templates' ranges.
    fix : names
        Parameters held at their start values (e.g. ``("b",)`` for a known background).
    truth : dict, optional
        The true parameters (default the data's), for pulls.
    max_outside : float
        Refuse data of which a larger fraction of a channel's events lies outside the fit's ranges
        (events left out are always counted, per reason, in the result).

    The global significance and the goodness of fit come from toys:
    :func:`mcdh.reconstruct.calibration.calibrate` adds them to the result.
    """
    minos, upper_limit, ratio_test = options.minos, options.upper_limit, options.ratio_test
    contours, profiles = options.contours, options.profiles
    if isinstance(data, Data):
        counts, outside = data.select(model)
        _check_outside(data, counts, outside, max_outside)
        if truth is None:
            truth = data.truth
    else:
        counts, outside = data, {}
    lk = Likelihood(model, counts)
    fix = tuple(fix)
    for k in fix:
        if k not in lk.names:
            raise ParameterError("fix", k, f"must be among {lk.names}")
    s = _start(model, lk.names, start)
    m = _minuit(lk, s, fix)
    m.migrad()
    notes: list[str] = []
    valid, status = _status(m)
    if valid:
        m.hesse()
        valid, status = _status(m)
    best = float(m.fval)
    values = {k: float(m.values[k]) for k in lk.names}
    null = _null_fit(lk, values)[0]
    q0 = max(0.0, null - best)
    z = math.sqrt(q0) if values["eps"] > 0 else 0.0
    no_signal = z < 1.0
    failed = not valid and not no_signal  # without a signal the covariance is not needed: q0 ~ 0 is the answer
    if no_signal:
        valid, status = False, f"no significant signal (Z_local = {z:.2g} < 1): eps is compatible with 0"
        notes.append("no significant signal: m_A, m_phi and theta are undetermined (their values are not "
                     "measurements); the data bound eps from above (eps_upper_95)")
    for k in ("m_A", "m_phi", "theta"):
        if k not in fix and not no_signal and _at_limit(m, k):
            failed = True
            valid, status = False, (f"{k} reached the edge of the templates {tuple(m.limits[k])}: widen the grid "
                                    f"(FitConfig {GRID_FIELDS[k]})")
    intervals: dict[str, tuple[float | None, float | None]] = {}
    if minos and valid:
        intervals = _minos(m, [k for k in PARAMETERS if k not in fix], notes)
        values = {k: float(m.values[k]) for k in lk.names}
    if valid and not no_signal:
        c = m.covariance
        if abs(c["eps", "theta"]) > 0.9 * math.sqrt(c["eps", "eps"] * c["theta", "theta"]):
            notes.append("eps and theta are degenerate (|correlation| > 0.9): the rate fixes eps^2 x P(theta), "
                         "and the radial shape hardly separates them (decay length far from the region's size)")
        notes += _offset_notes(model, values, fix)
    if model.width_note and not no_signal:
        notes.append(model.width_note)
    errors = {k: 0.0 if k in fix else float(m.errors[k]) for k in lk.names}
    free = [k for k in lk.names if k not in fix]
    cov = {a: {b: float(m.covariance[a, b]) for b in free} for a in free} if m.covariance is not None else {}
    eps_up = _eps_upper(lk, values, fix) if upper_limit or no_signal else None
    rt = _ratio_test(model, counts, values, best, fix) if ratio_test and valid else None
    failures: dict[str, str] = {}
    conts = {f"{x},{y}": _contour(m, x, y, notes, failures) for x, y in contours} if valid else {}
    profs = {k: _profile(m, k, best) for k in profiles} if valid else {}
    measured = _measured(model, values, errors, intervals, lk.counts) if valid else None
    hyp = model.config.model
    return FitResult(values, errors, intervals, cov, best, valid, status, fix, tuple(lk.counts),
                     {c: float(n.sum()) for c, n in lk.counts.items()}, None if failed else z, q0, eps_up, rt, conts,
                     profs, dict(truth) if truth else None, tuple(notes), lk.calls, outside, measured,
                     hypothesis={"m_A": hyp.m_A, "m_phi": hyp.m_phi, "eps": hyp.eps, "theta": hyp.theta}, start=s,
                     contour_failures=failures)


GRID_FIELDS = {"m_A": "m_A_span", "m_phi": "m_phi_span", "theta": "width_decades"}
"""The FitConfig field that widens the template grid along each parameter."""


def _check_outside(data: Data, counts, outside, max_outside: float) -> None:
    """Refuse data of which more than ``max_outside`` of a channel's events lie outside the fit's ranges."""
    for c, lost in outside.items():
        n_out = sum(lost.values())
        total = n_out + float(counts[c].sum())
        if total > 0 and n_out > max_outside * total:
            why = "; ".join(f"{n:.4g} {reason}" for reason, n in lost.items())
            raise ParameterError("data", data.source or "the data", f"has {n_out:.4g} of its {total:.4g} {c} events "
                                 f"({100 * n_out / total:.3g} %) outside the fit's ranges ({why}); at most "
                                 f"{100 * max_outside:.3g} % may be (max_outside): check the hypothesis (m_phi sets the "
                                 "vertex-mass window) and the region")


def _offset_notes(model: DataModel, values: dict, fix) -> list[str]:
    """A note when the best fit lies far from the hypothesis the templates (and the vertex-mass window) are
    centred on: the model of the data is most accurate there."""
    cfg = model.config
    hyp = cfg.model
    off = {k: abs(values[k] - getattr(hyp, k)) / sig for k, sig in (("m_A", cfg.sigma_m), ("m_phi", cfg.sigma_vtx))
           if k not in fix}
    far = {k: d for k, d in off.items() if d > HYPOTHESIS_OFFSET}
    if not far:
        return []
    what = " and ".join(f"{k} {d:.2g} resolutions" for k, d in far.items())
    return [f"the best fit lies {what} from the hypothesis (m_A = {hyp.m_A:.6g}, m_phi = {hyp.m_phi:.6g} GeV) the "
            "templates and the vertex-mass window are centred on: refit with the hypothesis at the best fit "
            f"(m_A = {values['m_A']:.6g}, m_phi = {values['m_phi']:.6g} GeV; mcdh fit --mA {values['m_A']:.6g} "
            f"--m-chi {hyp.m_chi:.6g} --m-phi {values['m_phi']:.6g})"]


def _measured(model: DataModel, values: dict, errors: dict, intervals: dict, counts) -> dict:
    """What the rate measures with g_chi and q_phi fixed: the signal yield per channel and eps g_chi q_phi,
    with 68 % intervals (MINOS on eps where made, else HESSE)."""
    eps = values["eps"]
    lo, hi = intervals.get("eps", (None, None))
    lo = max(eps - errors["eps"], 0.0) if lo is None else lo
    hi = eps + errors["eps"] if hi is None else hi
    yields = {}
    for c in counts:
        n = float(model.signal(c, values.get(f"m_A_{c}", values["m_A"]), values["m_phi"], eps, values["theta"]).sum())
        yields[c] = (n, n * (lo / eps) ** 2, n * (hi / eps) ** 2) if eps > 0 else (0.0, 0.0, 0.0)
    gq = model.config.model.g_chi * model.config.model.q_phi
    return {"signal_events": yields, "eps_g_chi_q_phi": (eps * gq, lo * gq, hi * gq), "g_chi_q_phi": gq}


def _status(m) -> tuple[bool, str]:
    fm = m.fmin
    if fm is None:
        return False, "not minimised"
    if fm.is_valid and fm.has_accurate_covar:
        return True, "MIGRAD converged, covariance accurate"
    reasons = [name for name, bad in (("call limit reached", fm.has_reached_call_limit),
                                      ("estimated distance to minimum too large", fm.is_above_max_edm),
                                      ("covariance not accurate", not fm.has_accurate_covar),
                                      ("covariance made positive definite", fm.has_made_posdef_covar),
                                      ("Hesse failed", fm.hesse_failed)) if bad]
    return False, "MIGRAD did not converge: " + (", ".join(reasons) or "invalid minimum")


def _minos(m, names, notes) -> dict[str, tuple[float | None, float | None]]:
    out: dict[str, tuple[float | None, float | None]] = {}
    for k in names:
        try:
            m.minos(k)
            me = m.merrors[k]
        except (RuntimeError, KeyError) as exc:
            notes.append(f"{k}: MINOS failed ({exc})")
            out[k] = (None, None)
            continue
        v = m.values[k]
        lo = None if (me.at_lower_limit or not me.lower_valid) else v + me.lower
        hi = None if (me.at_upper_limit or not me.upper_valid) else v + me.upper
        if lo is None or hi is None:
            notes.append(f"{k}: the profile stays below one unit up to the "
                         f"{'lower' if lo is None else 'upper'} boundary - only a one-sided bound")
        out[k] = (lo, hi)
    return out


def _null_fit(lk: Likelihood, values: dict) -> tuple[float, float]:
    """-2 log L at eps = 0 with b refitted (the signal's shape parameters are then irrelevant), and that b."""
    s = dict(values)
    s["eps"] = 0.0
    if "eps_gammaphi" in s:
        s["eps_gammaphi"] = 0.0
    m = _minuit(lk, s, tuple(k for k in lk.names if k != "b"))
    m.migrad()
    return float(m.fval), float(m.values["b"])


def _eps_upper(lk: Likelihood, values: dict, fix) -> float | None:
    """One-sided 95 % CL upper limit on eps: -2 Delta log L = 2.71 with b profiled and the masses and theta
    at their hypothesis (without a signal they are undetermined; the limit is for that hypothesis)."""
    hyp = lk.model.config.model
    base = dict(values) | {"m_A": hyp.m_A, "m_phi": hyp.m_phi, "theta": hyp.theta}
    fixed = tuple(k for k in lk.names if k not in ("eps", "b") or k in fix)
    m = _minuit(lk, base | {"eps": max(values["eps"], 1e-12)}, fixed)
    m.migrad()
    ref, eps_hat = float(m.fval), float(m.values["eps"])
    fixed_eps = tuple(k for k in lk.names if k != "b" or k in fix)

    def excess(eps: float) -> float:
        mm = _minuit(lk, base | {"eps": eps}, fixed_eps)
        mm.migrad()
        return float(mm.fval) - ref - Q_UPPER_95

    hi = max(eps_hat, hyp.eps * 1e-3)
    for _ in range(60):
        if excess(hi) > 0:
            break
        hi *= 1.5
    else:
        return None
    from .._optimize import brentq

    return brentq(excess, eps_hat, hi, xtol=1e-4 * hi)


def _ratio_test(model: DataModel, counts, values: dict, best: float, fix) -> dict | None:
    lk = Likelihood(model, counts, free_ratio=True)
    if not lk.free_ratio:
        return None
    m = _minuit(lk, _start(model, lk.names, {k: values[k] for k in values if k in lk.names}), tuple(fix))
    m.migrad()
    lam = max(0.0, best - float(m.fval))
    return {"lambda": lam, "dof": 2, "p_value": math.exp(-0.5 * lam),  # chi2 survival function, 2 dof
            "valid": bool(m.valid), "free": {k: float(m.values[k]) for k in lk.names},
            "errors": {k: float(m.errors[k]) for k in lk.names}}


def _contour(m, x: str, y: str, notes: list[str], failures: dict[str, str]) -> dict[float, list[list[float]]]:
    out = {}
    for level in LEVELS:
        try:
            pts = m.mncontour(x, y, cl=level, size=32)
        except (RuntimeError, ValueError):
            pts = np.empty((0, 2))
            reason = contour_failure(m, (x, y), level)
            failures.setdefault(f"{x},{y}", reason)
            notes.append(f"the {100 * level:.0f} % contour of ({x}, {y}) was not found: {reason}")
        out[level] = np.asarray(pts).tolist()
    return out


def contour_failure(m, pair: tuple[str, str], level: float) -> str:
    """Why Minuit found no contour at ``level`` around the minimum of ``m`` in ``pair``, and the remedy: a
    parameter whose interval at that level runs into its limit (the template grid's edge, or a physical bound),
    or one the data hardly constrain."""
    from scipy.stats import chi2

    k = math.sqrt(chi2.ppf(level, 2))  # the contour's reach in HESSE errors along an axis
    for name in pair:
        lo, hi = m.limits[name]
        v, e = m.values[name], m.errors[name]
        for edge, beyond in ((lo, v - k * e <= lo), (hi, v + k * e >= hi)):
            if math.isfinite(edge) and beyond:
                field = GRID_FIELDS.get(name.removesuffix("_gammaphi"))  # m_A_gammaphi lives on m_A's grid
                remedy = (f"widen the template grid (FitConfig {field}, mcdh fit --template-grid {field}=...)" if field
                          else f"{name} is at its physical bound: fix it (mcdh fit --fix {name}) or show the profile")
                return f"{name} reaches its limit {edge:.4g} within {level:.0%} CL ({name} = {v:.4g} +- {e:.2g}); {remedy}"
    widest = max(pair, key=lambda n: m.errors[n] / max(abs(m.values[n]), 1e-300))
    return (f"the likelihood is too flat in ({pair[0]}, {pair[1]}) for Minuit's contour search ({widest} = "
            f"{m.values[widest]:.4g} +- {m.errors[widest]:.2g}): the data hardly constrain {widest}; fix it "
            f"(mcdh fit --fix {widest}) or use its 1-D profile")


def _profile(m, k: str, best: float) -> dict[str, list[float]]:
    x, y, ok = m.mnprofile(k, size=41, bound=3)
    return {"x": np.asarray(x).tolist(), "delta": (np.asarray(y) - best).tolist(), "ok": np.asarray(ok).tolist()}


def toys(model: DataModel, truth: dict, n_toys: int, *, seed: int = 0, n_workers: int = 1, fix=(),
         options: FitOptions = FitOptions(), progress: bool = False) -> list[FitResult]:
    """Fits (computing what ``options`` asks) of ``n_toys`` Poisson toys of the binned expectation at ``truth``
    (seeded; results do not depend on ``n_workers``, processes sharing the templates)."""
    n_toys = check_count("n_toys", n_toys, 1)
    mu = model.expected(truth)
    seeds = streams.toys(seed, "fit", n_toys)
    return map_toys(_toy, (model, mu, options, tuple(fix), truth), seeds, n_workers, progress)


_SHARED: Any = None
"""In a toy worker process only: what :func:`map_toys` shares with every job (set by the worker's initializer)."""


def map_toys(fn, shared, jobs, n_workers: int = 1, progress: bool = False, what: str = "toys") -> list:
    """``[fn(shared, job) for job in jobs]`` on ``n_workers`` processes, in order. ``shared`` (the templates, the
    expectation) goes to each worker once, when it starts (inherited where processes fork, pickled once
    where they spawn: the platform's default start method); ``fn`` must be a module-level function."""
    n_workers = check_count("n_workers", n_workers, 1)
    jobs = list(jobs)
    with progress_bar(len(jobs), what, "toy", progress) as advance:
        results = []
        if n_workers == 1 or len(jobs) < 2:
            for j in jobs:
                results.append(fn(shared, j))
                advance(1)
            return results
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(n_workers, initializer=_share, initargs=(shared,)) as pool:
            for r in pool.map(_shared_call, [(fn, j) for j in jobs], chunksize=max(1, len(jobs) // (8 * n_workers))):
                results.append(r)
                advance(1)
        return results


def _share(shared) -> None:
    global _SHARED
    _SHARED = shared


def _shared_call(job):
    fn, j = job
    return fn(_SHARED, j)


def _toy(shared, seed) -> FitResult:
    model, mu, options, fix, truth = shared
    rng = np.random.default_rng(seed)
    counts = {c: rng.poisson(m).astype(np.float64) for c, m in mu.items()}
    return fit(model, counts, fix=fix, truth=truth, options=options)


def coverage(results: list[FitResult], truth: dict) -> dict[str, dict[str, float]]:
    """Per parameter, over the valid fits: the pulls' mean and width, the fraction of MINOS intervals covering
    the truth, and how many toys counted.

    ``pull_*``: pulls with the MINOS error on the side of the truth, (x - truth) / sigma_up when x < truth,
    else / sigma_down - the pull of an asymmetric likelihood; ``hesse_pull_*``: with the symmetric HESSE error
    (biased where the likelihood is far from parabolic: eps, whose rate goes as eps^2 P(theta)).
    """
    out = {}
    for k in PARAMETERS:
        ok = [r for r in results if r.valid and k in r.errors and k not in r.fixed and r.errors[k] > 0]
        if not ok:
            continue
        hesse = np.array([(r.values[k] - truth[k]) / r.errors[k] for r in ok])
        two = [(r.values[k], lo, hi) for r in ok for lo, hi in [r.minos.get(k, (None, None))]
               if lo is not None and hi is not None]
        minos = np.array([(v - truth[k]) / ((hi - v) if v < truth[k] else (v - lo)) for v, lo, hi in two])
        cover = [lo <= truth[k] <= hi for _, lo, hi in two]
        out[k] = {"pull_mean": _mean(minos), "pull_width": _width(minos), "hesse_pull_mean": _mean(hesse),
                  "hesse_pull_width": _width(hesse), "minos_coverage": float(np.mean(cover)) if cover else math.nan,
                  "n": len(ok), "n_minos": len(two)}
    out["_all"] = {"toys": len(results), "valid": sum(r.valid for r in results)}
    return out


def _mean(x: np.ndarray) -> float:
    return float(x.mean()) if x.size else math.nan


def _width(x: np.ndarray) -> float:
    return float(x.std(ddof=1)) if x.size > 1 else math.nan


PRECISION_CHANNELS = (*((c,) for c in CHANNELS), CHANNELS)


@dataclass(frozen=True)
class PrecisionRow:
    """The expected precision of one channel set at one phi-channel signal count (:func:`precision_table`).

    ``sigma_*`` (GeV) and ``rel_sigma_*`` are HESSE errors on the Asimov data; None where the fit is not valid
    (``status`` says why). ``n_signal``: the signal events of each channel fitted."""

    n_signal_phi: float
    eps: float
    channels: str
    n_signal: dict[str, float]
    z_local: float | None
    valid: bool
    status: str
    sigma_m_A: float | None
    sigma_m_phi: float | None
    rel_sigma_eps: float | None
    rel_sigma_theta: float | None


def precision_table(model: DataModel, n_signal=(10, 30, 100, 1000), truth: dict | None = None) -> list[PrecisionRow]:
    """Expected precision (HESSE errors on the Asimov data set, the median experiment) of m_A, m_phi, eps and
    theta when the phi channel has ``n_signal`` signal events, for each channel alone and both together.

    eps is scaled to give the phi-channel signal count (gamma-phi gets what the model predicts at that eps).
    A fit without a significant signal, or one that does not converge, gives its status instead of numbers.
    """
    truth = {**default_truth(model.config), **(truth or {})}
    s_ref = float(model.signal("phi", truth["m_A"], truth["m_phi"], truth["eps"], truth["theta"]).sum())
    rows = []
    for n in n_signal:
        eps = truth["eps"] * math.sqrt(float(n) / s_ref)
        t = truth | {"eps": eps}
        mu = model.expected(t)
        for chans in PRECISION_CHANNELS:
            r = fit(model, {c: mu[c] for c in chans}, start=t, truth=t, options=NO_INTERVALS)
            ok = r.valid
            rows.append(PrecisionRow(
                n, eps, "+".join(chans),
                {c: float(model.signal(c, t["m_A"], t["m_phi"], eps, t["theta"]).sum()) for c in chans},
                r.z_local, r.valid, r.status, r.errors["m_A"] if ok else None, r.errors["m_phi"] if ok else None,
                r.errors["eps"] / eps if ok else None, r.errors["theta"] / t["theta"] if ok else None))
    return rows
