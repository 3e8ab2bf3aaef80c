"""The attempt the router makes for an embedding request: every batch of the inputs, then the token count.

One attempt sends all the provider's batches to one deployment, in order, and (when the replies carry no
usage) the provider's counting call; any failure fails the attempt, which the router may retry on the same
or another deployment of the same model. Embedding requests have no fallback models: vectors of two models
cannot be compared, so another model's answer would be wrong, not degraded.
"""

from __future__ import annotations

from collections.abc import Sequence

from opentoken.catalog.model import ModelInfo
from opentoken.core.embed import EmbedRequest, EmbedResult
from opentoken.core.result import Usage
from opentoken.providers.base import EmbedBatch, Embedder
from opentoken.upstream.client import Deployment, UpstreamClient


class EmbedCalls:
    def __init__(
        self,
        client: UpstreamClient,
        embedder: Embedder,
        request: EmbedRequest,
        batches: Sequence[EmbedBatch],
        deadline: float,
    ) -> None:
        self._client = client
        self._embedder = embedder
        self._request = request
        self._batches = batches
        self.deadline = deadline

    async def __call__(self, model: ModelInfo, deployment: Deployment) -> EmbedResult:
        vectors: list[tuple[float, ...]] = []
        for batch in self._batches:
            call = await self._client.send(deployment, batch.request, model.timeouts, self.deadline)
            vectors.extend(self._embedder.parse_embeddings(await call.read(), batch.count))
        counted = await self._client.send(
            deployment, self._embedder.count_request(self._request, model), model.timeouts, self.deadline
        )
        tokens = self._embedder.parse_count(await counted.read())
        return EmbedResult(
            vectors=tuple(vectors), usage=Usage(input_tokens=tokens), upstream_model=model.upstream_model
        )
