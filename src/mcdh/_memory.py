"""Preflight for memory: a command that holds events in memory says so, or refuses, before working."""
from __future__ import annotations

import os
import resource
import sys

from .errors import ParameterError

ANNOUNCE_BYTES = 1 << 30
"""Above this, the need is announced in one line on stderr before the work starts."""


def available_bytes() -> int | None:
    """Memory this process may still use: the system's available memory, or less under an address-space limit."""
    avail = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        try:
            with open("/proc/self/statm") as f:
                used = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            used = 0
        room = max(soft - used, 0)
        avail = room if avail is None else min(avail, room)
    return avail


def preflight(n_bytes: float, what: str, parameter: str, value, hint: str = "") -> None:
    """Refuse (ParameterError naming ``parameter``) when ``n_bytes`` will not fit; announce it when large."""
    avail = available_bytes()
    gb = n_bytes / 2**30
    if avail is not None and n_bytes > 0.9 * avail:
        raise ParameterError(parameter, value, f"{what} needs about {gb:.2g} GB of memory and {avail / 2**30:.2g} GB "
                             f"are available{'; ' + hint if hint else ''}")
    if n_bytes > ANNOUNCE_BYTES:
        print(f"mcdh: {what} will hold about {gb:.2g} GB in memory{' (' + hint + ')' if hint else ''}", file=sys.stderr)
