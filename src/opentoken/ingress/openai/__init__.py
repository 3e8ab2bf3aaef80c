"""What the OpenAI wire APIs share: the error shape and the models list objects."""
