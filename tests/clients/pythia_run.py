"""Run Pythia 8 on an LHE file with mcdh's settings; print one JSON line (run by tests/test_clients.py).

Usage: python pythia_run.py SETTINGS.cmnd
Output (last line): {"events", "sigma_fb", "decay_mm": [...], "phi_p": [[E, px, py, pz], ...]} where
decay_mm is the distance between each phi's production and decay vertices in mm (Pythia's units).
"""
import json
import sys

import pythia8mc

PHI_ID = 9000005  # the free id the tests write (Pythia recomputes the decays of 54)


def main(settings: str) -> None:
    py = pythia8mc.Pythia("", False)
    py.readFile(settings)
    for s in ("Next:numberCount = 0", "Next:numberShowEvent = 0", "Next:numberShowInfo = 0",
              "Next:numberShowProcess = 0", "Init:showChangedSettings = off", "Init:showProcesses = off",
              "Init:showChangedParticleData = off"):
        py.readString(s)
    if not py.init():
        print(json.dumps({"init": False}))
        return
    n, failed, decay_mm, phi_p, daughters = 0, 0, [], [], []
    while failed < 10:
        if not py.next():
            if py.infoPython().atEndOfFile():
                break
            print("mcdh-driver: event failed")
            failed += 1
            continue
        n += 1
        ev = py.event
        for i in range(ev.size()):
            p = ev[i]
            if p.id() == PHI_ID:
                d = p.vDec() - p.vProd()
                decay_mm.append((d.px() ** 2 + d.py() ** 2 + d.pz() ** 2) ** 0.5)
                phi_p.append([p.e(), p.px(), p.py(), p.pz()])
                daughters.append(sorted(ev[j].id() for j in p.daughterList()))
                break
    print(json.dumps({"init": True, "events": n, "failed": failed, "sigma_fb": py.infoPython().sigmaGen() * 1e12, "decay_mm": decay_mm,
                      "phi_p": phi_p, "daughters": daughters}))


if __name__ == "__main__":
    main(sys.argv[1])
