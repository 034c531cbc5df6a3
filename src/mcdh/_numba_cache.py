"""numba's on-disk cache of mcdh's kernels, keyed to the mcdh version and the package's source.

numba keys a cached kernel by the content of the file that defines it. A
kernel that calls (and inlines) a jitted function from another module would
therefore survive an edit of that module with stale machine code. mcdh's
kernels are instead cached under

    $NUMBA_CACHE_DIR or $XDG_CACHE_HOME/mcdh or ~/.cache/mcdh
        /numba/<mcdh version>-<digest of every .py file of the package>/

so that a new version, or any edit of the package, compiles afresh. Other
packages' kernels keep numba's own locators. Where that folder cannot be
written, numba falls back to its default locations.
"""
from __future__ import annotations

import hashlib
import os
from functools import cache
from pathlib import Path
from typing import Any

from ._version import __version__

PACKAGE_DIR = Path(__file__).resolve().parent


def tree_digest(folder: Path, version: str = __version__) -> str:
    """SHA-256 (first 16 hex digits) of ``version`` and every Python file under ``folder``, names included."""
    h = hashlib.sha256(version.encode())
    for path in sorted(folder.rglob("*.py")):
        h.update(str(path.relative_to(folder)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


@cache
def source_digest() -> str:
    """The digest of this mcdh: its version and its package's sources."""
    return tree_digest(PACKAGE_DIR)


def cache_root() -> Path:
    """The folder of this mcdh build's kernels."""
    base = os.environ.get("NUMBA_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "mcdh"
    )
    return Path(base) / "numba" / f"{__version__}-{source_digest()}"


def install() -> None:
    """Put mcdh's locator first in numba's list (idempotent); call before any mcdh kernel is defined."""
    from numba.core import caching

    names = vars(caching)
    impl: Any = names.get("CacheImpl") or names["_CacheImpl"]  # renamed in numba 0.61
    if any(getattr(c, "_mcdh", False) for c in impl._locator_classes):
        return

    class McdhCacheLocator(caching._CacheLocator):
        _mcdh = True

        def __init__(self, py_func, py_file):
            self._py_file = py_file
            self._lineno = py_func.__code__.co_firstlineno
            self._cache_path = str(cache_root() / self.get_suitable_cache_subpath(py_file))

        def get_cache_path(self):
            return self._cache_path

        def get_source_stamp(self):
            return source_digest()

        def get_disambiguator(self):
            return str(self._lineno)

        @classmethod
        def from_function(cls, py_func, py_file):
            try:
                inside = Path(py_file).resolve().is_relative_to(PACKAGE_DIR)
            except OSError:
                return None
            if not inside:
                return None
            self = cls(py_func, py_file)
            try:
                self.ensure_cache_path()
            except OSError:  # not writable: numba's own locators decide
                return None
            return self

    impl._locator_classes = [McdhCacheLocator, *impl._locator_classes]
