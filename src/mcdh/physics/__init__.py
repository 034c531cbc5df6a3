"""Physics constants, model, widths and amplitudes."""
