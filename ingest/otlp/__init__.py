"""OpenTelemetry traces in: OTLP (protobuf and JSON, current and older shapes), Jaeger JSON, and GenAI spans
mapped to interactions."""
