"""mcdh's numba kernels are cached per mcdh version and package source (no stale kernel after an edit)."""
from pathlib import Path

import numba

from mcdh import _numba_cache


def test_mcdh_kernels_use_the_versioned_cache():
    from mcdh.analysis.smearing import _smear_fill  # noqa: F401 - defines kernels
    from mcdh.kinematics.decay import two_body

    locator = two_body._cache._impl._locator
    assert getattr(type(locator), "_mcdh", False)
    root = _numba_cache.cache_root()
    assert root.name == f"{_numba_cache.__version__}-{_numba_cache.source_digest()}"
    assert Path(locator.get_cache_path()).is_relative_to(root)
    assert locator.get_source_stamp() == _numba_cache.source_digest()


def test_digest_follows_every_source_file_and_the_version(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.py").write_text("y = 2\n")
    d0 = _numba_cache.tree_digest(tmp_path, "1.0")
    assert _numba_cache.tree_digest(tmp_path, "1.0") == d0
    assert _numba_cache.tree_digest(tmp_path, "1.1") != d0
    (tmp_path / "sub" / "b.py").write_text("y = 3\n")  # an edit of a module a kernel calls into
    assert _numba_cache.tree_digest(tmp_path, "1.0") != d0


def test_other_packages_keep_numbas_own_cache(tmp_path, monkeypatch):
    mod = tmp_path / "elsewhere.py"
    mod.write_text("import numba\n\n@numba.njit(cache=True)\ndef f(x):\n    return x + 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import elsewhere

    assert elsewhere.f(1) == 2
    assert not getattr(type(elsewhere.f._cache._impl._locator), "_mcdh", False)
    assert numba.config.CACHE_DIR == "" or not Path(elsewhere.f._cache._cache_path).is_relative_to(_numba_cache.cache_root())
