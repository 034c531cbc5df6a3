"""mcdh generate / analyze / scan: file contracts, exit status 2 on bad input, resumable scans."""
import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import mcdh_command
from mcdh.cli import main
from mcdh.io import read_events

DATA = Path(__file__).parent / "data"



@pytest.mark.parametrize("process", ["phi", "gammaphi"])
def test_generate_signal_root_contract(tmp_path, process):
    import uproot

    out = tmp_path / "sig.root"
    assert main(["generate", "signal", "--process", process, "--benchmark", "B1", "--mA", "3.0", "--events", "3000",
                 "--seed", "5", "--output", str(out), "--quiet", "--json"]) == 0
    with uproot.open(out) as f:
        tree = f[process]
        assert tree.num_entries == 3000
        w = tree["__weight__"].array(library="np")
        assert np.array_equal(tree["__event__"].array(library="np"), np.arange(3000))
        meta = json.loads(str(f["mcdh_parameters"]))
    sigma = meta["trees"][process]["parameters"]["sigma_fb"]
    assert w.sum() == pytest.approx(sigma, rel=1e-12)
    from mcdh.generate.signal import cross_section
    from mcdh.physics.model import DarkSector

    ref = cross_section(DarkSector.from_benchmark("B1", 3.0), process, 3000, 5)
    assert sigma == pytest.approx(ref.sigma_fb, rel=1e-12)  # same seed, same events, same sigma


def test_generate_same_seed_same_file_contents(tmp_path):
    for name in ("a.lhe", "b.lhe"):
        assert main(["generate", "signal", "--process", "phi", "--benchmark", "B2", "--mA", "4.5", "--events", "500",
                     "--seed", "3", "--output", str(tmp_path / name), "--quiet"]) == 0
    assert (tmp_path / "a.lhe").read_bytes() == (tmp_path / "b.lhe").read_bytes()


