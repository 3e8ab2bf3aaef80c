"""Provider state (``ReplayState``) as ``encrypted_content`` of a reasoning item: sealed, bound to the key.

The plaintext is the state's provider name and document; the associated data is this purpose and the id of
the API key that produced it, so a token opens only for that key (a tenant cannot replay another's
reasoning, even one it copied) and only as reasoning state. Tokens are sealed with the first key of the
gateway's ring and opened with any (``opentoken.core.seal``); one that fails is a 400 naming the item.
"""

from __future__ import annotations

import msgspec

from opentoken.core.chat import ReplayState
from opentoken.core.errors import InvalidRequest
from opentoken.core.seal import KeyRing, SealError
from opentoken.ingress.openai_responses.items import StateOpener

PURPOSE = b"opentoken/responses/reasoning-state/v1/"


class _Sealed(msgspec.Struct, array_like=True):
    provider: str
    data: str


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(_Sealed)


class StateSeal:
    def __init__(self, ring: KeyRing) -> None:
        self._ring = ring

    def seal(self, state: ReplayState, key_id: str) -> str:
        return self._ring.seal(_ENCODER.encode(_Sealed(state.provider, state.data)), PURPOSE + key_id.encode())

    def opener(self, key_id: str) -> StateOpener:
        context = PURPOSE + key_id.encode()

        def open_state(token: str, where: str) -> ReplayState:
            try:
                sealed = _DECODER.decode(self._ring.open(token, context))
            except SealError as e:
                raise InvalidRequest(
                    f"The encrypted content could not be verified: {e}. Send reasoning items back unchanged, "
                    "with the API key that received them.",
                    param=where,
                    code="invalid_encrypted_content",
                ) from e
            except msgspec.DecodeError as e:
                raise InvalidRequest("The encrypted content is not reasoning state.", param=where) from e
            return ReplayState(provider=sealed.provider, data=sealed.data)

        return open_state
