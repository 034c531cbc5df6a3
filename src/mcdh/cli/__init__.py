"""Command line: a thin layer where each command (one module each) calls the library.

Invalid input gives one line on stderr and exit status 2 (no traceback);
library errors name the command-line flag of the library parameter.
"""
from __future__ import annotations

import argparse
import re
import sys

from .._version import __version__
from ..errors import FileAccessError, FileFormatError, GenerationError, MissingExtra, ParameterError, one_line
from . import (
    analyze,
    background,
    basf2_config,
    export_pyhf,
    figure,
    fit,
    generate,
    hepdata,
    pseudodata,
    pythia_config,
    rambo,
    reach,
    reproduce,
    reweight,
    scan,
    table,
    xsec,
)
from ._options import error_text

COMMANDS = (rambo, background, xsec, figure, table, reach, reproduce, generate, analyze, scan, pythia_config, basf2_config,
            reweight, pseudodata, fit, export_pyhf, hepdata)


def build_parser() -> argparse.ArgumentParser:
    """The ``mcdh`` argument parser with every subcommand."""
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


_NUMBER_LIST = re.compile(r"^-[\d.]+([eE][-+]?\d+)?(,[-+]?[\d.]+([eE][-+]?\d+)?)+$")


def _attach_negative_lists(argv: list[str]) -> list[str]:
    """``--region -1,5`` as ``--region=-1,5``: argparse takes a value starting with '-' that is not a single
    number for an option."""
    out: list[str] = []
    for a in argv:
        if out and _NUMBER_LIST.match(a) and out[-1].startswith("--") and "=" not in out[-1]:
            out[-1] = f"{out[-1]}={a}"
        else:
            out.append(a)
    return out


def _os_text(exc: OSError) -> str:
    where = f"{exc.filename}: " if exc.filename else ""
    return f"{where}{exc.strerror or exc}"


def main(argv: list[str] | None = None) -> int:
    """The ``mcdh`` command: run ``argv`` (default ``sys.argv[1:]``); returns the exit status (2 on bad input,
    with one line on stderr)."""
    import signal
    import threading

    if sys.stdout is None:  # started with file descriptor 1 closed (`mcdh ... >&-`): nowhere to print results
        if sys.stderr is not None:
            print("mcdh: error: standard output is closed: mcdh prints its results there (redirect it to a file or "
                  "/dev/null)", file=sys.stderr)
        return 2
    parser = build_parser()
    args = parser.parse_args(_attach_negative_lists(sys.argv[1:] if argv is None else list(argv)))
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
    except OSError as exc:  # the system refused a file: FileAccessError names the path the user gave
        print(f"mcdh {args.command}: error: {one_line(str(exc) if isinstance(exc, FileAccessError) else _os_text(exc))}",
              file=sys.stderr)
        return 2
    except MissingExtra as exc:
        print(f"mcdh {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"mcdh {args.command}: error: out of memory; use fewer events (or a streaming command: "
              "mcdh generate writes as it generates)", file=sys.stderr)
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

