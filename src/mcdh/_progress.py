"""The one progress-bar loop of mcdh: a tqdm bar on a terminal, silent elsewhere or when not wanted."""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def _ignore(n: int = 1) -> None:
    pass


@contextlib.contextmanager
def progress_bar(total: int, desc: str, unit: str, enabled: bool, initial: int = 0) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(n)``; it moves a bar of ``total`` steps when ``enabled`` and stderr is a terminal."""
    if not enabled:
        yield _ignore
        return
    from tqdm.auto import tqdm

    # disable=None: tqdm stays quiet when stderr is not a terminal (batch jobs, CI logs)
    bar: Any = tqdm(total=total, initial=initial, desc=desc, unit=unit, disable=None)
    try:
        yield bar.update
    finally:
        bar.close()


def ordered_map(fn: Callable[[T], R], items: Iterable[T], *, n_threads: int = 1, progress: bool = False,
                desc: str = "", unit: str = "it", size: Callable[[T], int] | None = None,
                total: int | None = None) -> list[R]:
    """``[fn(x) for x in items]`` on ``n_threads`` threads, results in input order, with a progress bar.

    ``size(x)`` is how many bar steps item ``x`` counts for (default 1;
    ``total`` must then be their sum). ``fn`` must release the GIL to gain
    from threads.
    """
    items = list(items)
    steps = size if size is not None else (lambda _x: 1)
    workers = min(n_threads, len(items))
    out: list[R] = []
    with progress_bar(total if total is not None else len(items), desc, unit, progress) as advance:
        with ThreadPoolExecutor(max_workers=workers) if workers > 1 else contextlib.nullcontext() as pool:
            results = map(fn, items) if pool is None else pool.map(fn, items)
            for x, r in zip(items, results):
                out.append(r)
                advance(steps(x))
    return out
