"""The model chain of a request: per-request ``models``, catalog ``fallbacks``, key rules, request building."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from opentoken.catalog.registry import load_catalog
from opentoken.core.chat import ChatRequest
from opentoken.core.errors import ModelNotAllowed, ModelNotFound, ModelRetired, UnsupportedParameter
from opentoken.ingress.openai_chat.parse import parse_body
from opentoken.providers.registry import all_providers
from opentoken.routing.chain import chain_models, prepare_chain
from opentoken.stores.base import ApiKey
from opentoken.upstream.media import MediaFetcher

SONNET, HAIKU, FLASH = "anthropic/claude-sonnet-4-6", "anthropic/claude-haiku-4-5", "google/gemini-3-flash"
RETIRED = "anthropic/claude-sonnet-4-5"  # retired on 2026-11-30 in the packaged catalog, successor SONNET


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory):
    extra: Path = tmp_path_factory.mktemp("chain") / "models.toml"
    extra.write_text(
        '[[model]]\nid = "anthropic/with-chain"\nupstream_model = "claude-sonnet-4-5"\ncontext_window = 1000\n'
        'max_output_tokens = 100\nprices = { input = "1", output = "1" }\n'
        f'fallbacks = ["{HAIKU}", "anthropic/not-in-catalog", "{FLASH}", "{HAIKU}"]\n'
    )
    return load_catalog(extra)


def key(*models: str) -> ApiKey:
    return ApiKey(id="k", name="k", prefix="ot-", key_hash="0", created_at=datetime.now(UTC), models=models)


def request(model: str, **extra: Any) -> ChatRequest:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}], **extra}
    return parse_body(orjson.dumps(body)).request


def ids(models: list[Any]) -> list[str]:
    return [m.id for m in models]


def test_request_models_replace_the_catalog_chain(catalog) -> None:
    got = chain_models(request("anthropic/with-chain", models=[FLASH, FLASH, SONNET]), key(), catalog)
    assert ids(got) == ["anthropic/with-chain", FLASH, SONNET]


def test_catalog_chain_skips_unknown_and_forbidden_models(catalog) -> None:
    assert ids(chain_models(request("anthropic/with-chain"), key(), catalog)) == ["anthropic/with-chain", HAIKU, FLASH]
    assert ids(chain_models(request("anthropic/with-chain"), key("anthropic/*"), catalog)) == [
        "anthropic/with-chain",
        HAIKU,
    ]


def test_a_retired_model_in_the_chain_is_answered_by_its_successor(catalog) -> None:
    assert ids(chain_models(request(RETIRED), key(), catalog)) == [SONNET]
    assert ids(chain_models(request(FLASH, models=[RETIRED]), key(), catalog)) == [FLASH, SONNET]
    # the key is checked against the model that answers: a key for the retired id alone may not use another
    with pytest.raises(ModelNotAllowed):
        chain_models(request(RETIRED), key(RETIRED), catalog)


def test_a_retired_model_is_refused_naming_its_index_under_the_refuse_policy() -> None:
    refusing = load_catalog(retired="refuse")
    with pytest.raises(ModelRetired) as info:
        chain_models(request(FLASH, models=[HAIKU, RETIRED]), key(), refusing)
    assert info.value.loc == ("fallback_models", 1) and info.value.status == 410 and SONNET in info.value.message


def test_unknown_request_fallback_names_its_index(catalog) -> None:
    with pytest.raises(ModelNotFound) as info:
        chain_models(request(SONNET, models=[FLASH, "google/nope"]), key(), catalog)
    assert info.value.loc == ("fallback_models", 1)


def test_forbidden_request_fallback_names_its_index(catalog) -> None:
    with pytest.raises(ModelNotAllowed) as info:
        chain_models(request(SONNET, models=[FLASH]), key("anthropic/*"), catalog)
    assert info.value.loc == ("fallback_models", 0) and info.value.status == 403


def test_forbidden_primary_is_refused(catalog) -> None:
    with pytest.raises(ModelNotAllowed) as info:
        chain_models(request(FLASH), key("anthropic/*"), catalog)
    assert info.value.loc == ("model",)


async def test_fallback_that_cannot_take_the_request_is_left_out(catalog) -> None:
    media = MediaFetcher(max_bytes=1000, timeout=1)
    providers = all_providers()
    wants_logprobs = request(FLASH, logprobs=True, models=[SONNET, "google/gemini-2.5-flash"])
    chain = await prepare_chain(wants_logprobs, chain_models(wants_logprobs, key(), catalog), providers, media)
    assert [p.model.id for p in chain] == [FLASH, "google/gemini-2.5-flash"]  # Claude has no logprobs
    primary_cannot = request(SONNET, logprobs=True, models=[FLASH])
    with pytest.raises(UnsupportedParameter):
        await prepare_chain(primary_cannot, chain_models(primary_cannot, key(), catalog), providers, media)
    await media.close()
