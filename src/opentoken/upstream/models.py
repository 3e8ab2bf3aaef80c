"""Read each provider's own model list through a deployment (every page), for ``opentoken catalog sync``."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from opentoken.catalog.model import Timeouts
from opentoken.core.errors import GatewayError, UpstreamProtocolError
from opentoken.providers.base import ListedModel
from opentoken.upstream.client import Deployment, UpstreamClient

MAX_PAGES = 100
LIST_TIMEOUTS = Timeouts(connect=10.0, first_token=30.0, idle=30.0, total=30.0)  # per page


@dataclass(frozen=True, slots=True)
class Listing:
    """What one provider lists (``error`` says why it could not be read; ``models`` is then empty)."""

    provider: str
    deployment: str
    models: tuple[ListedModel, ...] = ()
    error: str | None = None


async def list_models(
    client: UpstreamClient, deployment: Deployment, timeouts: Timeouts = LIST_TIMEOUTS
) -> tuple[ListedModel, ...]:
    provider = deployment.provider
    found: list[ListedModel] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        page = provider.parse_model_list(await client.fetch(deployment, provider.model_list_request(cursor), timeouts))
        found += page.models
        if page.next_cursor is None:
            return tuple(found)
        if page.next_cursor == cursor:
            raise UpstreamProtocolError(f"{provider.name}: the model list gave the same page cursor twice")
        cursor = page.next_cursor
    raise UpstreamProtocolError(f"{provider.name}: the model list has more than {MAX_PAGES} pages")


async def listings(client: UpstreamClient, deployments: Sequence[Deployment]) -> list[Listing]:
    """The model list of each deployment's provider, read concurrently; a failure is reported, not raised."""

    async def one(deployment: Deployment) -> Listing:
        try:
            models = await list_models(client, deployment)
        except GatewayError as e:
            return Listing(deployment.provider.name, deployment.name, error=e.message)
        return Listing(deployment.provider.name, deployment.name, models)

    return list(await asyncio.gather(*(one(d) for d in deployments)))
