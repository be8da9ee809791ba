"""Therapy rules and dosing arithmetic: pure, exact, with no I/O."""
