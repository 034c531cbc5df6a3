"""numba, as mcdh's kernels import it: after mcdh's cache locator is installed (:mod:`mcdh._numba_cache`), so
every kernel is cached per mcdh version and source. Importing numba costs ~0.3 s, paid by the first module that
defines a kernel, not by ``import mcdh``."""
from . import _numba_cache

_numba_cache.install()  # before any kernel is defined

import numba as nb  # noqa: E402
from numba import njit  # noqa: E402

__all__ = ["nb", "njit"]
