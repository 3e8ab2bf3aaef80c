"""API keys: secret format, hashing and the records behind them."""
