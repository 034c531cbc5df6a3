"""Kinematics below generation and analysis: variables of four-momenta, beams and the lab frame, acceptance, two-body decays."""
