"""Command-line ingestion: `python -m ingest [PATH]`."""
