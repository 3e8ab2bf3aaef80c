"""Admin wire models: request bodies (validated, errors name the field) and response objects.

Money is a decimal string (``"12.5"``) in responses and may be a string or a JSON number in requests;
times are RFC 3339 with a timezone. In a PATCH body an absent field is left alone and ``null`` clears it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal, TypeVar

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from opentoken.core.errors import InvalidRequest
from opentoken.stores.base import ApiKey, BudgetPeriod, KeyChanges, UsageRecord, UsageRow

MAX_BUDGET = Decimal("99999999999")  # NUMERIC(20, 9) holds 11 integer digits
Name = Annotated[str, Meta(min_length=1, max_length=200)]
Pattern = Annotated[str, Meta(min_length=1, max_length=200)]
Count32 = Annotated[int, Meta(ge=1, le=2**31 - 1)]
Count64 = Annotated[int, Meta(ge=1, le=2**63 - 1)]
AwareTime = Annotated[datetime, Meta(tz=True)]
MetaKey = Annotated[str, Meta(min_length=1, max_length=64)]
MetaValue = Annotated[str, Meta(max_length=1000)]
Metadata = Annotated[dict[MetaKey, MetaValue], Meta(max_length=64)]
Models = Annotated[list[Pattern], Meta(max_length=200)]
GroupName = Literal["key", "model", "provider", "day"]
GROUPS: tuple[GroupName, ...] = ("key", "model", "provider", "day")

_PATH = re.compile(r"^(?P<msg>.*?)(?: - at (?P<key>`key` in )?`\$\.?(?P<path>[^`]*)`)?$", re.S)
_FIELD = re.compile(r"(?:missing required|unknown) field `(?P<field>[^`]+)`")
T = TypeVar("T")


class KeyCreate(Struct, forbid_unknown_fields=True):
    name: Name
    owner: Name | None = None
    models: Models = []
    budget_usd: Decimal | None = None
    budget_period: BudgetPeriod = "none"
    rpm: Count32 | None = None
    tpm: Count64 | None = None
    max_concurrent: Count32 | None = None
    expires_at: AwareTime | None = None
    metadata: Metadata = {}

    def budget(self) -> Decimal | None:
        return None if self.budget_usd is None else money_param(self.budget_usd, "budget_usd")


class KeyUpdate(Struct, forbid_unknown_fields=True):
    name: Name | UnsetType = UNSET
    owner: Name | UnsetType | None = UNSET
    models: Models | UnsetType | None = UNSET
    budget_usd: Decimal | UnsetType | None = UNSET
    budget_period: BudgetPeriod | UnsetType | None = UNSET
    rpm: Count32 | UnsetType | None = UNSET
    tpm: Count64 | UnsetType | None = UNSET
    max_concurrent: Count32 | UnsetType | None = UNSET
    expires_at: AwareTime | UnsetType | None = UNSET
    metadata: Metadata | UnsetType | None = UNSET

    def changes(self) -> KeyChanges:
        """Present fields are set, ``null`` fields cleared, absent ones left as they are."""
        given = {f: getattr(self, f) for f in self.__struct_fields__ if getattr(self, f) is not UNSET}
        clear = tuple(f for f, v in given.items() if v is None)
        values: dict[str, Any] = {f: v for f, v in given.items() if v is not None}
        if "budget_usd" in values:
            values["budget_usd"] = money_param(values["budget_usd"], "budget_usd")
        if "models" in values:
            values["models"] = tuple(values["models"])
        return KeyChanges(**values, clear=clear)


def decode(body: bytes, type: type[T]) -> T:
    """Parse a JSON request body into ``type``; any problem is an InvalidRequest naming the field."""
    try:
        return msgspec.json.decode(body or b"{}", type=type)
    except msgspec.ValidationError as e:
        msg, param = validation_param(e)
        raise InvalidRequest(f"Invalid request: {msg}" + (f" (at {param})" if param else ""), param=param) from e
    except msgspec.DecodeError as e:
        raise InvalidRequest(f"The request body is not valid JSON: {e}", code="invalid_json") from e


def validation_param(err: msgspec.ValidationError) -> tuple[str, str | None]:
    m = _PATH.match(str(err))
    msg, path = (m.group("msg"), m.group("path")) if m else (str(err), None)
    if m and m.group("key"):
        msg += " (a key of the object)"  # msgspec's mark for a bad key rather than a bad value
    if path:
        path = path.replace("[...]", "")  # msgspec's mark for "some value of this mapping"
    named = _FIELD.search(msg)
    if named:
        path = f"{path}.{named.group('field')}" if path else named.group("field")
    return msg, path or None


def money_param(value: Decimal | str, param: str) -> Decimal:
    """A USD amount from a request: finite, not negative, at most 9 decimals and 11 integer digits."""
    try:
        amount = Decimal(value)
    except InvalidOperation as e:
        raise InvalidRequest(f"{param} must be a decimal number of USD, got {value!r}", param=param) from e
    if not amount.is_finite() or amount < 0 or amount > MAX_BUDGET:
        raise InvalidRequest(f"{param} must be between 0 and {MAX_BUDGET} USD, got {value!r}", param=param)
    if amount != amount.quantize(Decimal("1e-9")):
        raise InvalidRequest(f"{param} has more than 9 decimal places: {value!r}", param=param)
    return amount


def time_param(value: str, param: str) -> datetime:
    """``YYYY-MM-DD`` (midnight UTC) or an ISO 8601 time; a time without an offset is taken as UTC."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as e:
        raise InvalidRequest(f"{param} must be an ISO 8601 date or time, got {value!r}", param=param) from e
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def group_param(values: list[str], param: str = "group_by") -> tuple[GroupName, ...]:
    """Grouping names from ``a,b`` lists (repeatable); unknown names are an error naming the choices."""
    names = [name.strip() for value in values for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in GROUPS]
    if unknown:
        raise InvalidRequest(f"{param} accepts {', '.join(GROUPS)}; got {', '.join(unknown)}", param=param)
    ordered: list[GroupName] = []
    for name in names:
        group = next(g for g in GROUPS if g == name)
        if group not in ordered:
            ordered.append(group)
    return tuple(ordered)


