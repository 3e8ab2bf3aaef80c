"""Gemini's model list, ``GET /v1beta/models`` (``models.list``): typed wire models, page request, parse.

``pageSize`` (at most 1000) sets the page size; ``pageToken`` (the previous page's ``nextPageToken``) asks for
the next page, until a page comes without one. Names are ``models/{id}``; only models whose
``supportedGenerationMethods`` include ``generateContent`` can answer chat calls.
"""

from __future__ import annotations

from urllib.parse import urlencode

import msgspec

from opentoken.core.errors import UpstreamProtocolError
from opentoken.providers.base import ListedModel, ModelPage, UpstreamRequest

MODELS_PATH = "/v1beta/models"
PAGE_SIZE = 1000


class Model(msgspec.Struct, rename="camel"):
    name: str  # "models/gemini-2.5-flash"
    base_model_id: str = ""
    version: str = ""
    display_name: str = ""
    description: str = ""
    input_token_limit: int | None = None
    output_token_limit: int | None = None
    supported_generation_methods: list[str] = []
    thinking: bool | None = None


class ModelList(msgspec.Struct, rename="camel"):
    models: list[Model] = []
    next_page_token: str | None = None


_decoder = msgspec.json.Decoder(ModelList)


def model_list_request(cursor: str | None) -> UpstreamRequest:
    query = {"pageSize": str(PAGE_SIZE), **({"pageToken": cursor} if cursor else {})}
    return UpstreamRequest(
        path=f"{MODELS_PATH}?{urlencode(query)}", body=b"", headers={"accept": "application/json"}, stream=False
    )


def parse_model_list(body: bytes) -> ModelPage:
    try:
        page = _decoder.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError) as e:
        raise UpstreamProtocolError(f"Gemini sent a model list the gateway could not read: {e}") from e
    models = tuple(
        ListedModel(
            id=m.name.removeprefix("models/"),
            display_name=m.display_name,
            context_window=m.input_token_limit,
            max_output_tokens=m.output_token_limit,
            generates_text="generateContent" in m.supported_generation_methods,
            thinking=m.thinking,
        )
        for m in page.models
    )
    return ModelPage(models, page.next_page_token or None)
