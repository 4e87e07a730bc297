"""opsgraph graphs package."""
