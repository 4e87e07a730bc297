"""opsgraph ingest package."""
