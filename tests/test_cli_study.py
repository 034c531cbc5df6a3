"""The command line over the study facade: one-line errors naming flags, N_b at 10 ab^-1, no-sensitivity reporting."""
import json

import pytest


def one_line_error(r, *needles):
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    for n in needles:
        assert n in lines[0], lines[0]


@pytest.mark.slow
def test_analysis_under_another_model_is_refused_naming_both(tmp_path, mcdh):
    f = tmp_path / "b2.root"
    assert mcdh("generate", "signal", "--process", "phi", "--benchmark", "B2", "--mA", "4.5", "--events", "3000",
                "--output", f, "--quiet").returncode == 0
    r = mcdh("analyze", f, "--benchmark", "B1", "--mA", "3", "--background-events", "2000")
    one_line_error(r, "m_A = 3", "m_A = 4.5", "recorded model")
    r = mcdh("analyze", f, "--benchmark", "B1", "--mA", "3", "--background-events", "2000", "--force-model", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["model"]["m_A"] == 3.0
    r = mcdh("analyze", f, "--benchmark", "B2", "--mA", "4.5", "--background-events", "2000", "--json")
    assert r.returncode == 0, r.stderr  # the file's own model: accepted, eps from the file


@pytest.mark.parametrize("args, needles", [
    (["table", "--channel", "phi", "--nb", "1", "--eps", "2", "--mA-list", "3", "--events", "1000"], ["--eps", "(0, 1]"]),
    (["table", "--channel", "phi", "--nb", "1", "--theta", "3", "--mA-list", "3", "--events", "1000"], ["--theta", "pi/2"]),
    (["reach", "--mA", "3", "--nb", "-1", "--events", "1000"], ["--nb", "n_b"]),
    (["reach", "--mA", "3", "--lumi-fb", "0", "--events", "1000"], ["--lumi-fb"]),
    (["table", "--channel", "phi", "--nb", "1", "--events", "5", "--mA-list", "3"], ["--events"]),
])
def test_bad_values_name_the_flag(args, needles, mcdh):
    one_line_error(mcdh(*args), *needles)


def test_background_nb_is_defined_at_10_inverse_ab(mcdh):
    r = mcdh("background", "--channel", "gammaphi", "--m-phi", "0.5", "--m-chi", "1", "--nb", "10", "--lumi-fb", "5e4",
             "--events", "2000", "--json")
    out = json.loads(r.stdout)
    assert out["sigma_fb"] == pytest.approx(0.22 * 10 / 1e4, rel=1e-12)  # the cross section does not depend on L
    assert out["expected_events"] == pytest.approx(0.22 * 50, rel=1e-12)


@pytest.mark.slow
def test_scan_reports_no_sensitivity_instead_of_eps_above_1(tmp_path, mcdh):
    out = tmp_path / "s"
    r = mcdh("scan", "--out", out, "--serial", "--quiet", "--mA-list", "3", "--channels", "phi", "--nb-list", "1,1e14",
             "--lumi-fb", "1", "--events", "2000", "--background-events", "2000")
    assert r.returncode == 0, r.stderr
    rows = json.loads((out / "results.json").read_text())
    by_nb = {row["n_b"]: row for row in rows}
    assert by_nb[1e14]["eps95"] is None and by_nb[1e14]["eps95_note"].startswith("no sensitivity")
    text = (out / "results.json").read_text()
    assert "Infinity" not in text and "NaN" not in text
