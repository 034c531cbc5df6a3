"""Helpers of the benchmark suite: the least disturbed of a few timings."""
import resource


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
