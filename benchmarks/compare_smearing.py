"""How far expected smearing moves the paper's numbers: two ``mcdh reproduce`` summaries, the copies' and the
expected's, compared point by point (issue 28).

    mcdh reproduce --out rep-copies --quiet
    mcdh reproduce --out rep-expected --smearing expected --quiet
    python benchmarks/compare_smearing.py rep-copies rep-expected

Printed: for the table rows (each point, N_b = 1 and 10^4) the change of the selected signal in units of the
Monte Carlo error the copies' table states, apart for rows whose window stays and rows whose window moves; the
relative change of eps_95 and of the theta-band edges.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _quantiles(values: list[float]) -> str:
    v = sorted(values)
    return f"median {v[len(v) // 2]:.2g}, 95 % {v[int(0.95 * (len(v) - 1))]:.2g}, max {v[-1]:.2g} ({len(v)})"


def main() -> int:
    """Compare the summaries (see the module's docstring)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("copies", type=Path)
    p.add_argument("expected", type=Path)
    args = p.parse_args()
    c, e = (json.loads((d / "summary.json").read_text()) for d in (args.copies, args.expected))
    same, moved, reach, edges = [], [], [], []
    worst_moved = (0.0, None)
    for pc, pe in zip(c["points"], e["points"], strict=True):
        point = (pc["benchmark"], pc["m_A"], pc["channel"])
        if point != (pe["benchmark"], pe["m_A"], pe["channel"]):
            raise SystemExit("the summaries hold different points")
        for n_b, rc in pc["table"].items():
            re_ = pe["table"][n_b]
            if rc["sel_sig_err"] > 0:
                pull = abs(re_["sel_sig"] - rc["sel_sig"]) / rc["sel_sig_err"]
                if (rc["window_lo"], rc["window_hi"]) == (re_["window_lo"], re_["window_hi"]):
                    same.append(pull)
                else:
                    moved.append(pull)
                    worst_moved = max(worst_moved, (pull, (*point, n_b, rc["sel_sig"], re_["sel_sig"])),
                                      key=lambda t: t[0])
            a, b = pc["eps95"][n_b], pe["eps95"][n_b]
            if a and b:
                reach.append(abs(b / a - 1))
            for edge in ("lower", "upper"):
                a, b = pc["theta_band"][n_b][edge], pe["theta_band"][n_b][edge]
                if a and b:
                    edges.append(abs(b / a - 1))
    print(f"selected signal, window kept: |change| / stated MC error {_quantiles(same)}")
    if moved:
        print(f"selected signal, window moved: {_quantiles(moved)}; largest {worst_moved[1]}")
    print(f"eps_95 relative change: {_quantiles(reach)}")
    print(f"theta-band edges relative change: {_quantiles(edges)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
