"""opsgraph core package."""
