"""mcdh performance-regression benchmarks.

    python benchmarks/run.py                   # measure, write JSON, compare with the baseline
    python benchmarks/run.py --quick           # fewer events (a smoke run)
    python benchmarks/run.py --update-baseline # store this run as the new baseline
    python benchmarks/run.py --reproduce       # also time the full mcdh reproduce (stages, peak memory)

Every figure of merit is a ratio against a baseline measured in the same run
(numpy-vectorised RAMBO, single-thread run, bare RAMBO under the signal
generator, numpy rng.normal + np.histogram under the fused smearing, a fixed
RAMBO workload under ``mcdh reproduce``), so it means the same on a busy or
a quiet machine; absolute nanoseconds per event are reported next to the
targets for information. A ratio more than ``--tolerance`` (default 25 %)
worse than the stored baseline is flagged and the exit status is 1.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_BASELINE = HERE / "baseline.json"
DEFAULT_OUTPUT = HERE / "results" / "latest.json"

SQRT_S = 10.58
MASSES_4 = (0.0, 1.0, 2.0, 2.0)
MASSES_3 = (1.0, 2.0, 2.0)


def best_time(fn, repeats: int) -> float:
    """Smallest wall time of ``repeats`` calls (the least disturbed run)."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def bench_rambo(n_events: int, n_numpy: int, repeats: int) -> dict:
    import mcdh
    from mcdh.generate.phasespace import rambo_numpy_generate

    out = {}
    for label, masses in (("2to4_massive", MASSES_4), ("2to3_massive", MASSES_3)):
        n = len(masses)
        p = np.empty((n_events, n, 4))
        w = np.empty(n_events)
        mcdh.rambo(SQRT_S, masses, n_events, 1, out=(p, w), n_threads=1)  # warm pages and code
        t1 = best_time(lambda: mcdh.rambo(SQRT_S, masses, n_events, 1, out=(p, w), n_threads=1), repeats)
        t2 = best_time(lambda: mcdh.rambo(SQRT_S, masses, n_events, 1, out=(p, w), n_threads=2), repeats)
        tn = best_time(lambda: rambo_numpy_generate(SQRT_S, masses, n_numpy, 1), max(1, repeats - 1))
        ns1 = 1e9 * t1 / n_events
        ns2 = 1e9 * t2 / n_events
        nsn = 1e9 * tn / n_numpy
        out[f"rambo_{label}"] = {
            "ns_per_event_1thread": ns1,
            "ns_per_event_2threads": ns2,
            "ns_per_event_numpy": nsn,
            "ratio_speedup_vs_numpy": nsn / ns1,
            "ratio_thread_scaling_2": ns1 / ns2,
        }
    out["rambo_2to4_massive"]["target_ns_per_event_1thread"] = 100.0
    return out


def bench_background(n_events: int, repeats: int) -> dict:
    from mcdh.generate.background import generate_background
    from mcdh.generate.phasespace import rambo

    t_bkg = best_time(lambda: generate_background("gammaphi", 1.0, 2.0, n_events, 1, n_threads=1), repeats)
    t_raw = best_time(lambda: rambo(SQRT_S, (0.0, 1.0, 2.0, 2.0), n_events, 1, n_threads=1), repeats)
    return {
        "background_gammaphi": {
            "ns_per_event_1thread": 1e9 * t_bkg / n_events,
            # the acceptance, rounds and normalisation on top of bare RAMBO
            "ratio_overhead_vs_rambo": t_bkg / t_raw,
        }
    }


SIGNAL_POINTS = (("phi", "B1", 3.0), ("gammaphi", "B1", 3.0), ("gammaphi", "B1", 7.5))
SIGNAL_TARGETS = {"phi": 3.0e6, "gammaphi": 1.0e6}


