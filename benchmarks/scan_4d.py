"""The large-scan benchmark of issue 28 (not an asv benchmark: it runs for minutes).

A 4-d scan (m_A', m_phi / m_A', m_chi / m_A', theta) of 10 x 10 x 10 x 10 = 10^4 points (phi channel, N_b = 1
and 10^4, expected smearing, the paper's 10^5 signal and 10^5 background events a point) on a dask LocalCluster,
run as a user runs it (``mcdh scan``). It is killed (SIGKILL to its whole process group: the command and its dask
workers, as a crash would) after ``--kill-after`` seconds, then resumed with the same command. Printed: the
wall time of each run, the points saved before the kill and computed after it, and the peak resident memory of
each worker process (sampled every 0.2 s). That a resumed scan equals an uninterrupted one is the tests' part
(tests/test_cli_files.py).

    python benchmarks/scan_4d.py --out /tmp/scan4d [--kill-after 60] [--workers 2] [--events 100000]
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np


def command(out: Path, workers: int, events: int) -> list[str]:
    """The mcdh scan command line of the benchmark grid."""
    masses = ",".join(f"{m:g}" for m in np.round(np.linspace(1.5, 7.5, 10), 3))
    phi = ",".join(f"{r:g}" for r in np.round(np.linspace(0.02, 0.2, 10), 3))
    chi = ",".join(f"{r:g}" for r in np.round(np.linspace(0.21, 0.39, 10), 3))
    theta = ",".join(f"{t:.3g}" for t in np.geomspace(1e-6, 1e-2, 10))
    return [sys.executable, "-m", "mcdh", "scan", "--out", str(out), "--channels", "phi", "--mA-list", masses,
            "--mphi-ratio-list", phi, "--mchi-ratio-list", chi, "--theta-list", theta, "--nb-list", "1,1e4",
            "--events", str(events), "--background-events", str(events), "--smearing", "expected",
            "--workers", str(workers), "--quiet"]


def run(cmd: list[str], kill_after: float | None) -> tuple[float, dict[int, float], int]:
    """Run ``cmd`` in its own process group (killed after ``kill_after`` s); returns (wall seconds, peak RSS in
    MB of each process of the group that is not the command itself, exit status)."""
    import psutil  # here, not at the top: asv imports every module of benchmarks/ to find its benchmarks

    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, start_new_session=True)
    peaks: dict[int, float] = {}
    done = threading.Event()

    def sample():
        while not done.is_set():
            try:
                for child in psutil.Process(proc.pid).children(recursive=True):
                    try:
                        rss = child.memory_info().rss / 2**20
                    except psutil.Error:
                        continue
                    if "dask" in " ".join(child.cmdline()) or rss > 150:  # the workers, not the resource tracker
                        peaks[child.pid] = max(peaks.get(child.pid, 0.0), rss)
            except psutil.Error:
                pass
            time.sleep(0.2)

    threading.Thread(target=sample, daemon=True).start()
    try:
        rc = proc.wait(timeout=kill_after)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        rc = proc.wait()
    done.set()
    return time.perf_counter() - t0, peaks, rc


def main() -> int:
    """Run the benchmark (see the module's docstring)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--kill-after", type=float, default=60.0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--events", type=int, default=100_000)
    args = p.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    cmd = command(args.out, args.workers, args.events)
    wall1, peaks1, rc1 = run(cmd, args.kill_after)
    saved = len(list((args.out / "points").glob("*.json")))
    print(f"first run: killed after {wall1:.1f} s (exit {rc1}), {saved} of 1000 tasks saved")
    wall2, peaks2, rc2 = run(cmd, None)
    rows = (args.out / "results.csv").read_text().count("\n") - 1 if rc2 == 0 else 0
    print(f"resumed: {wall2:.1f} s (exit {rc2}), {1000 - saved} tasks computed, {rows} rows "
          f"({rows // 2} points x 2 N_b)")
    print(f"total {wall1 + wall2:.1f} s wall; per task {(wall1 + wall2) * args.workers / 1000:.3f} worker-s")
    peaks = sorted(peaks1.values()) + sorted(peaks2.values())
    print("peak RSS per worker process (MB): " + ", ".join(f"{m:.0f}" for m in peaks))
    return 0 if rc2 == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
