"""Routes, SSE framing, and the single GatewayError -> OpenAI error boundary."""
