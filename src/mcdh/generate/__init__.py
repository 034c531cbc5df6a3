"""Event generation: phase space (RAMBO), mock backgrounds."""
