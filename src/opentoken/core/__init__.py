"""Pure domain types shared by every layer: canonical chat request/result, stream events, usage, money, errors."""
