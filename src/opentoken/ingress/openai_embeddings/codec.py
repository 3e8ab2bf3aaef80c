"""``POST /v1/embeddings``: the OpenAI ``CreateEmbeddingRequest`` -> canonical ``EmbedRequest``, and back.

- ``input``: a string or a list of 1-2048 strings (token-id arrays are refused: the providers behind the
  gateway take text only); empty strings are a 400 naming the item.
- ``dimensions`` -> shorter vectors (``EmbedRequest.dimensions``); ``encoding_format`` ``float`` (JSON
  numbers) or ``base64`` (little-endian float32 bytes, what the ``openai`` SDK asks for when numpy is
  installed). Both carry the same float32 values.
- ``user`` is accepted and reported as ignored (no provider takes it for embeddings).
- Errors use the OpenAI error shape; a neutral location ``("inputs", 3)`` is ``input[3]``.
"""

from __future__ import annotations

import array
import base64
import sys
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

from opentoken.core.embed import EmbedRequest, EmbedResult
from opentoken.core.errors import GatewayError, InvalidRequest, UnsupportedParameter
from opentoken.core.money import Cost
from opentoken.ingress.base import Rendered, name_list, served_headers
from opentoken.ingress.body import json_object, validation_error
from opentoken.ingress.openai.errors import ENCODER, error_headers, error_json
from opentoken.outcome import Served

MAX_INPUTS = 2048


class CreateEmbedding(Struct):
    model: str
    input: str | Annotated[list[Any], Meta(min_length=1, max_length=MAX_INPUTS)]
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: Annotated[int, Meta(ge=1)] | None = None
    user: str | None = None


KNOWN_FIELDS = frozenset(CreateEmbedding.__struct_fields__)


@dataclass(frozen=True, slots=True)
class ParsedEmbedding:
    request: EmbedRequest
    encoding: Literal["float", "base64"]
    ignored: tuple[str, ...] = ()


def parse_body(body: bytes) -> ParsedEmbedding:
    data = json_object(body)
    try:
        req = msgspec.convert(data, CreateEmbedding, strict=True)
    except msgspec.ValidationError as e:
        msg, param = validation_error(e)
        raise InvalidRequest(f"Invalid request: {msg}" + (f" (at {param})" if param else ""), param=param) from e
    inputs = [req.input] if isinstance(req.input, str) else req.input
    for i, item in enumerate(inputs):
        where = "input" if isinstance(req.input, str) else f"input[{i}]"
        if not isinstance(item, str):
            raise UnsupportedParameter("Inputs must be text: token-id arrays are not supported.", param=where)
        if not item.strip():
            raise InvalidRequest("An input to embed must not be empty.", param=where)
    ignored = tuple(sorted(k for k in data if k not in KNOWN_FIELDS)) + (("user",) if req.user else ())
    request = EmbedRequest(model=req.model, inputs=tuple(inputs), dimensions=req.dimensions, user=req.user)
    return ParsedEmbedding(request, req.encoding_format, ignored)


class EmbeddingOut(Struct):
    index: int
    embedding: list[float] | str
    object: Literal["embedding"] = "embedding"


class UsageOut(Struct):
    prompt_tokens: int
    total_tokens: int


class EmbeddingListOut(Struct):
    data: list[EmbeddingOut]
    model: str
    usage: UsageOut
    object: Literal["list"] = "list"


def float32(vector: tuple[float, ...]) -> array.array[float]:
    values = array.array("f", vector)
    if sys.byteorder == "big":
        values.byteswap()  # the wire format is little-endian
    return values


def _encoded(vector: tuple[float, ...], encoding: str) -> list[float] | str:
    values = float32(vector)
    if encoding == "base64":
        return base64.b64encode(values.tobytes()).decode()
    if sys.byteorder == "big":
        values.byteswap()
    return values.tolist()


def render(parsed: ParsedEmbedding, result: EmbedResult, served: Served, cost: Cost) -> Rendered:
    tokens = result.usage.prompt_tokens
    body = EmbeddingListOut(
        data=[EmbeddingOut(i, _encoded(v, parsed.encoding)) for i, v in enumerate(result.vectors)],
        model=served.model.id,
        usage=UsageOut(tokens, tokens),
    )
    headers = served_headers(served)
    headers["x-opentoken-cost-usd"] = str(cost.total)
    if parsed.ignored:
        headers["x-opentoken-ignored-params"] = name_list(parsed.ignored)
    return Rendered(200, ENCODER.encode(body), headers)


def render_error(err: GatewayError, parsed: ParsedEmbedding | None) -> Rendered:
    param = err.param
    if param is None and err.loc is not None:
        head, rest = err.loc[0], err.loc[1:]
        name = "input" if head == "inputs" else str(head)
        param = name + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in rest)
        if name == "input" and parsed is not None and len(parsed.request.inputs) == 1 and rest == (0,):
            param = "input"
    return Rendered(err.status, error_json(err.message, err.type, param, err.code), error_headers(err))
