"""Command line: output contracts, exit status 2 on bad input, files written whole."""
import json

import pytest

from mcdh.cli import main


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
def test_bad_input_one_line_exit_2(args, needle, mcdh):
    r = mcdh(*args)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in r.stderr


def test_argparse_errors_exit_2(mcdh):
    r = mcdh("background", "--channel", "pi0", "--m-phi", "1", "--m-chi", "1")
    assert r.returncode == 2 and "Traceback" not in r.stderr


@pytest.mark.slow
def test_reproduce_writes_every_figure_and_table_and_is_reproducible(tmp_path):
    args = ["--events", "3000", "--background-events", "3000", "--xsec-events", "2000", "--figure-events", "5000",
            "--mA-list", "3,7.5", "--benchmarks", "B1,B3", "--quiet"]
    for d in ("a", "b"):
        assert main(["reproduce", "--out", str(tmp_path / d), *args, *(["--hepdata"] if d == "a" else [])]) == 0
    from mcdh.publish import validate_submission

    assert validate_submission(tmp_path / "a" / "hepdata") == [] and (tmp_path / "a" / "hepdata.tar.gz").exists()
    names = [f"figure{n}.{ext}" for n in (3, 4, 5, 6, 7, 8, 9, 10, 11, 12) for ext in ("png", "pdf")]
    for name in names:
        assert (tmp_path / "a" / name).stat().st_size > 1000, name
    for name in ("summary.json", "figure4.csv", "table3.csv", "table4.csv", "table5.csv", "table6.csv"):
        assert (tmp_path / "a" / name).stat().st_size > 0, name
    assert not [p for p in (tmp_path / "a").iterdir() if p.name.startswith(".")], "temporary files left behind"
    sa = json.loads((tmp_path / "a" / "summary.json").read_text())
    sb = json.loads((tmp_path / "b" / "summary.json").read_text())
    for key in ("backgrounds", "cross_sections", "reach", "tables"):
        assert sa[key] == sb[key], key
    assert len(sa["cross_sections"]) == 2 * 2 * 2
    assert sa["backgrounds"]["gammaphi"]["expected_events"] == pytest.approx(0.22)
    reach = sa["reach"]["B1"]["phi"]
    assert reach["m_A"] == [3.0, 7.5]
    assert set(reach) >= {"eps95", "eps95_cut_and_count", "theta_band", "theta_band_cut_and_count"}
    # heavier dark sector: shorter-lived phi, larger cross section -> better reach
    assert reach["eps95"]["1"][1] < reach["eps95"]["1"][0]
    settings_line, header = (tmp_path / "a" / "table5.csv").read_text().splitlines()[:2]
    assert header == "mA [GeV],init_sig [events],vmax [GeV^2],sel_sig [events],sel_bkg [events],m2loglike [-2 log L]"
    assert "channel=gammaphi" in settings_line and "n_b=1.0" in settings_line
    assert (tmp_path / "a" / "table5.tex").read_text().startswith("\\begin{table}")
    band = sa["reach"]["B1"]["phi"]["eps95_width_band"]["1"][1]  # m_phi = 1.25 GeV: hadronic
    assert band["lower"] <= reach["eps95"]["1"][1] <= band["upper"] and band["upper"] > band["lower"]
    for n in range(3, 13):  # every figure with the numbers behind it
        assert {f"figure{n}.png", f"figure{n}.pdf", f"figure{n}.csv"} <= set(sa["files"][str(n)]), n
    assert set(sa["stage_seconds"]) and sa["peak_memory_mb"] > 0


PHI_COLUMNS = "mA,resc_sig,mchichi_min,mchichi_max,sel_sig,sel_bkg,m2loglike"
GAMMAPHI_COLUMNS = "mA,init_sig,vmax,sel_sig,sel_bkg,m2loglike"


