"""The cost of ``import mcdh`` (issue 27): lazy public names (PEP 562), numba and scipy loaded by the parts that
use them. Target: <= 0.15 s above numpy; ``timeraw`` runs it in a fresh interpreter each time."""


def timeraw_import_mcdh():
    return "import mcdh", "import numpy"


def timeraw_import_cli():
    """``mcdh --version`` pays this: the parser of every command."""
    return "import mcdh.cli", "import numpy"
