"""Thought signatures and Gemini call ids kept between turns (``ReplayState`` with provider ``"google"``).

Gemini signs parts of its reply (``thoughtSignature``) and, on some models, names its function calls
(``functionCall.id``). Both must go back on the same parts when the client sends the history again, but an
OpenAI client only sends back ids and text. So the adapter records, per choice, a small JSON document in
``Choice.replay`` / ``ReplayUpdate``; the pipeline stores it by tool-call id and hands it back on
``Message.replay``. The document (``ReplayData``) is:

    {"calls": [{"id": <tool_call.id>, "native": true|absent, "signature": <sig>|absent}, ...],
     "text_signature": <sig>|absent}

- ``calls`` lists every function call of the choice in order. ``native`` is true when the id came from Gemini
  (then it is sent back in ``functionCall.id`` and ``functionResponse.id``; generated ids never are).
- ``signature`` is the ``thoughtSignature`` of that call's part (Gemini puts it on the first call of a step).
- ``text_signature`` is a signature found on any other part (answer text, a thought, or the empty final
  text part of a stream); it goes back on the assistant text part. If several, the last one wins.
"""

from __future__ import annotations

import msgspec

from opentoken.core.chat import ReplayState
from opentoken.providers.gemini import wire

PROVIDER = "google"
DUMMY_SIGNATURE = "skip_thought_signature_validator"  # documented bypass for signatures we do not have


class CallReplay(msgspec.Struct, omit_defaults=True):
    id: str
    native: bool = False
    signature: str | None = None


class ReplayData(msgspec.Struct, omit_defaults=True):
    calls: list[CallReplay] = msgspec.field(default_factory=list)
    text_signature: str | None = None

    def call(self, call_id: str) -> CallReplay | None:
        return next((c for c in self.calls if c.id == call_id), None)


class ReplayBuilder:
    """Collects signatures and call ids part by part (the same way for a whole reply and for a stream)."""

    def __init__(self) -> None:
        self.data = ReplayData()

    def add_part(self, part: wire.Part, call_id: str | None) -> bool:
        """Record ``part`` (``call_id`` is the tool-call id given to its functionCall); True if anything changed."""
        call = part.function_call
        if call is not None and call_id is not None:
            self.data.calls.append(CallReplay(id=call_id, native=call.id is not None, signature=part.thought_signature))
            return True
        if part.thought_signature is not None:
            self.data.text_signature = part.thought_signature
            return True
        return False

    def state(self) -> ReplayState | None:
        """The replay state, or None when there is nothing Gemini needs back."""
        data = self.data
        if data.text_signature is None and not any(c.native or c.signature for c in data.calls):
            return None
        return ReplayState(provider=PROVIDER, data=msgspec.json.encode(data).decode())


def read_replay(state: ReplayState | None) -> ReplayData | None:
    """Our own replay data from a message, or None (another provider's state, or none at all).

    A document we cannot read is treated as absent: the request then goes out without signatures, and on
    Gemini 3 the documented dummy signature stands in for them.
    """
    if state is None or state.provider != PROVIDER:
        return None
    try:
        return msgspec.json.decode(state.data, type=ReplayData)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
