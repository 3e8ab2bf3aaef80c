"""Redis backends: shared limit counters (Lua), the key-change bus (pub/sub) and the replay store."""
