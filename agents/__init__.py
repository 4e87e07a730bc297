"""opsgraph agents package."""
