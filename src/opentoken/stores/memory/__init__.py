"""In-process stores for tests and ``memory://``: same behaviour as the SQL stores, nothing persisted."""

from opentoken.stores.memory.keys import MemoryKeyStore
from opentoken.stores.memory.ledger import MemoryLedger
from opentoken.stores.memory.replay import MemoryReplayStore
from opentoken.stores.memory.sessions import MemorySessionStore

__all__ = ["MemoryKeyStore", "MemoryLedger", "MemoryReplayStore", "MemorySessionStore"]
