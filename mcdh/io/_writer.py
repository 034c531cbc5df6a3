"""Common frame of the streaming event writers: temporary file, rename on success."""
from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from .._atomic import atomic_path
from ..errors import ParameterError
from ..events import Events


class EventWriter:
    """Write events to ``path`` chunk by chunk, as a context manager.

    The file is written under a temporary name next to ``path`` and renamed
    onto it only when the ``with`` block ends without an exception; on an
    exception (or Ctrl-C) the temporary file is removed and ``path`` is left
    as it was. Subclasses implement ``_open``, ``_write`` and ``_finish``.
    """

    max_chunk = 200_000
    """Events handed to ``_write`` at a time (bounds the memory of the conversion)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.n_written = 0
        self.parameters: dict | None = None
        self._stack: contextlib.ExitStack | None = None
        self._particles: tuple[str, ...] | None = None

    def __enter__(self):
        self._stack = contextlib.ExitStack()
        self.tmp = self._stack.enter_context(atomic_path(self.path))
        try:
            self._open()
        except BaseException:
            self._stack.__exit__(*sys.exc_info())
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self._finish()
            else:
                self._abort()
        except BaseException:
            self._abort()
            if not self._stack.__exit__(*sys.exc_info()):
                raise
            return False
        return self._stack.__exit__(exc_type, exc, tb)

    def write(self, events: Events) -> None:
        """Append a chunk of events (all chunks must have the same particle slots)."""
        if not isinstance(events, Events):
            raise ParameterError("events", type(events).__name__, "must be an Events")
        if self._particles is None:
            self._particles = events.particles
        elif events.particles != self._particles:
            raise ParameterError("events.particles", events.particles, f"must match the first chunk's {self._particles}")
        step = self.max_chunk
        for start in range(0, len(events), step):
            stop = min(len(events), start + step)
            part = events if (start == 0 and stop == len(events)) else Events(
                events.momenta[start:stop], events.weights[start:stop], events.particles,
                events.process, events.frame, events.parameters)
            self._write(part)
            self.n_written += len(part)

    def set_parameters(self, parameters: dict) -> None:
        """Run parameters to store when the file is closed (default: those of the first chunk)."""
        self.parameters = dict(parameters)

    # subclass hooks
    def _open(self) -> None:
        pass

    def _write(self, events: Events) -> None:
        raise NotImplementedError

    def _finish(self) -> None:
        pass

    def _abort(self) -> None:
        pass
