"""``InvalidationBus`` between the workers of one ``opentoken serve --workers N``: a worker publishes to the
supervisor, which relays the notice to every worker (the publisher included) before it answers."""

from __future__ import annotations

import logging

from opentoken.core.errors import Overloaded
from opentoken.stores.base import KeyChanged
from opentoken.stores.local.link import SupervisorLink
from opentoken.stores.local.wire import Publish

log = logging.getLogger(__name__)


class LocalBus:
    def __init__(self, link: SupervisorLink) -> None:
        self._link = link
        self._callbacks: list[KeyChanged] = []

    async def publish(self, key_id: str) -> None:
        """Relay; without a supervisor the change is logged and reaches the workers by cache expiry."""
        link = self._link
        try:
            await link.call(Publish(link.rid(), key_id))
        except Overloaded as e:
            log.warning("key change for %s not relayed (caches expire within 1 s): %s", key_id, e.message)

    async def start(self, callback: KeyChanged) -> None:
        self._callbacks.append(callback)
        self._link.on_notice.append(callback)

    async def close(self) -> None:
        for callback in self._callbacks:
            if callback in self._link.on_notice:
                self._link.on_notice.remove(callback)
        self._callbacks.clear()
