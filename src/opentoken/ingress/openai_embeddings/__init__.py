"""The OpenAI embeddings API (``POST /v1/embeddings``): request parsing and the reply, over ``Pipeline.embed``."""
