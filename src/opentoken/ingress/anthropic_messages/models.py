"""``GET /v1/models`` and ``GET /v1/models/{id}`` in Anthropic's shape (requests that carry ``anthropic-version``).

A page is ``{"data": [{"type": "model", "id", "display_name", "created_at", "lifecycle", "deprecated_at",
"retires_at", "max_input_tokens", "max_tokens"}], "has_more", "first_id", "last_id"}``; the lifecycle comes
from the catalog entry's dates (``active`` until its deprecation date, ``deprecated`` until its retirement date,
``retired`` after). Paging follows Anthropic: ``limit`` (1-1000, default 20), ``after_id`` (the page after that id)
or ``before_id`` (the page before it), in catalog order. Ids are the catalog's public ids
(``{provider}/{model}``); ``GET /v1/models/{id}`` also takes an alias (Anthropic's own model names).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Literal

from msgspec import Struct

from opentoken.catalog.model import ModelInfo
from opentoken.core.errors import InvalidRequest, NotFound
from opentoken.ingress.anthropic_messages.errors import ENCODER

DEFAULT_LIMIT = 20
MAX_LIMIT = 1000


class ModelOut(Struct):
    id: str
    display_name: str
    created_at: str
    lifecycle: Literal["active", "deprecated", "retired"]
    deprecated_at: str | None
    retires_at: str | None
    max_input_tokens: int
    max_tokens: int
    type: Literal["model"] = "model"


class ModelPageOut(Struct):
    data: list[ModelOut]
    has_more: bool
    first_id: str | None
    last_id: str | None


def _stamp(day: date | None) -> str | None:
    return None if day is None else f"{day.isoformat()}T00:00:00Z"


def model_out(model: ModelInfo, today: date | None = None) -> ModelOut:
    created = datetime.fromtimestamp(model.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    life = model.lifecycle
    today = today or datetime.now(UTC).date()
    stage: Literal["active", "deprecated", "retired"] = (
        "retired"
        if life.retired is not None and life.retired <= today
        else "deprecated"
        if life.deprecated is not None and life.deprecated <= today
        else "active"
    )
    return ModelOut(
        id=model.id,
        display_name=model.name,
        created_at=created,
        lifecycle=stage,
        deprecated_at=_stamp(life.deprecated) if stage != "active" else None,
        retires_at=_stamp(life.retired) if stage != "active" else None,
        max_input_tokens=model.context_window,
        max_tokens=model.max_output_tokens,
    )


def model_json(model: ModelInfo) -> bytes:
    return ENCODER.encode(model_out(model))


def _limit(query: Mapping[str, str]) -> int:
    raw = query.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise InvalidRequest(f"limit: must be an integer from 1 to {MAX_LIMIT}", param="limit")
    return int(raw)


def _position(ids: list[str], model_id: str, param: str) -> int:
    try:
        return ids.index(model_id)
    except ValueError:
        raise NotFound(f"{param}: no model with id `{model_id}`", param=param) from None


def page_json(models: Sequence[ModelInfo], query: Mapping[str, str]) -> bytes:
    limit = _limit(query)
    ids = [m.id for m in models]
    after, before = query.get("after_id"), query.get("before_id")
    if after is not None and before is not None:
        raise InvalidRequest("Give after_id or before_id, not both.", param="before_id")
    if before is not None:
        end = _position(ids, before, "before_id")
        start = max(0, end - limit)
        has_more = start > 0
    else:
        start = _position(ids, after, "after_id") + 1 if after is not None else 0
        end = min(len(ids), start + limit)
        has_more = end < len(ids)
    page = [model_out(m) for m in models[start:end]]
    return ENCODER.encode(
        ModelPageOut(
            data=page,
            has_more=has_more,
            first_id=page[0].id if page else None,
            last_id=page[-1].id if page else None,
        )
    )
