"""Type aliases of the public API."""
from __future__ import annotations

from typing import TypeAlias

import numpy as np

Seed: TypeAlias = "int | np.random.Generator | None"
"""A random source: a non-negative integer seed, a numpy Generator, or None (fresh entropy)."""