def test_generate_background_and_analyze_round_trip(tmp_path, capsys):
    sig, bkg = tmp_path / "s.hepmc", tmp_path / "b.root"
    assert main(["generate", "signal", "--process", "phi", "--benchmark", "B1", "--mA", "6.0", "--events", "3000",
                 "--output", str(sig), "--quiet", "--frame", "lab"]) == 0
    assert main(["generate", "background", "--channel", "phi", "--benchmark", "B1", "--mA", "6.0", "--events", "3000",
                 "--output", str(bkg), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["analyze", str(sig), "--background", str(bkg), "--nb", "10", "--json", "--output", str(tmp_path / "h.root")]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["channel"] == "phi" and res["events"] == 3000
    assert 0 < res["sel_sig"] <= res["resc_sig"] and res["sel_bkg"] <= 10 * (1 + 1e-12)
    assert res["mchichi_min"] < 6.0 < res["mchichi_max"]
    from mcdh.io.root import read_histogram

    h = read_histogram(tmp_path / "h.root", "h_signal")
    assert h.values().sum() > 0
    # the same analysis of the same events read from ROOT gives the same numbers
    root_sig = tmp_path / "s.root"
    from mcdh.io import write_events

    write_events(root_sig, read_events(sig))
    assert main(["analyze", str(root_sig), "--background", str(bkg), "--nb", "10", "--json"]) == 0
    res2 = json.loads(capsys.readouterr().out)
    assert {k: res2[k] for k in ("sel_sig", "sel_bkg", "m2loglike", "eps95")} == {k: res[k] for k in ("sel_sig", "sel_bkg", "m2loglike", "eps95")}


def test_analyze_madgraph_file_needs_roles_and_model(tmp_path, mcdh):
    r = mcdh("analyze", str(DATA / "madgraph-wbj-head.lhe"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "madgraph-wbj-head.lhe" in r.stderr and "--roles" in r.stderr


@pytest.mark.parametrize("args, word", [
    (["generate", "signal", "--process", "phi", "--benchmark", "B1", "--mA", "3", "--events", "10", "--output", "x.csv"], "output"),
    (["generate", "signal", "--process", "phi", "--benchmark", "B1", "--mA", "11", "--events", "10", "--output", "x.root"], "masses"),
    (["generate", "signal", "--process", "phi", "--benchmark", "B1", "--mA", "3", "--events", "0", "--output", "x.lhe"], "n_events"),
    (["generate", "background", "--channel", "phi", "--events", "10", "--output", "x.root"], "--benchmark"),
    (["scan", "--out", "scan", "--mA-list", "3", "--eps-list", "2"], "eps"),
    (["analyze", "missing.root"], "no such file"),
])
def test_bad_arguments_exit_2_and_leave_nothing(tmp_path, args, word, mcdh):
    r = mcdh(*args, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1 and word in r.stderr
    assert [p.name for p in tmp_path.iterdir()] == []


def test_corrupt_input_file_exit_2(tmp_path, mcdh):
    bad = tmp_path / "s.lhe"
    bad.write_text("<LesHouchesEvents version=\"3.0\">\n<init>\n11 -11 5 5 0 0 0 0 4 1\n1 0 1 1\n</init>\n<event>\n3 1 1")
    r = mcdh("analyze", str(bad), "--benchmark", "B1", "--mA", "3")
    assert r.returncode == 2 and str(bad) in r.stderr and "line" in r.stderr


SCAN_ARGS = ["--mA-list", "2.4,3.6,4.8", "--channels", "phi,gammaphi", "--theta-list", "1e-4,3e-4", "--nb-list", "1,1e4",
             "--events", "3000", "--background-events", "3000", "--quiet"]


def _csv(path):
    return (path / "results.csv").read_text()


@pytest.mark.slow
def test_scan_killed_and_resumed_equals_uninterrupted(tmp_path, mcdh):
    ref = tmp_path / "ref"
    assert mcdh("scan", "--out", str(ref), "--serial", *SCAN_ARGS).returncode == 0
    run = tmp_path / "run"
    proc = subprocess.Popen([*mcdh_command(), "scan", "--out", str(run), "--serial", *SCAN_ARGS],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.time()
    while time.time() - t0 < 300:
        done = list((run / "points").glob("*.json")) if (run / "points").exists() else []
        if len(done) >= 2 or proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    n_before = len(list((run / "points").glob("*.json")))
    assert 2 <= n_before < 6, "the scan should have been killed midway"
    assert not (run / "results.csv").exists()
    r = mcdh("scan", "--out", str(run), "--serial", *SCAN_ARGS)
    assert r.returncode == 0, r.stderr
    assert _csv(run) == _csv(ref)
    rows = json.loads((run / "results.json").read_text())
    assert len(rows) == 3 * 2 * 2 * 2
    # a different grid in the same folder is refused, not mixed in
    r = mcdh("scan", "--out", str(run), "--serial", *SCAN_ARGS[:-1], "--seed", "2", "--quiet")
    assert r.returncode == 2 and "different scan" in r.stderr


@pytest.mark.slow
def test_scan_local_cluster_equals_serial(tmp_path):
    from mcdh.scan import ScanGrid, run_scan

    grid = ScanGrid(masses=(3.0, 6.0), channels=("phi", "gammaphi"), thetas=(1e-4,), n_b=(1.0, 1e4),
                    n_signal=2000, n_background=2000, seed=4)
    serial = run_scan(grid, tmp_path / "serial", serial=True, progress=False)
    dask = run_scan(grid, tmp_path / "dask", n_workers=2, progress=False)
    assert dask == serial
    assert _csv(tmp_path / "dask") == _csv(tmp_path / "serial")


def test_scan_recomputes_point_files_with_wrong_values(tmp_path):
    """Point files checked for values on resume: NaN, a string, a duplicated row, an edited eps95 (its digest
    no longer matches) - each point is recomputed, never copied into results.csv."""
    from mcdh.scan import ScanGrid, run_scan

    grid = ScanGrid(masses=(3.0, 6.0), channels=("phi",), thetas=(1e-4, 3e-4), n_b=(1.0,), n_signal=2000,
                    n_background=2000, seed=4)
    ref = run_scan(grid, tmp_path / "ref", serial=True, progress=False)
    out = tmp_path / "run"
    run_scan(grid, out, serial=True, progress=False)
    files = sorted((out / "points").glob("*.json"))
    edits = [lambda rows: rows[0].update(m2loglike=float("nan")), lambda rows: rows[0].update(sel_sig="12"),
             lambda rows: rows.append(dict(rows[0])), lambda rows: rows[0].update(eps95=rows[0]["eps95"] * 0.5)]
    for k, edit in enumerate(edits):
        path = files[k % len(files)]
        data = json.loads(path.read_text())
        edit(data["rows"])
        if k < 3:  # a tool that also rewrote the digest: the values themselves are refused
            from mcdh.scan import rows_digest

            data["digest"] = rows_digest(data["rows"])
        path.write_text(json.dumps(data))
        assert run_scan(grid, out, serial=True, progress=False) == ref, k
        assert _csv(out) == _csv(tmp_path / "ref")


def test_scan_over_mass_ratios(tmp_path, mcdh):
    """A scan over (m_A, m_phi/m_A, m_chi/m_A, theta) with expected smearing: combinations outside the model are
    left out and counted, each row is the Study's number for that model, and a lost point file is recomputed to the
    same rows."""
    from mcdh.physics.model import DarkSector
    from mcdh.scan import ScanGrid, run_scan
    from mcdh.study import Study

    grid = ScanGrid(masses=(3.0, 6.0), m_phi_ratio=(0.1, 0.3), m_chi_ratio=(0.2, 0.4), channels=("phi",),
                    thetas=(1e-5, 1e-4), n_b=(1.0,), n_signal=3000, n_background=3000, seed=4, smearing="expected")
    assert len(grid.tasks()) == 4 and len(grid.outside_model()) == 4  # m_chi > m_phi and 2 m_chi + m_phi < m_A
    rows = run_scan(grid, tmp_path / "s", serial=True, progress=False)
    assert len(rows) == 4 * 2
    assert {(r.m_phi, r.m_chi) for r in rows if r.mA == 6.0} == {(0.1 * 6.0, 0.2 * 6.0), (0.1 * 6.0, 0.4 * 6.0)}
    study = Study(n_signal=3000, n_background=3000, seed=4, smearing="expected", n_threads=1)
    r = rows[-1]
    model = DarkSector(r.mA, r.m_chi, r.m_phi, theta=1e-4)
    # the scan's histograms from the decay moments, the table's replayed (with the variance): equal to rounding
    assert study.table_row(model, eps=r.eps, theta=r.theta).sel_sig == pytest.approx(r.sel_sig, rel=1e-12)
    assert study.eps_reach(model, theta=r.theta).eps == pytest.approx(r.eps95, rel=1e-9)
    files = sorted((tmp_path / "s" / "points").glob("*.json"))
    assert len(files) == 4 and "_phi0.1_chi0.2_" in files[0].name
    files[1].unlink()
    assert run_scan(grid, tmp_path / "s", serial=True, progress=False) == rows
    r = mcdh("scan", "--out", tmp_path / "none", "--mA-list", "1.2", "--mphi-ratio-list", "0.5", "--mchi-ratio-list",
             "0.4", "--serial")
    assert r.returncode == 2 and "outside the model" in r.stderr and "--mA-list" in r.stderr.splitlines()[-1]


def test_a_failing_point_does_not_stop_the_scan(tmp_path, monkeypatch):
    """One task raising: the others run and are saved, the scan ends with one error naming it, and a rerun
    computes only that point."""
    import mcdh.scan as scan

    grid = scan.ScanGrid(masses=(3.0, 4.5, 6.0), channels=("phi",), n_b=(1.0,), n_signal=2000, n_background=2000)
    real = scan.run_task
    calls = []

    def flaky(spec, task):
        calls.append(task)
        if task[1] == 4.5:
            raise RuntimeError("boom")
        return real(spec, task)

    monkeypatch.setattr(scan, "run_task", flaky)
    with pytest.raises(scan.TasksFailed, match=r"1 of 3 points failed, the first \('B1', 4.5, 'phi'\): RuntimeError"):
        scan.run_scan(grid, tmp_path / "s", serial=True, progress=False)
    assert len(calls) == 3 and scan.saved_points(grid, tmp_path / "s") == 2
    monkeypatch.setattr(scan, "run_task", lambda spec, task: calls.append(task) or real(spec, task))
    rows = scan.run_scan(grid, tmp_path / "s", serial=True, progress=False)
    assert calls[3:] == [("B1", 4.5, "phi")] and len(rows) == 3


@pytest.mark.slow
def test_scan_on_an_existing_scheduler(tmp_path, mcdh):
    """--scheduler ADDRESS: the tasks go to a cluster that is already running (here 1 worker)."""
    from dask.distributed import LocalCluster

    from mcdh.scan import ScanGrid, run_scan

    grid = ScanGrid(masses=(4.5,), channels=("phi",), n_signal=2000, n_background=2000, seed=6)
    serial = run_scan(grid, tmp_path / "serial", serial=True, progress=False)
    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None) as cluster:
        remote = run_scan(grid, tmp_path / "remote", scheduler=cluster.scheduler_address, progress=False)
    assert remote == serial
    r = mcdh("scan", "--out", str(tmp_path / "x"), "--mA-list", "3", "--scheduler", "tcp://127.0.0.1:9", "--quiet")
    assert r.returncode == 2 and "scheduler" in r.stderr
    assert not (tmp_path / "x").exists()  # nothing written for a scan that could not start


def test_analyze_foreign_lhe_with_model_options(tmp_path, capsys):
    """A signal LHE without mcdh's records (MadGraph-like) analysed with the model given on the command line."""
    import re

    ours = tmp_path / "ours.lhe"
    assert main(["generate", "signal", "--process", "phi", "--benchmark", "B1", "--mA", "4.5", "--events", "3000",
                 "--seed", "2", "--eps", "3e-4", "--output", str(ours), "--quiet"]) == 0
    text = ours.read_text()
    for pattern in (r"<mcdh.*?</mcdh>\n", r"<initrwgt>.*?</initrwgt>\n", r"<rwgt>.*?</rwgt>\n"):
        text = re.sub(pattern, "", text, flags=re.S)
    foreign = tmp_path / "foreign.lhe"
    foreign.write_text(text)
    capsys.readouterr()
    common = ["--nb", "10", "--eps", "2e-4", "--theta", "2e-4", "--json"]
    assert main(["analyze", str(ours), *common]) == 0
    a = json.loads(capsys.readouterr().out)
    assert main(["analyze", str(foreign), "--benchmark", "B1", "--mA", "4.5", "--eps-gen", "3e-4", *common]) == 0
    b = json.loads(capsys.readouterr().out)
    for k in ("resc_sig", "sel_sig", "sel_bkg", "m2loglike", "eps95"):
        assert b[k] == pytest.approx(a[k], rel=1e-12), k
    assert main(["analyze", str(foreign), "--benchmark", "B1", "--mA", "4.5", *common]) == 2  # --eps-gen is required


def _interruptible():
    """In the child: Ctrl-C acts, even when the tests run as a background job (which ignores SIGINT)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_generate_leaves_no_file(tmp_path, sig):
    out = tmp_path / "big.lhe"
    proc = subprocess.Popen([*mcdh_command(), "generate", "signal", "--process", "phi", "--benchmark", "B1",
                             "--mA", "3", "--events", "3000000", "--output", str(out), "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_interruptible)
    t0 = time.time()
    while not list(tmp_path.iterdir()) and time.time() - t0 < 120 and proc.poll() is None:
        time.sleep(0.05)
    time.sleep(0.5)  # well inside the writing (about a minute for 3e6 LHE events)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # neither big.lhe nor its temporary parts


@contextlib.contextmanager
def dask_cluster(n_workers: int):
    """A dask scheduler on a free port and ``n_workers`` one-thread workers as separate processes (the
    command-line tools), ready; yields (address, scheduler process, worker processes), all killed at exit.
    --no-nanny: each worker is its process, so killing the process kills the worker (a nanny would restart it)."""
    import shutil
    import socket

    from dask.distributed import Client

    if shutil.which("dask") is None:
        pytest.skip("no dask command line")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    sched = subprocess.Popen(["dask", "scheduler", "--host", "127.0.0.1", "--port", str(port),
                              "--dashboard-address", ":0"], **quiet)
    workers = [subprocess.Popen(["dask", "worker", address, "--nthreads", "1", "--no-nanny"], **quiet)
               for _ in range(n_workers)]
    try:
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(n_workers, timeout=60)
        yield address, sched, workers
    finally:
        for p in (sched, *workers):
            p.kill()
            p.wait()


@pytest.mark.slow
def test_scan_that_loses_its_scheduler_says_so_and_resumes(tmp_path):
    """Killing the scheduler mid-scan: exit 2, one line with the resume command; the rerun (on a new cluster)
    ends with exactly the serial scan's results."""
    grid = ["--benchmarks", "B1", "--mA-list", "2.4,3,3.6,4.2,4.8,5.4", "--channels", "phi", "--events", "20000",
            "--background-events", "20000", "--quiet"]
    out = tmp_path / "lost"
    with dask_cluster(1) as (address, sched, _):
        scan = subprocess.Popen([*mcdh_command(), "scan", "--out", str(out), "--scheduler", address, *grid],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        t0 = time.time()
        while time.time() - t0 < 300 and scan.poll() is None:
            if (out / "points").exists() and list((out / "points").glob("*.json")):
                break
            time.sleep(0.1)
        sched.kill()
        _, err = scan.communicate(timeout=300)
    lines = err.strip().splitlines()
    assert scan.returncode == 2 and len(lines) == 1 and "run the same command again" in lines[0], err
    assert "Traceback" not in err
    rerun = subprocess.run([*mcdh_command(), "scan", "--out", str(out), "--workers", "2", *grid], capture_output=True,
                           text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    serial = tmp_path / "serial"
    assert subprocess.run([*mcdh_command(), "scan", "--out", str(serial), "--serial", *grid]).returncode == 0
    assert (out / "results.json").read_bytes() == (serial / "results.json").read_bytes()


@pytest.mark.slow
def test_scan_that_loses_a_worker_recomputes_no_stored_point(tmp_path):
    """Killing one of two workers mid-scan: the scan ends on the other, equal to the serial scan, and the
    scheduler's task stream shows every point computed once (a stored point's future is released, so the
    dead worker's finished results are not recomputed; only its running task is retried)."""
    from dask.distributed import Client

    grid = ["--benchmarks", "B1", "--mA-list", "2.4,3,3.6,4.2,4.8,5.4,6,6.6", "--channels", "phi", "--events", "20000",
            "--background-events", "20000", "--quiet"]
    out = tmp_path / "scan"
    with dask_cluster(2) as (address, _, workers):
        with Client(address, timeout="30s") as watcher:
            watcher.get_task_stream()  # the first call installs the scheduler's task-stream recorder
            t_start = time.time()
            scan = subprocess.Popen([*mcdh_command(), "scan", "--out", str(out), "--scheduler", address, *grid],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            victim = None
            while time.time() - t_start < 300 and scan.poll() is None and victim is None:
                time.sleep(0.05)
                if len(list((out / "points").glob("*.json"))) >= 3:
                    # kill a worker that holds finished points (the case a kept future would recompute)
                    finished = {t["worker"] for t in watcher.get_task_stream(start=t_start)}
                    pids = watcher.run(os.getpid)
                    victim = next((w for w in workers if any(pids.get(a) == w.pid for a in finished)), None)
            assert victim is not None, "no worker had finished a point"
            victim.kill()
            n_at_kill = len(list((out / "points").glob("*.json")))
            _, err = scan.communicate(timeout=300)
            assert scan.returncode == 0, err
            stream = watcher.get_task_stream(start=t_start)
    assert 3 <= n_at_kill < 8, "the worker should have been killed midway"
    done = [t["key"] for t in stream if str(t["key"]).startswith("mcdh-") and t.get("status", "OK") == "OK"]
    assert len(done) == 8 and len(set(done)) == 8, sorted(done)
    serial = tmp_path / "serial"
    assert subprocess.run([*mcdh_command(), "scan", "--out", str(serial), "--serial", *grid]).returncode == 0
    assert (out / "results.json").read_bytes() == (serial / "results.json").read_bytes()
