"""``:embedContent`` and ``:batchEmbedContents`` for embedding models (``gemini-embedding-001``).

- Request: ``content`` (only its text parts are embedded), ``taskType``, ``title`` (used with
  ``RETRIEVAL_DOCUMENT``), ``outputDimensionality`` (128-3072, default 3072); in a batch every request also
  names its ``model`` as ``models/{name}``, the model of the URL, and a batch holds at most 100 requests
  (``* BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch``).
- Vectors are derived from the model, the task type, the title and the text (the first 2048 tokens, as the
  model truncates longer input), so the same input always gives the same vector. The full 3072-value vector
  is normalised; a shorter ``outputDimensionality`` keeps its first values, which are then not normalised
  (as ``gemini-embedding-001`` answers). Values are float32 numbers.
- Replies carry no token usage (``{"embedding": {"values": [...]}}``, ``{"embeddings": [{"values": ...}]}``):
  clients count tokens with ``countTokens``.
"""

from __future__ import annotations

import array
import hashlib
import math
import struct
from dataclasses import dataclass
from typing import Any

from opentoken_sandbox.gemini.errors import field_error, invalid
from opentoken_sandbox.gemini.models import GeminiModel
from opentoken_sandbox.gemini.payload import check_batch_payload, check_embed_payload, get
from opentoken_sandbox.gemini.validate import check_part, parts_of

FULL_DIMENSIONS = 3072
MIN_DIMENSIONS = 128
MAX_BATCH = 100
MAX_INPUT_TOKENS = 2048
TASK_TYPES = (
    "TASK_TYPE_UNSPECIFIED", "RETRIEVAL_QUERY", "RETRIEVAL_DOCUMENT", "SEMANTIC_SIMILARITY", "CLASSIFICATION",
    "CLUSTERING", "QUESTION_ANSWERING", "FACT_VERIFICATION", "CODE_RETRIEVAL_QUERY",
)  # fmt: skip
_TASK_ENUM = "type.googleapis.com/google.ai.generativelanguage.v1beta.TaskType"
_EMBED = "EmbedContentRequest"
_BATCH = "BatchEmbedContentsRequest"


@dataclass(frozen=True)
class EmbedInput:
    text: str
    task: str
    title: str | None
    dimensions: int


def _path(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _input(body: Any, where: str, request: str) -> EmbedInput:
    if not isinstance(body, dict):
        raise invalid(f"Invalid JSON payload received. Expected an object at '{where or 'request'}'.")
    check_embed_payload(body, where)
    content = get(body, "content")
    if not isinstance(content, dict) or not isinstance(get(content, "parts"), list) or not get(content, "parts"):
        raise field_error(_path(where, "content"), "content is not specified", request)
    for j, part in enumerate(parts_of(content)):
        check_part(part, _path(where, f"content.parts[{j}]"), request)
    task = get(body, "taskType") or "TASK_TYPE_UNSPECIFIED"
    if not isinstance(task, str) or task not in TASK_TYPES:
        raise invalid(f"Invalid value at '{_path(where, 'task_type')}' ({_TASK_ENUM}), \"{task}\"")
    title = get(body, "title")
    if title is not None and not isinstance(title, str):
        raise invalid(f"Invalid value at '{_path(where, 'title')}' (TYPE_STRING), {title}")
    dimensions = get(body, "outputDimensionality")
    if dimensions is None:
        dimensions = FULL_DIMENSIONS
    if isinstance(dimensions, bool) or not isinstance(dimensions, int):
        raise invalid(f"Invalid value at '{_path(where, 'output_dimensionality')}' (TYPE_INT32), {dimensions}")
    if not MIN_DIMENSIONS <= dimensions <= FULL_DIMENSIONS:
        raise field_error(
            _path(where, "output_dimensionality"),
            f"output_dimensionality must be between {MIN_DIMENSIONS} and {FULL_DIMENSIONS}.",
            request,
        )
    texts = [get(p, "text") for p in parts_of(content)]
    text = "\n".join(t for t in texts if isinstance(t, str))
    return EmbedInput(text[: MAX_INPUT_TOKENS * 4], task, title if task == "RETRIEVAL_DOCUMENT" else None, dimensions)


def vector(model: GeminiModel, item: EmbedInput) -> list[float]:
    seed = "\x1f".join((model.name, item.task, item.title or "", item.text)).encode()
    raw = hashlib.shake_256(seed).digest(FULL_DIMENSIONS * 2)
    values = [(v - 32768) / 32768 for v in struct.unpack(f"<{FULL_DIMENSIONS}H", raw)]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    unit = array.array("f", (v / norm for v in values))  # float32, as the API's values are
    return unit[: item.dimensions].tolist()


def _single(body: dict[str, Any]) -> list[EmbedInput]:
    name = get(body, "model")
    if name is not None and (not isinstance(name, str) or not name.startswith("models/")):
        raise field_error("model", "unexpected model name format", _EMBED)
    return [_input(body, "", _EMBED)]


def _batch(body: dict[str, Any], model: GeminiModel) -> list[EmbedInput]:
    check_batch_payload(body)
    requests = get(body, "requests")
    if not requests:
        raise field_error("requests", "requests is not specified", _BATCH)
    if len(requests) > MAX_BATCH:
        raise field_error("requests", f"at most {MAX_BATCH} requests can be in one batch", _BATCH)
    items = []
    for i, request in enumerate(requests):
        where = f"requests[{i}]"
        name = get(request, "model") if isinstance(request, dict) else None
        if name is None:
            raise field_error(f"{where}.model", "model is not specified", _BATCH)
        if not isinstance(name, str) or not name.startswith("models/"):
            raise field_error(f"{where}.model", "unexpected model name format", _BATCH)
        if name != f"models/{model.name}":
            raise field_error(f"{where}.model", f"model must be the model of the URL (models/{model.name})", _BATCH)
        items.append(_input(request, where, _BATCH))
    return items


def embed_inputs(body: Any, model: GeminiModel, batch: bool) -> list[EmbedInput]:
    """The validated inputs of an ``embedContent`` (one) or ``batchEmbedContents`` (1-100) request."""
    if not isinstance(body, dict):
        raise invalid("Invalid JSON payload received. Expected a JSON object.")
    return _batch(body, model) if batch else _single(body)


def embed_reply(model: GeminiModel, items: list[EmbedInput], batch: bool) -> dict[str, Any]:
    if batch:
        return {"embeddings": [{"values": vector(model, item)} for item in items]}
    return {"embedding": {"values": vector(model, items[0])}}
