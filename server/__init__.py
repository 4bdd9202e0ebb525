"""The HTTP API over the core: `python -m server`."""
