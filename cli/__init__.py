"""opsgraph cli package."""
