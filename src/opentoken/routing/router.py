"""Open an upstream call for a model, retrying retryable failures before the first byte reaches the client.

Retries: errors whose class is ``retryable`` (connection errors, timeouts, 429, 5xx, 529) are retried with
exponential backoff and full jitter, honouring the provider's ``retry-after``, bounded by ``max_attempts``
and by the request's deadline; each attempt goes to the next deployment of the model when there are several.
A 4xx caused by the request is never retried.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from opentoken.catalog.model import ModelInfo
from opentoken.core.errors import GatewayError, ModelNotFound
from opentoken.providers.base import UpstreamRequest
from opentoken.upstream.client import Deployment, UpstreamCall, UpstreamClient


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 3
    base_seconds: float = 0.25
    max_seconds: float = 8.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_seconds)
        return random.uniform(0, min(self.max_seconds, self.base_seconds * (2 ** (attempt - 1))))


@dataclass(slots=True)
class Opened:
    call: UpstreamCall
    deployment: Deployment
    attempts: int


class Router:
    def __init__(
        self, client: UpstreamClient, deployments: Mapping[str, Sequence[Deployment]], policy: RetryPolicy
    ) -> None:
        self._client = client
        self._deployments = {k: list(v) for k, v in deployments.items()}
        self._policy = policy

    def deployments_for(self, model: ModelInfo) -> list[Deployment]:
        found = self._deployments.get(model.provider)
        if not found:
            raise ModelNotFound(f"No deployment serves the provider of `{model.id}`.", param="model")
        return found

    async def open(self, model: ModelInfo, request: UpstreamRequest) -> Opened:
        deployments = self.deployments_for(model)
        deadline = time.monotonic() + model.timeouts.total
        attempt = 0
        while True:
            deployment = deployments[attempt % len(deployments)]
            attempt += 1
            try:
                call = await self._client.send(deployment, request, model.timeouts)
                return Opened(call=call, deployment=deployment, attempts=attempt)
            except GatewayError as e:
                if not e.retryable or attempt >= self._policy.max_attempts:
                    e.attempts = attempt
                    raise
                pause = self._policy.delay(attempt, e.retry_after)
                if time.monotonic() + pause >= deadline:
                    e.attempts = attempt
                    raise
                await asyncio.sleep(pause)
