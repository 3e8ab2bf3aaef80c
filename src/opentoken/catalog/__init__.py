"""Model registry: "{provider}/{model}" -> provider, upstream model, limits, prices, capabilities (data files)."""
