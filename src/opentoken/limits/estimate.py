"""Worst-case inputs to an admission: a prompt-token estimate that does not undercount, and the model of a
fallback chain whose worst case is the dearest (so whichever model answers, the reservation covers it).

The estimate is one token per 3 bytes of request body (real tokenizers average about 4 bytes per token for
text and far fewer for base64 data, which is inflated by a third) plus ``URL_IMAGE_TOKENS`` for each image
sent by URL, whose bytes are not in the body: Claude bills at most ~1,600 tokens per image and Gemini ~1,100
at default resolution.
"""

from __future__ import annotations

from collections.abc import Sequence

from opentoken.catalog.model import ModelInfo
from opentoken.core.chat import ChatRequest, ImagePart
from opentoken.core.money import worst_case_cost

BYTES_PER_TOKEN = 3
URL_IMAGE_TOKENS = 2_000


def prompt_token_estimate(request: ChatRequest, body_bytes: int) -> int:
    url_images = sum(1 for m in request.messages for p in m.parts if isinstance(p, ImagePart) and p.url)
    return body_bytes // BYTES_PER_TOKEN + 1 + url_images * URL_IMAGE_TOKENS


def max_output(request: ChatRequest, model: ModelInfo) -> int:
    return request.max_tokens or model.default_max_tokens


def dearest(request: ChatRequest, models: Sequence[ModelInfo], prompt_tokens: int) -> ModelInfo:
    """The model whose worst-case cost for this request is highest."""
    return max(models, key=lambda m: worst_case_cost(prompt_tokens, max_output(request, m), m.prices))