def bench_signal(n_events: int, repeats: int) -> dict:
    """Native signal generator: throughput, thread scaling, unweighting, time to 0.1 % on sigma.

    The same-run baseline is bare RAMBO for the same final-state masses
    (``ratio_overhead_vs_rambo``: what the exact matrix element and the
    multi-channel mappings cost on top of flat phase space).
    """
    from mcdh.generate.phasespace import rambo
    from mcdh.generate.signal import generate_signal
    from mcdh.physics.model import DarkSector

    out = {}
    for process, bench, m_A in SIGNAL_POINTS:
        model = DarkSector.from_benchmark(bench, m_A)
        generate_signal(model, process, 1000, 1)  # load the compiled kernels
        t2 = best_time(lambda: generate_signal(model, process, n_events, 1, n_threads=2), repeats)
        t1 = best_time(lambda: generate_signal(model, process, n_events, 1, n_threads=1), max(1, repeats - 1))
        masses = (model.m_phi, model.m_chi, model.m_chi) if process == "phi" else (0.0, model.m_phi, model.m_chi, model.m_chi)
        tr = best_time(lambda: rambo(SQRT_S, masses, n_events, 1, n_threads=1), repeats)
        ev = generate_signal(model, process, n_events, 1)
        p = ev.parameters
        spread = p["sigma_err_fb"] * n_events**0.5 / p["sigma_fb"]  # relative spread of one event's estimate
        rate2 = n_events / t2
        out[f"signal_{process}_{bench}_{m_A:g}"] = {
            "weighted_events_per_s_2threads": rate2,
            "weighted_events_per_s_1thread": n_events / t1,
            "target_events_per_s_2threads": SIGNAL_TARGETS[process],
            "unweighting_efficiency": p["unweighting_efficiency"],
            "target_unweighting_efficiency": 0.10,
            "seconds_to_0.1pct_on_sigma_2threads": (spread / 1e-3) ** 2 / rate2,
            "ratio_overhead_vs_rambo": t1 / tr,
            "ratio_thread_scaling_2": t1 / t2,
        }
    return out


SMEAR_TARGET = 30.0e6
"""Smeared entries (copies) per second on one core."""

_MEMORY_PROBE = r"""
import sys, numpy as np
from mcdh.analysis.binning import mchichi_binning
from mcdh.analysis.smearing import smear_fill

def hwm():
    # peak resident set (kB) since the last reset
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])

n = int(sys.argv[2])
x = np.random.default_rng(1).uniform(1.0, 9.0, n)
w = np.ones(n)
b = mchichi_binning(4.0, 0.8, 10.0)
smear_fill(x[:10], w[:10], b)  # compile / load before the reading
with open("/proc/self/clear_refs", "w") as f:  # reset the peak to the current resident set
    f.write("5")
before = hwm()
if sys.argv[1] == "fused":
    smear_fill(x, w, b, seed=1)
else:
    rng = np.random.default_rng(1)
    sig = np.sqrt(6.6e-4**2 + 8.1e-3**2 * x**1.5 + 1.34e-2**2 * x**2)
    v = (x[:, None] + sig[:, None] * rng.normal(size=(n, 100))).ravel()
    np.histogram(v, bins=b.edges, weights=np.repeat(w / 100, 100))
print((hwm() - before) * 1024)
"""


def _extra_memory_bytes(kind: str, n_events: int) -> float:
    import subprocess

    r = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, kind, str(n_events)], capture_output=True, text=True,
                       cwd=tempfile.gettempdir())  # not the checkout: its mcdh/ would shadow the install
    if r.returncode != 0:  # no /proc peak reset (not Linux): not measured
        return float("nan")
    return float(r.stdout.strip().splitlines()[-1])


