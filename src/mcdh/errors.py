"""Exceptions raised at the library boundary.

Every invalid input raises :class:`ParameterError` (a ``ValueError``) whose
message names the parameter, the value given and what would be valid; the
command line turns it into one line on stderr and exit status 2.
"""
from __future__ import annotations

import math
from typing import Any


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
        super().__init__(f"{parameter} = {value!r} is invalid: {allowed}")


class GenerationError(RuntimeError):
    """A generator failed although its inputs were valid (should not happen)."""


def check_finite(name: str, value: Any) -> float:
    """Return ``value`` as a float, or raise if it is not a finite real number."""
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


class FileFormatError(ValueError):
    """An input file is missing, truncated, corrupt or not what mcdh wrote; the message names its path."""

    def __init__(self, path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")
