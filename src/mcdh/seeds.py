"""Every random stream of mcdh, derived from one integer seed: the namespaces in one place.

A run's seed is split into independent streams by numpy's ``SeedSequence``; each top-level use below has its
own namespace, so no two of them share random numbers and none depends on which others a run computes, in
which order, or on how many threads or processes run them. Inside a stream, the generators split further
(phase-space chunks: :mod:`mcdh.generate.phasespace`; a sample's pilot and main runs; the smearing copies).

=========================  ===============================================================================
namespace                  stream
=========================  ===============================================================================
``(1, bench, MeV, ch)``    an analysis point (:func:`point`): its signal, background and smearing streams
``(2, bench, proc, MeV)``  one point of the cross-section grid of figure 4 (:func:`cross_section`)
``(6,)``, ``(7, k)``,      the samples drawn in figures 6, 7 (panel k) and 9 (:func:`figure`)
``(9,)``
``[seed, 17]``             pseudo-data (:func:`pseudo_data`)
``[seed, channel, what]``  the fit's template samples (:func:`templates`)
``seed``, ``[seed, 1]``,   toys of the fit, of the look-elsewhere effect and of the goodness of fit (:func:`toys`)
``[seed, 2]``
=========================  ===============================================================================

Benchmarks, channels and processes enter by their index in ``BENCHMARKS``/``CHANNELS`` (99: a model that is
not a benchmark), masses in MeV.
"""
from __future__ import annotations

import numpy as np

from .channels import CHANNELS

POINT, CROSS_SECTION = 1, 2
"""The leading spawn keys of an analysis point and of a cross-section grid point."""
NOT_A_BENCHMARK = 99
"""The benchmark index of a model that is not one of the paper's benchmarks."""
TOYS = {"fit": None, "look_elsewhere": 1, "goodness_of_fit": 2}
"""The namespace of each kind of toy (None: the seed itself)."""
PSEUDO_DATA = 17


def _benchmark_index(benchmark: str | None) -> int:
    from .physics.model import BENCHMARKS

    return list(BENCHMARKS).index(benchmark) if benchmark in BENCHMARKS else NOT_A_BENCHMARK


def point(seed: int, benchmark: str | None, m_A: float, channel: str) -> np.random.SeedSequence:
    """The stream of one analysis point (benchmark, m_A in GeV, channel), independent of every other point."""
    return np.random.SeedSequence(int(seed), spawn_key=(POINT, _benchmark_index(benchmark), int(round(m_A * 1000)),
                                                        CHANNELS.index(channel)))


def cross_section(seed: int, benchmark: str, process: str, m_A: float) -> np.random.SeedSequence:
    """The stream of one point of the cross-section grid (figure 4)."""
    key = (CROSS_SECTION, _benchmark_index(benchmark.upper()), CHANNELS.index(process), int(round(m_A * 1000)))
    return np.random.SeedSequence(seed, spawn_key=key)


def figure(seed: int, number: int, *panel: int) -> np.random.SeedSequence:
    """The stream of the samples drawn in figure ``number`` (and ``panel``)."""
    return np.random.SeedSequence(seed, spawn_key=(number, *panel))


def pseudo_data(seed: int) -> np.random.SeedSequence:
    """The stream of a pseudo-data set."""
    return np.random.SeedSequence([seed, PSEUDO_DATA])


def templates(seed: int, channel: str, what: int) -> int:
    """The integer seed of one template sample of the fit (``what`` numbers the samples of a channel)."""
    return int(np.random.SeedSequence([seed, CHANNELS.index(channel), what]).generate_state(1)[0])


def toys(seed: int, kind: str, n: int) -> list[np.random.SeedSequence]:
    """The streams of ``n`` toys of ``kind`` (``"fit"``, ``"look_elsewhere"``, ``"goodness_of_fit"``)."""
    space = TOYS[kind]
    return np.random.SeedSequence(seed if space is None else [seed, space]).spawn(n)