_ROOT_PROBE = r"""
import json, os, sys, tempfile, time
import numpy as np
from mcdh.generate.signal import SignalStream
from mcdh.io.root import RootWriter
from mcdh.physics.model import DarkSector

def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024

n = int(sys.argv[1])
model = DarkSector.from_benchmark("B1", 3.0)
list(SignalStream(model, "phi", 1000, 0, n_threads=2))  # compile / load the kernels
tmp = tempfile.mkdtemp()
# baseline 1: the same stream, events generated and dropped
t = time.perf_counter()
for chunk in SignalStream(model, "phi", n, 1, n_threads=2):
    pass
t_gen = time.perf_counter() - t
# baseline 2: the columns of one chunk written raw with numpy (np.save), scaled to n
from mcdh.io.root import _branches
chunk = next(iter(SignalStream(model, "phi", 131072, 2, n_threads=2)))
cols = _branches(chunk, 0, len(chunk))
t = time.perf_counter()
for k, v in cols.items():
    np.save(os.path.join(tmp, k + ".npy"), v)
t_npy = (time.perf_counter() - t) * n / len(chunk)
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
before = hwm()
t = time.perf_counter()
path = os.path.join(tmp, "s.root")
with RootWriter(path, tree="phi") as out:
    stream = SignalStream(model, "phi", n, 1, n_threads=2)
    for chunk in stream:
        out.write(chunk)
    out.set_parameters(stream.parameters)
t_all = time.perf_counter() - t
peak = hwm() - before
size = os.path.getsize(path)
print(json.dumps({"t_gen": t_gen, "t_all": t_all, "t_npy": t_npy, "peak": peak, "before": before, "size": size}))
"""


def bench_root(n_events: int) -> dict:
    """Signal events streamed to a ROOT file (SignalStream -> RootWriter, LZ4), in a fresh process.

    Rates: generation + write, and the write alone (total minus the
    generation-only pass of the same stream). Same-run baseline: writing the
    same columns raw with ``np.save`` (no ROOT framing, no compression).
    Memory: the peak resident set above the process's state before writing.
    """
    import subprocess

    r = subprocess.run([sys.executable, "-c", _ROOT_PROBE, str(n_events)], capture_output=True, text=True,
                       cwd=tempfile.gettempdir())
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    m = json.loads(r.stdout.strip().splitlines()[-1])
    t_write = max(m["t_all"] - m["t_gen"], 1e-9)
    return {
        "root_write_phi": {
            "events": n_events,
            "events_per_s_generate_and_write": n_events / m["t_all"],
            "events_per_s_write_only": n_events / t_write,
            "events_per_s_np_save": n_events / m["t_npy"],
            "ratio_write_vs_np_save": m["t_npy"] / t_write,
            "peak_extra_memory_mb": m["peak"] / 1e6,
            "resident_before_mb": m["before"] / 1e6,
            "bytes_per_event": m["size"] / n_events,
            "target_peak_extra_memory_mb": 1000.0,
        }
    }


