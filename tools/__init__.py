"""opsgraph tools package."""
