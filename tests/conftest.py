"""Shared test helpers: the installed ``mcdh`` command."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def mcdh_command() -> list[str]:
    """The installed console script (next to this Python, else on PATH), as a real user runs it."""
    here = Path(sys.executable).with_name("mcdh")
    exe = str(here) if here.exists() else shutil.which("mcdh")
    if exe is None:
        pytest.fail("the mcdh command is not installed: run `pip install '.[test]'` first")
    return [exe]


@pytest.fixture
def mcdh():
    """Run ``mcdh ARGS...`` as a subprocess (the installed command); returns the CompletedProcess."""

    def run(*args, **kwargs):
        return subprocess.run([*mcdh_command(), *map(str, args)], capture_output=True, text=True, **kwargs)

    return run
