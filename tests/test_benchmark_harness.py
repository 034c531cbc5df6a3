"""The benchmark harness's regression logic (no timing is asserted here)."""
import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location("bench_run", Path(__file__).parent.parent / "benchmarks" / "run.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def test_compare_flags_only_ratios_worse_than_tolerance():
    base = {"a": {"ratio_speedup_vs_numpy": 10.0, "ratio_overhead_vs_rambo": 2.0, "ns_per_event_1thread": 50.0}}
    same = {"a": {"ratio_speedup_vs_numpy": 8.0, "ratio_overhead_vs_rambo": 2.4, "ns_per_event_1thread": 500.0}}
    assert bench.compare(same, base, 0.25) == []
    worse = {"a": {"ratio_speedup_vs_numpy": 7.0, "ratio_overhead_vs_rambo": 2.6}}
    flags = bench.compare(worse, base, 0.25)
    assert len(flags) == 2 and any("speedup" in f for f in flags) and any("overhead" in f for f in flags)


def test_stored_baseline_has_the_tracked_ratios():
    import json

    data = json.loads((Path(__file__).parent.parent / "benchmarks" / "baseline.json").read_text())["results"]
    r = data["rambo_2to4_massive"]
    assert r["ratio_speedup_vs_numpy"] > 1 and r["ratio_thread_scaling_2"] > 1


def test_baseline_tracks_the_signal_generator():
    import json

    data = json.loads((Path(__file__).parent.parent / "benchmarks" / "baseline.json").read_text())["results"]
    for key in ("signal_phi_B1_3", "signal_gammaphi_B1_3", "signal_gammaphi_B1_7.5"):
        r = data[key]
        assert r["ratio_overhead_vs_rambo"] > 1 and r["ratio_thread_scaling_2"] > 1
        assert r["unweighting_efficiency"] >= r["target_unweighting_efficiency"]


def test_baseline_tracks_the_analysis_chain():
    import json

    data = json.loads((Path(__file__).parent.parent / "benchmarks" / "baseline.json").read_text())["results"]
    for key in ("smear_fill_mchichi", "smear_fill_sqrt_abs_v"):
        r = data[key]
        assert r["ratio_speedup_vs_numpy"] > 1
        assert r["entries_per_s_1thread"] >= r["target_entries_per_s_1thread"]
    # never materialising the copies: no measurable memory growth, unlike numpy
    assert data["smear_fill_mchichi"]["extra_memory_mb_fused"] < 0.1 * data["smear_fill_mchichi"]["extra_memory_mb_numpy"]
    r = data["reproduce"]
    assert r["seconds_total"] <= r["target_seconds"] and r["peak_memory_mb"] <= r["target_peak_memory_mb"]


def test_baseline_tracks_root_writing():
    import json

    data = json.loads((Path(__file__).parent.parent / "benchmarks" / "baseline.json").read_text())["results"]
    r = data["root_write_phi"]
    assert r["events"] == 10_000_000
    assert r["peak_extra_memory_mb"] <= r["target_peak_extra_memory_mb"]
    # bounded memory: far below the 10^7-event momenta alone (10^7 x 3 x 4 x 8 bytes = 960 MB)
    assert r["peak_extra_memory_mb"] < 0.5 * 960
    assert r["events_per_s_write_only"] > 1e6 and r["ratio_write_vs_np_save"] > 0
