"""Command line: output contracts, exit status 2 on bad input, files written whole."""
import json
import os
import subprocess
import sys

import pytest

from mcdh.cli import main


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "mcdh.cli", *args], capture_output=True, text=True, cwd=os.path.dirname(__file__))


def test_rambo_json_matches_closed_form(capsys):
    assert main(["rambo", "--masses", "0,0,0", "--events", "1000", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["phase_space_volume"] == pytest.approx(out["massless_closed_form"], rel=1e-12)
    assert out["phase_space_volume_err"] < 1e-9 * out["phase_space_volume"]


def test_background_json(capsys):
    assert main(["background", "--channel", "gammaphi", "--m-phi", "0.5", "--m-chi", "1", "--events", "5000", "--nb", "10", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["expected_events"] == pytest.approx(2.2, rel=1e-12)
    assert out["events"] == 5000


@pytest.mark.parametrize(
    "args, needle",
    [
        (["rambo", "--masses", "1"], "masses"),
        (["rambo", "--masses", "6,6"], "masses"),
        (["rambo", "--masses", "0,0", "--events", "-5"], "n_events"),
        (["rambo", "--masses", "0,0", "--sqrt-s", "nan"], "sqrt_s"),
        (["background", "--channel", "phi", "--m-phi", "4", "--m-chi", "4"], "m_phi, m_chi"),
        (["background", "--channel", "phi", "--m-phi", "1", "--m-chi", "1", "--nb", "-3"], "n_b"),
    ],
)
def test_bad_input_one_line_exit_2(args, needle):
    r = run_cli(*args)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in r.stderr


def test_argparse_errors_exit_2():
    r = run_cli("background", "--channel", "pi0", "--m-phi", "1", "--m-chi", "1")
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_reproduce_writes_nonempty_files_and_is_reproducible(tmp_path):
    for d in ("a", "b"):
        assert main(["reproduce", "--out", str(tmp_path / d), "--events", "20000", "--quiet"]) == 0
    for name in ("figure6.png", "figure6.pdf", "summary.json"):
        assert (tmp_path / "a" / name).stat().st_size > 1000 or name == "summary.json"
        assert (tmp_path / "a" / name).stat().st_size > 0
    assert not [p for p in (tmp_path / "a").iterdir() if p.name.startswith(".")], "temporary files left behind"
    sa = json.loads((tmp_path / "a" / "summary.json").read_text())
    sb = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert sa["backgrounds"] == sb["backgrounds"]
    assert sa["backgrounds"]["gammaphi"]["expected_events"] == pytest.approx(0.22)


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    from mcdh._atomic import atomic_path

    target = tmp_path / "x.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]