def bench_smear(n_events: int, repeats: int) -> dict:
    """Fused smearing + histogram filling (A.1, 100 copies) against numpy's rng.normal + np.histogram.

    Rates count smeared entries (event copies) per second on one core. The
    memory figure is the growth of the peak resident set (VmHWM, reset just
    before) while filling, each method in a fresh process.
    """
    from mcdh.analysis.binning import mchichi_binning, v_binning
    from mcdh.analysis.smearing import Resolution, smear_fill

    rng = np.random.default_rng(2)
    x = rng.uniform(1.0, 9.0, n_events)
    e = rng.uniform(0.25, 5.0, n_events)
    w = rng.random(n_events)
    b_m = mchichi_binning(4.0, 0.8, 10.0)
    b_v = v_binning(8.0)
    copies = n_events * 100
    smear_fill(x[:10], w[:10], b_m)
    smear_fill(e[:10], w[:10], b_v, mode="sqrt_abs_v", y=x[:10], e_bar=4.5, m_A=4.0)
    t_m = best_time(lambda: smear_fill(x, w, b_m, seed=1), repeats)
    t_v = best_time(lambda: smear_fill(e, w, b_v, mode="sqrt_abs_v", y=x, e_bar=4.5, m_A=4.0, seed=1), repeats)
    w71 = np.repeat(w[: n_events // 4, None], 71, axis=1)
    t_k = best_time(lambda: smear_fill(x[: n_events // 4], w71, b_m, seed=1), repeats)
    res = Resolution()
    n_np = n_events // 4
    sig = res.sigma(x[:n_np])

    def numpy_m():
        g = np.random.default_rng(1)
        v = (x[:n_np, None] + sig[:, None] * g.normal(size=(n_np, 100))).ravel()
        np.histogram(v, bins=b_m.edges, weights=np.repeat(w[:n_np] / 100, 100))

    sig_e, sig_y = res.sigma(e[:n_np]), sig

    def numpy_v():
        g = np.random.default_rng(1)
        ee = e[:n_np, None] + sig_e[:, None] * g.normal(size=(n_np, 100))
        mm = x[:n_np, None] + sig_y[:, None] * g.normal(size=(n_np, 100))
        v = np.sqrt(np.abs((ee - 4.5) * (mm - 4.0))).ravel()
        np.histogram(v, bins=b_v.edges, weights=np.repeat(w[:n_np] / 100, 100))

    t_np = best_time(numpy_m, max(1, repeats - 1))
    t_np_v = best_time(numpy_v, max(1, repeats - 1))
    rate_m, rate_v, rate_np = copies / t_m, copies / t_v, n_np * 100 / t_np
    mem_n = n_events // 2
    mem_fused = _extra_memory_bytes("fused", mem_n)
    mem_numpy = _extra_memory_bytes("numpy", mem_n)
    return {
        "smear_fill_mchichi": {
            "entries_per_s_1thread": rate_m,
            "target_entries_per_s_1thread": SMEAR_TARGET,
            "entries_per_s_numpy": rate_np,
            "ratio_speedup_vs_numpy": rate_m / rate_np,
            "entries_per_s_71_theta_columns": (n_events // 4) * 100 / t_k,
            "extra_memory_mb_fused": mem_fused / 2**20,
            "extra_memory_mb_numpy": mem_numpy / 2**20,
            "memory_events": mem_n,
        },
        "smear_fill_sqrt_abs_v": {
            "entries_per_s_1thread": rate_v,
            "target_entries_per_s_1thread": SMEAR_TARGET,
            "entries_per_s_numpy": n_np * 100 / t_np_v,
            "ratio_speedup_vs_numpy": rate_v * t_np_v / (n_np * 100),
        },
    }


def bench_reproduce(quick: bool) -> dict:
    """``mcdh reproduce`` with default statistics in a child process: stages, total, peak memory.

    The same-run baseline is 10 M single-thread RAMBO 2->4 events, so the
    ratio tracks the cost of the whole job in units of a fixed kernel.
    """
    import subprocess

    import mcdh

    p = np.empty((1_000_000, 4, 4))
    w = np.empty(1_000_000)
    t_unit = 10 * best_time(lambda: mcdh.rambo(SQRT_S, MASSES_4, 1_000_000, 1, out=(p, w), n_threads=1), 3)
    extra = ["--events", "20000", "--background-events", "20000", "--xsec-events", "20000"] if quick else []
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "mcdh.cli", "reproduce", "--out", tmp, "--quiet", *extra], check=True, cwd=tmp)
        total = time.perf_counter() - t0
        summary = json.loads((Path(tmp) / "summary.json").read_text())
    return {
        "reproduce": {
            "seconds_total": total,
            "target_seconds": 600.0,
            "peak_memory_mb": summary["peak_memory_mb"],
            "target_peak_memory_mb": 4096.0,
            **{f"seconds_{k.split(':')[0].split(' (')[0].replace(' ', '_')}": v for k, v in summary["stage_seconds"].items()},
            "ratio_overhead_vs_rambo_10M": total / t_unit,
        }
    }


def compare(current: dict, baseline: dict, tolerance: float) -> list[str]:
    """Flag ratios that got worse than the baseline by more than ``tolerance``."""
    flags = []
    for bench, metrics in current.items():
        base = baseline.get(bench, {})
        for key, value in metrics.items():
            if not key.startswith("ratio_") or key not in base:
                continue
            ref = base[key]
            # overheads should stay small, speedups and scalings large
            worse = value > ref * (1 + tolerance) if "overhead" in key else value < ref * (1 - tolerance)
            if worse:
                flags.append(f"{bench}.{key}: {value:.3g} vs baseline {ref:.3g}")
    return flags


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer events (smoke run)")
    ap.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write this run's JSON")
    ap.add_argument("--baseline", type=Path, default=DEFAULT_BASELINE, help="stored baseline JSON")
    ap.add_argument("--tolerance", type=float, default=0.25, help="allowed relative worsening of a ratio")
    ap.add_argument("--update-baseline", action="store_true", help="write this run as the baseline")
    ap.add_argument("--reproduce", action="store_true", help="also time the full 'mcdh reproduce' (about 4 minutes)")
    args = ap.parse_args(argv)

    n_events = 200_000 if args.quick else 2_000_000
    n_numpy = 100_000 if args.quick else 500_000
    repeats = 2 if args.quick else 5
    results = {}
    results.update(bench_rambo(n_events, n_numpy, repeats))
    results.update(bench_background(n_events // 4, repeats))
    results.update(bench_signal(n_events // 2, max(2, repeats - 2)))
    results.update(bench_smear(n_events // 10, repeats))
    results.update(bench_root(1_000_000 if args.quick else 10_000_000))
    if args.reproduce:
        results.update(bench_reproduce(args.quick))
    record = {
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count()},
        "quick": args.quick,
        "results": results,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.output.with_suffix(".part")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(tmp, args.output)

    for bench, metrics in results.items():
        print(bench)
        for key, value in metrics.items():
            print(f"  {key:32s} {value:10.3f}")
    r4 = results["rambo_2to4_massive"]
    ok_target = r4["ns_per_event_1thread"] <= r4["target_ns_per_event_1thread"]
    print(f"target RAMBO 2->4 <= 100 ns/event on one core: {'met' if ok_target else 'MISSED'}")
    for bench, r in results.items():
        if bench.startswith("signal_"):
            ok_rate = r["weighted_events_per_s_2threads"] >= r["target_events_per_s_2threads"]
            ok_eff = r["unweighting_efficiency"] >= r["target_unweighting_efficiency"]
            print(
                f"target {bench}: >= {r['target_events_per_s_2threads']:.0e} weighted events/s on 2 threads "
                f"{'met' if ok_rate else 'MISSED'}; unweighting efficiency >= 10 % {'met' if ok_eff else 'MISSED'}"
            )

    for bench in ("smear_fill_mchichi", "smear_fill_sqrt_abs_v"):
        r = results[bench]
        ok = r["entries_per_s_1thread"] >= r["target_entries_per_s_1thread"]
        print(f"target {bench}: >= 3e7 smeared entries/s on one core {'met' if ok else 'MISSED'} "
              f"({r['ratio_speedup_vs_numpy']:.1f}x numpy)")
    r = results["root_write_phi"]
    print(f"ROOT ntuple, {r['events']:.0e} phi events: {r['events_per_s_write_only'] / 1e6:.2f} M events/s written "
          f"({r['ratio_write_vs_np_save']:.2f}x np.save), peak extra memory {r['peak_extra_memory_mb']:.0f} MB "
          f"(target <= 1000 MB: {'met' if r['peak_extra_memory_mb'] <= r['target_peak_extra_memory_mb'] else 'MISSED'})")
    if "reproduce" in results:
        r = results["reproduce"]
        ok = r["seconds_total"] <= r["target_seconds"] and r["peak_memory_mb"] <= r["target_peak_memory_mb"]
        print(f"target mcdh reproduce <= 600 s and <= 4 GB: {'met' if ok else 'MISSED'} "
              f"({r['seconds_total']:.0f} s, {r['peak_memory_mb']:.0f} MB)")

    status = 0
    if args.baseline.exists() and not args.update_baseline:
        flags = compare(results, json.loads(args.baseline.read_text())["results"], args.tolerance)
        if flags:
            print("REGRESSIONS against", args.baseline)
            for f in flags:
                print("  " + f)
            status = 1
        else:
            print(f"no regression against {args.baseline} (tolerance {args.tolerance:.0%})")
    if args.update_baseline:
        args.baseline.write_text(json.dumps(record, indent=2) + "\n")
        print("baseline written to", args.baseline)
    print("results written to", args.output)
    return status


if __name__ == "__main__":
    sys.exit(main())
