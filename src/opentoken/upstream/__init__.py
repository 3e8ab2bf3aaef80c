"""The only code that talks to providers: HTTP client, SSE reader, media fetching, credentials."""
