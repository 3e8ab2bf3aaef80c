"""Thought signatures: signed on our replies, required and verified on Gemini 3 function-call history.

Only the current turn is checked: the contents after the last user content that holds ordinary parts
(not only functionResponse parts). In it, the first functionCall part of every model step must carry the
signature it was given (or the documented dummy ``skip_thought_signature_validator``).
"""

from __future__ import annotations

from typing import Any

from opentoken_sandbox.gemini.errors import invalid
from opentoken_sandbox.gemini.models import GeminiModel
from opentoken_sandbox.gemini.payload import get
from opentoken_sandbox.gemini.validate import parts_of, role_of
from opentoken_sandbox.signing import GEMINI_DUMMY_SIGNATURE, Check, Signer

CALL_KIND = "gemini.function_call"
TEXT_KIND = "gemini.text"


def current_turn_start(contents: list[dict[str, Any]]) -> int:
    for i in range(len(contents) - 1, -1, -1):
        content = contents[i]
        if role_of(content) == "user" and any(get(p, "functionResponse") is None for p in parts_of(content)):
            return i + 1
    return 0


def check_signatures(contents: list[dict[str, Any]], model: GeminiModel, signer: Signer, accept_foreign: bool) -> None:
    if not model.gen3:
        return
    for i in range(current_turn_start(contents), len(contents)):
        content = contents[i]
        if role_of(content) != "model":
            continue
        first = next((p for p in parts_of(content) if get(p, "functionCall") is not None), None)
        if first is None:
            continue
        name = get(get(first, "functionCall"), "name")
        signature = get(first, "thoughtSignature")
        if signature is None:
            raise invalid(
                "Function call is missing a thought_signature in functionCall parts. This is required for tools "
                "to work correctly, and missing thought_signature may lead to degraded model performance. "
                f"Additional data, function call `default_api:{name}` , position {i + 1}. Please refer to "
                "https://ai.google.dev/gemini-api/docs/thought-signatures for more details."
            )
        if signature == GEMINI_DUMMY_SIGNATURE:
            continue
        verdict = signer.check(CALL_KIND, name.encode(), signature)
        if verdict is Check.VALID or (verdict is Check.FOREIGN and accept_foreign):
            continue
        raise invalid("Corrupted thought signature.")
