"""Exceptions raised at the library boundary.

Every invalid input raises :class:`ParameterError` (a ``ValueError``) whose
message names the parameter, the value given and what would be valid; the
command line turns it into one line on stderr and exit status 2.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any


def one_line(text: str, limit: int = 400) -> str:
    """``text`` on one line (whitespace runs collapsed), at most ``limit`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ParameterError(ValueError):
    """An input parameter is outside its allowed range.

    Attributes
    ----------
    parameter : str
        Name of the offending parameter (physics name, e.g. ``"sqrt_s"``).
    value : Any
        The value that was given.
    allowed : str
        Human-readable statement of what is allowed.
    """

    def __init__(self, parameter: str, value: Any, allowed: str):
        self.parameter = parameter
        self.value = value
        self.allowed = allowed
        super().__init__(one_line(f"{parameter} = {one_line(repr(value), 120)} is invalid: {allowed}"))


class MissingExtra(ImportError):
    """An optional part of mcdh needs a package that is not installed; the message names the extra."""

    def __init__(self, package: str, extra: str, what: str):
        super().__init__(f"{what} needs {package}: pip install 'mcdh[{extra}]'")


def require(module: str, extra: str, what: str):
    """Import ``module`` of the optional ``extra``, or raise :class:`MissingExtra` naming it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(module.split(".")[0], extra, what) from None


class GenerationError(RuntimeError):
    """A generator failed although its inputs were valid (should not happen)."""


def check_finite(name: str, value: Any) -> float:
    """Return ``value`` as a float, or raise if it is not a finite real number (bools are refused)."""
    if isinstance(value, bool):
        raise ParameterError(name, value, "must be a real number, not a bool")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ParameterError(name, value, "must be a real number") from None
    if not math.isfinite(x):
        raise ParameterError(name, value, "must be finite")
    return x


def check_positive(name: str, value: Any) -> float:
    """A finite number > 0."""
    x = check_finite(name, value)
    if not x > 0.0:
        raise ParameterError(name, value, "must be > 0")
    return x


MAX_LUMINOSITY_FB = 1.0e7
"""The largest integrated luminosity accepted: 10^4 ab^-1, 200 x Belle II's goal of 50 ab^-1 (beyond it event
counts overflow the Poisson draws and the reach is meaningless)."""


def check_luminosity(name: str, value: Any) -> float:
    """An integrated luminosity in fb^-1: > 0 and at most :data:`MAX_LUMINOSITY_FB`."""
    x = check_positive(name, value)
    if not x <= MAX_LUMINOSITY_FB:
        raise ParameterError(name, value, f"must be at most {MAX_LUMINOSITY_FB:g} fb^-1 (10^4 ab^-1)")
    return x


def check_nonnegative(name: str, value: Any) -> float:
    """A finite number >= 0."""
    x = check_finite(name, value)
    if not x >= 0.0:
        raise ParameterError(name, value, "must be >= 0")
    return x


def check_count(name: str, value: Any, minimum: int = 0) -> int:
    """An integer >= ``minimum`` (bools and non-integral floats are refused)."""
    if isinstance(value, bool):
        raise ParameterError(name, value, f"must be an integer >= {minimum}")
    try:
        ivalue = int(value)
    except (TypeError, ValueError, OverflowError):
        raise ParameterError(name, value, f"must be an integer >= {minimum}") from None
    if ivalue != value or ivalue < minimum:
        raise ParameterError(name, value, f"must be an integer >= {minimum}")
    return ivalue


def check_roles(roles: Any, name: str = "roles") -> dict[str, int]:
    """{particle slot: PDG id}: at least one slot, non-zero integer ids (not bools), distinct."""
    if not isinstance(roles, Mapping) or not roles:
        raise ParameterError(name, roles, "must map particle slots to PDG ids, e.g. {'phi': 54}")
    out = {}
    for k, v in roles.items():
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v == 0:
            raise ParameterError(name, roles, f"the PDG id of {k!r} must be a non-zero integer")
        out[str(k)] = int(v)
    if len(set(out.values())) != len(out):
        raise ParameterError(name, roles, "PDG ids must differ between particle slots")
    return out


class FileFormatError(ValueError):
    """An input file is missing, truncated, corrupt or not what mcdh wrote; the message names its path."""

    def __init__(self, path, problem: str):
        self.path = str(path)
        self.problem = one_line(problem)
        super().__init__(f"{path}: {self.problem}")


class FileAccessError(OSError):
    """The operating system refused to read or write a file (no space, read-only, a directory, ...).

    An ``OSError`` whose message names the path the user gave (not a
    temporary name) and the cause in words, e.g. ``cannot write out.root:
    No space left on device``.
    """

    def __init__(self, path, action: str, cause: OSError | str):
        self.path = str(path)
        reason = cause if isinstance(cause, str) else (cause.strerror or type(cause).__name__)
        super().__init__(getattr(cause, "errno", None), one_line(f"cannot {action} {path}: {reason}"))

    def __str__(self) -> str:
        return str(self.strerror)
