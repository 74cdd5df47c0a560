"""Prefect tasks: thin wrappers that call AIMA's plain-Python functions."""
