"""Prefect flows: thin wrappers that compose library calls. Deploy them with ``python -m flows.serve``."""
