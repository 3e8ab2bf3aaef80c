"""Anthropic's model list, ``GET /v1/models``: typed wire models, the page request and its parse.

Pages are newest first; ``limit`` (1 to 1000) sets the page size and ``after_id`` (the previous page's
``last_id``) asks for the next page while ``has_more`` is true.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from urllib.parse import urlencode

import msgspec

from opentoken.providers.anthropic.errors import protocol_error
from opentoken.providers.anthropic.request import ANTHROPIC_VERSION
from opentoken.providers.base import ListedModel, ModelPage, UpstreamRequest

MODELS_PATH = "/v1/models"
PAGE_SIZE = 1000


class ModelObject(msgspec.Struct):
    """One entry of ``data`` (``max_input_tokens`` and ``max_tokens`` appear in newer API versions)."""

    id: str
    type: Literal["model"] = "model"
    display_name: str = ""
    created_at: str = ""  # RFC 3339
    max_input_tokens: int | None = None
    max_tokens: int | None = None


class ModelList(msgspec.Struct):
    data: list[ModelObject]
    has_more: bool = False
    first_id: str | None = None
    last_id: str | None = None


_decoder = msgspec.json.Decoder(ModelList)


def model_list_request(cursor: str | None) -> UpstreamRequest:
    query = {"limit": str(PAGE_SIZE), **({"after_id": cursor} if cursor else {})}
    headers = {"anthropic-version": ANTHROPIC_VERSION, "accept": "application/json"}
    return UpstreamRequest(path=f"{MODELS_PATH}?{urlencode(query)}", body=b"", headers=headers, stream=False)


def _created(value: str) -> int | None:
    try:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()) if value else None
    except ValueError:
        return None


def parse_model_list(body: bytes) -> ModelPage:
    try:
        page = _decoder.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError) as e:
        raise protocol_error("model list", e) from e
    models = tuple(
        ListedModel(
            id=m.id,
            display_name=m.display_name,
            created=_created(m.created_at),
            context_window=m.max_input_tokens,
            max_output_tokens=m.max_tokens,
        )
        for m in page.data
    )
    more = page.has_more and page.last_id is not None and bool(page.data)
    return ModelPage(models, page.last_id if more else None)
