"""Imported by a test of the import hooks, and by nothing else."""

VALUE = 1
