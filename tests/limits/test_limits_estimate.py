"""Admission inputs: the prompt estimate never undercounts URL images, and a chain reserves its dearest model."""

from __future__ import annotations

from opentoken.catalog.registry import load_catalog
from opentoken.core.chat import ChatRequest, ImagePart, Message, TextPart
from opentoken.limits.estimate import URL_IMAGE_TOKENS, dearest, max_output, prompt_token_estimate


def test_url_images_add_their_allowance() -> None:
    text = ChatRequest(model="m", messages=(Message("user", (TextPart("hi"),)),))
    image = ChatRequest(model="m", messages=(Message("user", (TextPart("hi"), ImagePart(url="https://x/y.png"))),))
    assert prompt_token_estimate(image, 300) - prompt_token_estimate(text, 300) == URL_IMAGE_TOKENS
    assert prompt_token_estimate(text, 300) == 101


def test_the_dearest_model_of_a_chain_is_reserved() -> None:
    catalog = load_catalog()
    cheap, dear = catalog.resolve("google/gemini-2.5-flash-lite"), catalog.resolve("anthropic/claude-opus-4-1")
    request = ChatRequest(model=cheap.id, messages=(Message("user", (TextPart("hi"),)),), max_tokens=100)
    assert dearest(request, [cheap, dear], 50) is dear
    assert dearest(request, [cheap], 50) is cheap
    assert max_output(request, dear) == 100
    assert max_output(ChatRequest(model="m", messages=()), dear) == dear.default_max_tokens
