"""Analysis: kinematic variables, displacement, smearing, selection, limits."""
