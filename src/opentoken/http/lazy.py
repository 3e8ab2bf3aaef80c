"""Routes built on their first use: the web console's, whose modules (Jinja2 and the pages) cost a gateway that
only serves the API about 2.8 MB of resident memory.

``LazyRoutes`` stands in the router's list where the routes would be and matches, handles and reverses exactly
as they would, in their order: a full match wins, else the first partial match (so a wrong method is still
a 405 from the route it matched). The first request that reaches it builds them, once: for the console that
is an import of about 0.1 s, during which the event loop waits (the price of not holding it in memory).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

_MATCHED = "opentoken.lazy_route"  # the scope key of the inner route that matched


class LazyRoutes(BaseRoute):
    def __init__(self, build: Callable[[], Sequence[BaseRoute]]) -> None:
        self._build: Callable[[], Sequence[BaseRoute]] | None = build
        self._routes: Sequence[BaseRoute] = ()

    @property
    def built(self) -> bool:
        return self._build is None

    @property
    def routes(self) -> Sequence[BaseRoute]:
        if self._build is not None:
            self._routes = self._build()
            self._build = None
        return self._routes

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        partial: tuple[Match, Scope] | None = None
        for route in self.routes:
            match, child = route.matches(scope)
            if match is Match.FULL:
                return match, {**child, _MATCHED: route}
            if match is Match.PARTIAL and partial is None:
                partial = (match, {**child, _MATCHED: route})
        return partial or (Match.NONE, {})

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        route: BaseRoute = scope[_MATCHED]
        await route.handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        for route in self.routes:
            try:
                return route.url_path_for(name, **path_params)
            except NoMatchFound:
                continue
        raise NoMatchFound(name, path_params)
