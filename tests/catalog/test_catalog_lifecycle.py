"""Lifecycle: Deprecation / Sunset / successor Link headers, the retirement policies, disabled models."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest

from opentoken.catalog.compose import compose
from opentoken.catalog.lifecycle import RetiredPolicy, lifecycle_headers
from opentoken.catalog.lookup import Catalog
from opentoken.catalog.model import Lifecycle
from opentoken.catalog.registry import load_base
from opentoken.core.errors import ModelNotFound, ModelRetired
from opentoken.stores.catalog import CatalogData, CatalogEntry, ModelSpec

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
SONNET_45, SONNET_46 = "anthropic/claude-sonnet-4-5", "anthropic/claude-sonnet-4-6"
OPUS_45, OPUS_46 = "anthropic/claude-opus-4-5", "anthropic/claude-opus-4-6"
HAIKU = "anthropic/claude-haiku-4-5"


def catalog(*entries: tuple[str, ModelSpec], policy: RetiredPolicy = "successor", at: datetime = NOW) -> Catalog:
    data = CatalogData(entries=tuple(CatalogEntry(i, s, NOW) for i, s in entries))
    return Catalog(compose(load_base(), data, policy), clock=lambda: at.timestamp())


def test_headers_use_the_rfc_forms() -> None:
    headers = lifecycle_headers(Lifecycle(deprecated=date(2026, 9, 1), retired=date(2026, 11, 30), successor=SONNET_46))
    assert headers["deprecation"] == f"@{int(datetime(2026, 9, 1, tzinfo=UTC).timestamp())}"  # RFC 9745
    assert headers["sunset"] == "Mon, 30 Nov 2026 00:00:00 GMT"  # RFC 8594: an HTTP-date
    assert parsedate_to_datetime(headers["sunset"]) == datetime(2026, 11, 30, tzinfo=UTC)
    assert headers["link"] == f'</v1/models/{SONNET_46}>; rel="successor-version"'
    only_retired = lifecycle_headers(Lifecycle(retired=date(2026, 11, 30)))  # a retired model is deprecated too
    assert only_retired["deprecation"] == f"@{int(datetime(2026, 11, 30, tzinfo=UTC).timestamp())}"
    assert "link" not in only_retired
    assert lifecycle_headers(Lifecycle(successor=SONNET_46)) == {}


def test_a_deprecated_model_answers_normally_with_the_headers() -> None:
    spec = ModelSpec(deprecated=date(2026, 12, 1), retired=date(2027, 2, 1), successor=OPUS_46)
    cat = catalog((OPUS_45, spec))
    assert cat.resolve(OPUS_45).id == OPUS_45
    assert cat.snapshot.states[OPUS_45] == "deprecated" and OPUS_45 in {m.id for m in cat}
    notices = cat.notices("claude-opus-4-5-20251101")  # the same through an alias
    assert set(notices) == {"deprecation", "sunset", "link"} and notices["sunset"] == "Mon, 01 Feb 2027 00:00:00 GMT"


def test_an_announced_deprecation_is_sent_before_its_date() -> None:
    cat = catalog((OPUS_45, ModelSpec(deprecated=date(2027, 1, 15))))
    assert cat.snapshot.states[OPUS_45] == "active"
    assert cat.notices(OPUS_45)["deprecation"] == f"@{int(datetime(2027, 1, 15, tzinfo=UTC).timestamp())}"


def test_retired_models_go_to_their_successor_by_default() -> None:
    cat = catalog()
    for name in (SONNET_45, "claude-sonnet-4-5", "claude-sonnet-4-5-20250929"):
        assert cat.resolve(name).id == SONNET_46
        notices = cat.notices(name)
        assert notices["x-opentoken-retired-model"] == SONNET_45
        assert notices["x-opentoken-successor-model"] == SONNET_46
        assert notices["sunset"] == "Mon, 30 Nov 2026 00:00:00 GMT"
    assert SONNET_45 not in {m.id for m in cat} and SONNET_46 in {m.id for m in cat}


def test_retirement_takes_effect_at_midnight_utc() -> None:
    before = catalog(at=datetime(2026, 11, 29, 23, 59, 59, tzinfo=UTC))
    assert before.resolve(SONNET_45).id == SONNET_45 and before.snapshot.states[SONNET_45] == "active"
    assert before.notices(SONNET_45)["sunset"] == "Mon, 30 Nov 2026 00:00:00 GMT"  # announced ahead
    assert before.snapshot.valid_until == datetime(2026, 11, 30, tzinfo=UTC).timestamp()
    assert catalog(at=datetime(2026, 11, 30, tzinfo=UTC)).resolve(SONNET_45).id == SONNET_46


def test_the_refuse_policy_answers_410_model_retired_naming_the_successor() -> None:
    cat = catalog(policy="refuse")
    with pytest.raises(ModelRetired) as info:
        cat.resolve("claude-sonnet-4-5", loc=("fallback_models", 0))
    err = info.value
    assert (err.status, err.code, err.loc, err.type) == (
        410,
        "model_retired",
        ("fallback_models", 0),
        "invalid_request_error",
    )
    assert SONNET_46 in err.message and "2026-11-30" in err.message
    assert err.headers["sunset"] == "Mon, 30 Nov 2026 00:00:00 GMT" and SONNET_46 in err.headers["link"]
    assert cat.get(SONNET_45) is None


def test_successors_are_followed_through_retired_ones() -> None:
    retired = ModelSpec(retired=date(2026, 12, 1), successor=OPUS_46)
    cat = catalog((SONNET_46, retired))  # 4.5 -> 4.6 (retired too) -> Opus 4.6
    assert cat.resolve(SONNET_45).id == OPUS_46
    assert cat.notices(SONNET_45)["x-opentoken-successor-model"] == OPUS_46


@pytest.mark.parametrize(
    "successor_spec",
    [
        ModelSpec(enabled=False),  # the successor is disabled
        ModelSpec(retired=date(2026, 12, 1), successor=SONNET_45),  # a cycle
        ModelSpec(retired=date(2026, 12, 1), successor=None),  # retired, nothing after it
    ],
    ids=["disabled", "cycle", "dead-end"],
)
def test_without_a_usable_successor_a_retired_model_is_refused(successor_spec: ModelSpec) -> None:
    cat = catalog((SONNET_46, successor_spec))
    with pytest.raises(ModelRetired, match="not available either"):
        cat.resolve(SONNET_45)


def test_a_disabled_model_is_not_found_by_id_or_alias_and_not_listed() -> None:
    cat = catalog((HAIKU, ModelSpec(enabled=False)))
    for name in (HAIKU, "claude-haiku-4-5-20251001"):
        with pytest.raises(ModelNotFound, match="disabled") as info:
            cat.resolve(name)
        assert info.value.code == "model_not_found" and info.value.status == 400
    assert HAIKU not in {m.id for m in cat} and cat.get(HAIKU) is None
    assert cat.entry(HAIKU) is not None and cat.snapshot.states[HAIKU] == "disabled"


def test_an_unknown_model_suggests_close_ids() -> None:
    with pytest.raises(ModelNotFound, match="anthropic/claude-haiku-4-5") as info:
        catalog().resolve("anthropic/claude-haiku-4")
    assert info.value.loc == ("model",)


def test_valid_until_is_the_next_lifecycle_date() -> None:
    cat = catalog((OPUS_45, ModelSpec(deprecated=date(2026, 12, 20))), at=NOW)
    assert cat.snapshot.valid_until == datetime(2026, 12, 20, tzinfo=UTC).timestamp()
    later = NOW + timedelta(days=30)
    assert (
        catalog((OPUS_45, ModelSpec(deprecated=date(2026, 12, 20))), at=later).snapshot.states[OPUS_45] == "deprecated"
    )
