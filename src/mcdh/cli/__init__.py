"""Command line: a thin layer where each command (one module each) calls the library.

Invalid input gives one line on stderr and exit status 2 (no traceback);
library errors name the command-line flag of the library parameter.
"""
from __future__ import annotations

import argparse
import sys

from .._version import __version__
from ..errors import FileFormatError, GenerationError, ParameterError
from . import analyze, background, figure, generate, rambo, reach, reproduce, scan, table, xsec
from ._options import error_text

COMMANDS = (rambo, background, xsec, figure, table, reach, reproduce, generate, analyze, scan)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mcdh",
        description="Monte Carlo for dark Higgs-strahlung at Belle II (arXiv:2508.09247).",
    )
    parser.add_argument("--version", action="version", version=f"mcdh {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.register(sub)
    return parser


class _Interrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) or a batch system's SIGTERM: unwinds like Ctrl-C."""

    def __init__(self, signum: int):
        super().__init__(f"signal {signum}")
        self.signum = signum


def _interrupt(signum, frame):  # pragma: no cover - exercised in a subprocess test
    raise _Interrupted(signum)


def _redeliver_swallowed(unraisable) -> None:
    """A signal that lands while C code runs a Python callback (numba compiling through llvmlite's
    ctypes callbacks) raises there, where the exception is printed and dropped: the run would go on
    to the end. Send the same signal again shortly, until it lands in ordinary Python code."""
    import os
    import threading

    exc = unraisable.exc_value
    if isinstance(exc, _Interrupted):
        timer = threading.Timer(0.05, os.kill, (os.getpid(), exc.signum))
        timer.daemon = True
        timer.start()
        return
    sys.__unraisablehook__(unraisable)


def main(argv: list[str] | None = None) -> int:
    import signal
    import threading

    parser = build_parser()
    args = parser.parse_args(argv)
    previous: dict = {}
    hook = sys.unraisablehook
    if threading.current_thread() is threading.main_thread():
        # Ctrl-C and SIGTERM unwind: partial files are removed, finished scan points kept
        for sig in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(sig) is not signal.SIG_IGN:  # a background job keeps ignoring Ctrl-C
                previous[sig] = signal.signal(sig, _interrupt)
        sys.unraisablehook = _redeliver_swallowed
    try:
        return args.func(args)
    except ParameterError as exc:
        print(f"mcdh {args.command}: error: {error_text(exc)}", file=sys.stderr)
        return 2
    except FileFormatError as exc:
        print(f"mcdh {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except GenerationError as exc:
        print(f"mcdh {args.command}: generation failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"mcdh {args.command}: interrupted", file=sys.stderr)
        return 130
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sys.unraisablehook = hook

