"""File formats: ROOT ntuples (uproot); LHE and HepMC3 follow."""
