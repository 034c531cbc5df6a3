"""Helpers of the benchmark suite: the least disturbed of a few timings, and a fixed reference workload."""
import resource

import numpy as np


def cpu_time() -> float:
    """CPU seconds (user + system) of this process and of its finished children (``mcdh`` subprocesses)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def best_time(fn, repeats: int = 3, clock=cpu_time) -> float:
    """Smallest time of ``repeats`` calls of ``fn`` (seconds). CPU time by default: on a loaded machine the
    other processes stretch the wall time of a call but not its CPU time, so a same-run ratio of CPU times means
    the same on a busy machine as on a quiet one. Thread scaling needs the wall clock (``time.perf_counter``)."""
    best = float("inf")
    for _ in range(repeats):
        t0 = clock()
        fn()
        best = min(best, clock() - t0)
    return best


def best_ratio(fn_a, fn_b, repeats: int = 5, clock=cpu_time) -> float:
    """min time of ``fn_a`` over min time of ``fn_b``, the calls interleaved (a, b, a, b, ...): a load that comes
    and goes during the run weighs on both sides alike."""
    a = b = float("inf")
    for _ in range(repeats):
        t0 = clock()
        fn_a()
        t1 = clock()
        fn_b()
        t2 = clock()
        a, b = min(a, t1 - t0), min(b, t2 - t1)
    return a / b


def reference_work() -> float:
    """A fixed workload to measure mcdh's Python-level statistics against (~3 ms): a loop of small-array numpy
    operations, the mix of interpreter and numpy overhead the reach and window code has. A same-run ratio to it
    gates one code path alone; a ratio of two of mcdh's paths would read a speed-up of its denominator as a
    regression of the numerator."""
    x = np.linspace(0.1, 5.0, 80)
    total = 0.0
    for k in range(400):
        c = np.cumsum(x * (1.0 + k * 1e-3))
        v = 2.0 * (c - x.sum() * np.log1p(c / (c + 1.0)))
        total += float(v[int(np.argmax(v))])
    return total
