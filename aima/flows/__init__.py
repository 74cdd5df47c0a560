"""Prefect flows: wiring of tasks only, no logic of their own."""
