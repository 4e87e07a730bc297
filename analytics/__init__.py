"""opsgraph analytics package."""
