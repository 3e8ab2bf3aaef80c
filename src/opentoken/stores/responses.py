"""Stored Responses (``store: true``) and the gateway's own generated secrets: interfaces and records.

A stored response is kept for its time to live (``expires_at``) under the API key that created it: every
read names the key, and a key never sees, continues or deletes another key's responses. ``history`` is the
conversation after the response (its earlier conversation, its input items, its output items with sealed
provider state), which is what ``previous_response_id`` continues from; ``input_items`` are the request's own
items as listed by ``GET /v1/responses/{id}/input_items``. Both are JSON text written and read by the
Responses ingress: the store does not look inside.

Reads see every committed write at once (one database), so a conversation continues from any replica with
no lag.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class StoredResponse:
    id: str
    key_id: str
    created_at: datetime
    expires_at: datetime
    model: str
    response: str  # the Response object, JSON
    input_items: str  # JSON array
    history: str  # JSON array


class ResponseStore(Protocol):
    async def put(self, record: StoredResponse) -> None:
        """Store (or replace, same id and key) a response; expired responses may be swept here."""
        ...

    async def get(self, key_id: str, response_id: str) -> StoredResponse | None:
        """The response, if ``key_id`` stored it and it has not expired."""
        ...

    async def delete(self, key_id: str, response_id: str) -> bool:
        """Delete the key's response; False when there is none (or it belongs to another key)."""
        ...


class SecretStore(Protocol):
    """Secrets the gateway generates for itself once and shares between replicas (the default sealing key)."""

    async def get_or_create(self, name: str, value: str) -> str:
        """The stored value of ``name``; when there is none, ``value`` is stored and returned. Atomic: replicas
        starting together all get the one value that won."""
        ...
