"""Per-request observation: the record each request fills as it goes (``record``) and OpenTelemetry tracing
and GenAI metrics (``tracing``), off unless the standard ``OTEL_*`` variables configure them.

This package sits just above ``core``: every layer that adds to a request's trace (http, routing, limits,
metering, upstream) may import it, and it imports nothing of theirs. See docs/operations.md.
"""
