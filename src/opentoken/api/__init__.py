"""Our wire schemas: the OpenAI Chat Completions request, response, chunk, error and models list."""
