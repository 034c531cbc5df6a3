"""Read an mcdh HepMC3 file with HepMC3's official Python bindings; print one JSON line (tests/test_clients.py).

Output: {"events", "units", "weight_names", "xsec_pb", "weights": [[pb, fb], ...], "phi_vertex": [[x, y, z, t], ...]}
"""
import json
import sys

from pyHepMC3 import HepMC3 as hm


def main(path: str) -> None:
    reader = hm.ReaderAscii(path)
    evt = hm.GenEvent()
    out = {"events": 0, "units": set(), "weights": [], "phi_vertex": [], "xsec_pb": None, "weight_names": None}
    while True:
        reader.read_event(evt)
        if reader.failed():
            break
        out["events"] += 1
        out["units"].add((hm.Units.name(evt.momentum_unit()), hm.Units.name(evt.length_unit())))
        out["weights"].append(list(evt.weights()))
        out["weight_names"] = list(evt.run_info().weight_names())
        out["xsec_pb"] = evt.cross_section().xsec()
        for p in evt.particles():
            if p.pid() == 54 and p.end_vertex():
                v = p.end_vertex().position()
                out["phi_vertex"].append([v.x(), v.y(), v.z(), v.t()])
        evt.clear()
    reader.close()
    out["units"] = sorted(out["units"])
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
