"""Prefect blocks: provider credentials and storage configuration."""