@pytest.mark.slow
@pytest.mark.parametrize("channel, header", [("phi", PHI_COLUMNS), ("gammaphi", GAMMAPHI_COLUMNS)])
def test_table_csv_contract(channel, header, mcdh):
    r = mcdh("table", "--benchmark", "B1", "--channel", channel, "--nb", "10",
                "--mA-list", "4.2,6.9", "--events", "4000", "--background-events", "4000", "--csv")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert lines[0].startswith("# mcdh") and "n_b=10.0" in lines[0]  # the settings
    assert [h.split(" [")[0] for h in lines[1].split(",")] == header.split(",")  # the columns, with units
    rows = [dict(zip(header.split(","), map(float, line.split(",")))) for line in lines[2:]]
    assert [row["mA"] for row in rows] == [4.2, 6.9]
    for row in rows:
        assert 0 <= row["sel_sig"] <= row.get("resc_sig", row.get("init_sig")) * (1 + 1e-12)
        assert row["sel_bkg"] <= (10 if channel == "phi" else 2.2) * (1 + 1e-12)
        assert row["m2loglike"] >= 0
        if channel == "phi":
            assert row["mchichi_min"] < row["mA"] < row["mchichi_max"]
        else:
            assert row["vmax"] > 0


@pytest.mark.parametrize("bad, word", [(["--nb", "-1"], "nb"), (["--nb", "1", "--eps", "0"], "eps"),
                                       (["--nb", "1", "--mA-list", "9.9"], "m_A"),
                                       (["--nb", "1", "--region", "inner"], "region")])
def test_table_bad_input_is_one_line(bad, word, mcdh):
    r = mcdh("table", "--channel", "phi", *bad, "--events", "1000", "--csv")
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert word in r.stderr


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


XSEC_KEYS = {"sigma_fb", "sigma_err_fb", "process", "benchmark", "m_A", "m_chi", "m_phi", "eps", "g_chi",
             "q_phi", "alpha_em", "sqrt_s", "gamma_A", "events"}


def test_xsec_json_contract(capsys):
    argv = ["xsec", "--process", "gammaphi", "--benchmark", "B2", "--mA", "4.5", "--events", "20000", "--seed", "3", "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert XSEC_KEYS <= set(out)
    assert out["process"] == "gammaphi" and out["benchmark"] == "B2"
    assert (out["m_A"], out["m_chi"], out["m_phi"]) == pytest.approx((4.5, 4.5 / 4, 4.5 / 6))
    assert (out["eps"], out["g_chi"], out["q_phi"], out["sqrt_s"], out["events"]) == (1e-4, 1.0, 1.0, 10.58, 20000)
    assert out["sigma_fb"] > 0 and 0 < out["sigma_err_fb"] < 0.05 * out["sigma_fb"]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["sigma_fb"] == out["sigma_fb"]  # same seed, same number
    assert main(argv[:-1] + ["--eps", "2e-4", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["sigma_fb"] == pytest.approx(4 * out["sigma_fb"], rel=1e-6)


@pytest.mark.parametrize(
    "extra,needle",
    [
        (["--benchmark", "B1", "--mA", "10"], "m_A + m_phi < sqrt_s"),
        (["--mA", "3", "--m-chi", "1", "--m-phi", "1.2"], "m_A > 2 m_chi + m_phi"),
        (["--mA", "3", "--m-chi", "0.5", "--m-phi", "0.6"], "m_chi > m_phi"),
        (["--benchmark", "B1", "--mA", "3", "--eps", "-1"], "eps"),
        (["--mA", "3"], "benchmark"),
    ],
)
def test_xsec_errors_one_line_exit_2(capsys, extra, needle):
    assert main(["xsec", "--process", "phi", "--events", "1000", *extra]) == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_figure_command(tmp_path):
    assert main(["figure", "8", "--out", str(tmp_path), "--quiet"]) == 0
    assert main(["figure", "3", "--out", str(tmp_path), "--quiet"]) == 0
    for n in (3, 8):
        assert (tmp_path / f"figure{n}.png").stat().st_size > 1000
