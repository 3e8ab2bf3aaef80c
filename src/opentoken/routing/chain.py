"""The chain of models a request may be answered by: the requested model, then its fallbacks.

Fallbacks come from the request's ``fallback_models`` (OpenRouter's ``models``; each id must exist and be
allowed for the key, else a 400/403 naming it) or, when it has none, from the catalog entry's ``fallbacks``
(entries the key may not use are left out). The upstream request is built for every model up front: a
request the primary model cannot take is a 400 before anything is sent; a fallback that cannot take it is
left out of the chain.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from opentoken.catalog.model import ModelInfo
from opentoken.catalog.registry import Catalog
from opentoken.core.chat import ChatRequest
from opentoken.core.errors import InvalidRequest, ModelNotAllowed
from opentoken.providers.base import Provider, upstream_request
from opentoken.routing.calls import Prepared
from opentoken.stores.base import ApiKey
from opentoken.upstream.media import MediaFetcher

log = logging.getLogger(__name__)


def chain_models(request: ChatRequest, key: ApiKey, catalog: Catalog) -> list[ModelInfo]:
    primary = catalog.resolve(request.model)
    if not key.allows(primary.id):
        raise ModelNotAllowed(f"This API key may not use the model `{primary.id}`.", loc=("model",))
    chain = [primary]
    if request.fallback_models:
        for i, model_id in enumerate(request.fallback_models):
            model = catalog.resolve(model_id, loc=("fallback_models", i))
            if not key.allows(model.id):
                raise ModelNotAllowed(f"This API key may not use the model `{model.id}`.", loc=("fallback_models", i))
            chain.append(model)
    else:
        for model_id in primary.fallbacks:
            found = catalog.get(model_id)
            if found is None:
                log.warning("catalog fallback %s of %s is not in the catalog", model_id, primary.id)
            elif key.allows(found.id):
                chain.append(found)
    return list({m.id: m for m in chain}.values())


async def prepare_chain(
    request: ChatRequest, models: Sequence[ModelInfo], providers: Mapping[str, Provider], media: MediaFetcher
) -> list[Prepared]:
    """Build the upstream request for each model of ``chain_models`` (images inlined where needed)."""
    if any(not providers[m.provider].fetches_image_urls for m in models):
        request = await media.inline_images(request)
    primary = models[0]
    provider = providers[primary.provider]
    chain = [Prepared(primary, provider, upstream_request(provider, request, primary))]
    for model in models[1:]:
        provider = providers[model.provider]
        try:
            chain.append(Prepared(model, provider, upstream_request(provider, request, model)))
        except InvalidRequest as e:
            log.info("fallback %s cannot take this request: %s", model.id, e.message)
    return chain
