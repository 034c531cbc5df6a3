"""Write files under a temporary name in the target folder, then rename.

The temporary name is ``.NAME.<pid>-<random>.part<suffix>``: a write that was
killed (SIGKILL, power cut) leaves it behind, and the next write of the same
output removes it once its process is gone (saying so on stderr), so a
killed run never leaves debris that nothing mentions.
"""
from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from pathlib import Path

from .errors import FileAccessError


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_stale_partials(path: Path) -> list[Path]:
    """Remove the temporary files of earlier, killed writes of ``path``; return them."""
    # the temporary file and its helpers (an LHE writer's ".body"): ".NAME.<pid>-<random>.part<suffix>[.*]"
    pattern = re.compile(rf"^\.{re.escape(path.name)}\.(\d+)-[^.]+\.part{re.escape(path.suffix)}(\.[^.]+)?$")
    removed = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(path.parent):
            m = pattern.match(entry.name)
            if m and int(m.group(1)) != os.getpid() and not _alive(int(m.group(1))):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    for p in removed:
        print(f"mcdh: removed {p}, the partial file of an earlier interrupted write", file=sys.stderr)
    return removed


def check_output(path: str | os.PathLike, *, folder: bool = False) -> None:
    """Refuse at once an output that cannot be written (:class:`~mcdh.errors.FileAccessError` naming it): a file
    where a folder is (``path`` itself when ``folder``, or one above it), or a folder where the file should be -
    before any work, not after it (a folder the system refuses to write into is reported by the write, in the
    system's words)."""
    path = Path(path)
    if not folder and path.is_dir():
        raise FileAccessError(path, "write", "it is a directory")
    blocker = next((p for p in ((path,) if folder else ()) + tuple(path.parents) if p.exists() and not p.is_dir()),
                   None)
    if blocker is not None:
        raise FileAccessError(path, "write", f"{blocker} is a file, not a folder")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success.

    On an exception the temporary file is removed and ``path`` is untouched,
    so readers never see a half-written file. The operating system's refusals
    (no space, read-only folder, no permission, ``path`` a directory, a file
    where a folder should be) raise :class:`~mcdh.errors.FileAccessError`
    naming ``path``.
    """
    path = Path(path)
    check_output(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_partials(path)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}-", suffix=".part" + path.suffix, dir=path.parent)
        os.close(fd)
        tmp = Path(name)
        yield tmp
        # mkstemp makes the file private (0600); give it the usual permissions
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, FileAccessError):
            raise FileAccessError(path, "write", exc) from exc
        raise


def write_text(path: str | os.PathLike, text: str) -> None:
    """Atomically write ``text`` to ``path``."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def json_default(x):
    """``json.dumps(default=...)`` hook for numpy arrays and scalars (for files mcdh writes)."""
    import numpy as np

    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, (np.floating, np.integer, np.bool_)):
        return x.item()
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")
