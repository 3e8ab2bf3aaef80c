"""Count a prompt's input tokens at the provider (``POST /v1/messages/count_tokens`` and the like).

The count comes from the provider's own counting endpoint (``Provider.build_count`` / ``parse_count``), so it
is exact for the model that would answer. The request goes to the first model of the chain that can count it,
over its deployments with the usual retries and fallbacks (``Router``); images are inlined first for
providers that cannot fetch URLs, as for a generation.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from opentoken.catalog.model import ModelInfo
from opentoken.core.chat import ChatRequest
from opentoken.core.errors import InvalidRequest
from opentoken.providers.base import Provider, UpstreamRequest
from opentoken.routing.router import Router
from opentoken.upstream.client import Deployment, UpstreamClient
from opentoken.upstream.media import MediaFetcher

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Counted:
    input_tokens: int
    model: ModelInfo  # the model whose provider counted
    attempts: int
    simulated: bool


async def count_prompt(
    request: ChatRequest,
    models: Sequence[ModelInfo],
    providers: Mapping[str, Provider],
    media: MediaFetcher,
    client: UpstreamClient,
    router: Router,
) -> Counted:
    if any(not providers[m.provider].fetches_image_urls for m in models):
        request = await media.inline_images(request)
    built: dict[str, tuple[Provider, UpstreamRequest]] = {}
    for i, model in enumerate(models):
        provider = providers[model.provider]
        try:
            built[model.id] = (provider, provider.build_count(request, model))
        except InvalidRequest as e:
            if i == 0:
                raise
            log.info("fallback %s cannot count this request: %s", model.id, e.message)
    chain = [m for m in models if m.id in built]
    deadline = time.monotonic() + chain[0].timeouts.total

    async def attempt(model: ModelInfo, deployment: Deployment) -> int:
        provider, upstream = built[model.id]
        call = await client.send(deployment, upstream, model.timeouts, deadline)
        return provider.parse_count(await call.read())

    routed = await router.route(chain, attempt, deadline)
    routed.lease.release()
    return Counted(routed.value, routed.model, routed.attempts, routed.deployment.simulated)