# ---- responses -------------------------------------------------------------------------------------------


class KeyOut(Struct, omit_defaults=True):
    id: str
    name: str
    prefix: str
    status: Literal["active", "revoked", "expired"]
    created_at: datetime
    owner: str | None
    models: list[str]
    budget_usd: str | None
    budget_period: str
    rpm: int | None
    tpm: int | None
    max_concurrent: int | None
    expires_at: datetime | None
    revoked_at: datetime | None
    metadata: dict[str, str]
    object: str = "api_key"
    key: str | UnsetType = UNSET  # the secret: only in the answer to create and rotate
    spend_usd: str | UnsetType = UNSET  # spend in the current budget period (detail view)
    budget_remaining_usd: str | UnsetType | None = UNSET
    period_start: datetime | UnsetType | None = UNSET


class KeyList(Struct):
    data: list[KeyOut]
    object: str = "list"


class UsageRowOut(Struct):
    group: dict[str, str]
    requests: int
    input_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    output_tokens: int
    reasoning_tokens: int
    cost: str
    errors: int


class UsageOut(Struct):
    data: list[UsageRowOut]
    total: UsageRowOut
    group_by: list[str]
    object: str = "list"


class CostDetails(Struct):
    input: str
    cache_read: str
    cache_write: str
    output: str
    reasoning: str


class RequestOut(Struct):
    request_id: str
    key_id: str
    model: str
    provider: str
    upstream_model: str
    created_at: datetime
    status: int
    stream: bool
    error_code: str | None
    latency_ms: float
    ttft_ms: float | None
    attempts: int
    input_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    output_tokens: int
    reasoning_tokens: int
    cost: str
    cost_details: CostDetails


class RequestList(Struct):
    data: list[RequestOut]
    object: str = "list"


def usd(amount: Decimal) -> str:
    """A decimal string without exponent or trailing zeros: ``0.000370368``, ``12.5``, ``0``."""
    text = format(amount, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def key_status(key: ApiKey, now: datetime) -> Literal["active", "revoked", "expired"]:
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None and key.expires_at <= now:
        return "expired"
    return "active"


def key_out(key: ApiKey, now: datetime | None = None) -> KeyOut:
    return KeyOut(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        status=key_status(key, now or datetime.now(UTC)),
        created_at=key.created_at,
        owner=key.owner,
        models=list(key.models),
        budget_usd=None if key.budget_usd is None else usd(key.budget_usd),
        budget_period=key.budget_period,
        rpm=key.rpm,
        tpm=key.tpm,
        max_concurrent=key.max_concurrent,
        expires_at=key.expires_at,
        revoked_at=key.revoked_at,
        metadata=dict(key.metadata),
    )


def usage_row_out(row: UsageRow) -> UsageRowOut:
    return UsageRowOut(
        group=dict(row.group),
        requests=row.requests,
        input_tokens=row.input_tokens,
        cache_read_tokens=row.cache_read_tokens,
        cache_write_tokens=row.cache_write_tokens,
        output_tokens=row.output_tokens,
        reasoning_tokens=row.reasoning_tokens,
        cost=usd(row.cost),
        errors=row.errors,
    )


def usage_out(rows: list[UsageRow], group_by: tuple[str, ...]) -> UsageOut:
    total = UsageRow.total(rows)
    return UsageOut(data=[usage_row_out(r) for r in rows], total=usage_row_out(total), group_by=list(group_by))


def request_out(rec: UsageRecord) -> RequestOut:
    return RequestOut(
        request_id=rec.request_id,
        key_id=rec.key_id,
        model=rec.model,
        provider=rec.provider,
        upstream_model=rec.upstream_model,
        created_at=rec.created_at,
        status=rec.status,
        stream=rec.stream,
        error_code=rec.error_code,
        latency_ms=rec.latency_ms,
        ttft_ms=rec.ttft_ms,
        attempts=rec.attempts,
        input_tokens=rec.input_tokens,
        cache_read_tokens=rec.cache_read_tokens,
        cache_write_tokens=rec.cache_write_tokens,
        output_tokens=rec.output_tokens,
        reasoning_tokens=rec.reasoning_tokens,
        cost=usd(rec.cost),
        cost_details=CostDetails(
            input=usd(rec.cost_input),
            cache_read=usd(rec.cost_cache_read),
            cache_write=usd(rec.cost_cache_write),
            output=usd(rec.cost_output),
            reasoning=usd(rec.cost_reasoning),
        ),
    )


def encode(value: Struct) -> bytes:
    return msgspec.json.encode(value)
