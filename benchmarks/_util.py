"""Helpers of the benchmark suite: the least disturbed of a few wall times."""
import time


def best_time(fn, repeats: int = 3) -> float:
    """Smallest wall time of ``repeats`` calls of ``fn`` (seconds)."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best
