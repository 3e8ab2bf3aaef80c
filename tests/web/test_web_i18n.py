"""Every message of the console has a Korean translation, and the language follows the switch, then the
browser's Accept-Language."""

from __future__ import annotations

import re

from opentoken.web import i18n
from web.messages import all_messages

PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def test_every_message_has_a_korean_translation() -> None:
    korean = i18n.catalog("ko")
    missing = {m: where for m, where in all_messages().items() if not korean.get(m)}
    assert not missing, f"no Korean for {len(missing)} messages: {missing}"


def test_translations_keep_their_placeholders_and_none_is_stale() -> None:
    korean = i18n.catalog("ko")
    messages = all_messages()
    stale = sorted(set(korean) - set(messages))
    assert not stale, f"translations of messages no page uses any more: {stale}"
    for message, text in korean.items():
        assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(message)), message
        assert text.count("%%") == message.count("%%"), message


def test_language_negotiation() -> None:
    assert i18n.negotiate(None, None) == "en"
    assert i18n.negotiate(None, "ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7") == "ko"
    assert i18n.negotiate(None, "en-US,en;q=0.9,ko;q=0.8") == "en"
    assert i18n.negotiate(None, "fr-FR, de;q=0.9") == "en"
    assert i18n.negotiate(None, "fr;q=1, ko;q=0.5") == "ko"
    assert i18n.negotiate("en", "ko") == "en"  # the switch wins
    assert i18n.negotiate("xx", "ko") == "ko"
    assert i18n.negotiate(None, "ko;q=oops, en;q=0.2") == "en"
