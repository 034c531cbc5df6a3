"""scipy's root finding, without keeping the function alive (see :func:`brentq`)."""
from __future__ import annotations

from collections.abc import Callable


def brentq(f: Callable[[float], float], a: float, b: float, **options) -> float:
    """:func:`scipy.optimize.brentq` of ``f`` on [a, b] (``options`` passed on), returned as a float.

    scipy wraps ``f`` in a function that refers to itself, a reference cycle that keeps ``f``, and all it
    refers to, alive until the garbage collector's next full pass. For a band search ``f`` holds a whole
    analysis (its samples and smearing record, 20-100 MB a point), and in a run over many points those
    piled up: ``mcdh reproduce --smearing expected`` grew by ~370 MB. Here scipy only sees a stand-in whose
    link to ``f`` is cut when the search ends.
    """
    from scipy import optimize  # where it is needed: scipy.optimize costs ~0.2 s to import

    held = [f]
    try:
        return float(optimize.brentq(lambda x: held[0](x), a, b, **options))
    finally:
        held.clear()
