"""Services behind the tools and agents: analytics runs, cluster naming, retrieval, telemetry, MLflow registry."""
