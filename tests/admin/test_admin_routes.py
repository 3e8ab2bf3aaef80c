"""The admin API: auth, key CRUD with the secret shown once, validation errors naming the field, usage."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException

from opentoken.admin.routes import AdminServices, admin_routes
from opentoken.auth.keys import hash_key
from opentoken.core.errors import GatewayError
from opentoken.http.errors import gateway_error_handler, http_exception_handler
from opentoken.stores.base import UsageRecord
from opentoken.stores.factory import Stores, open_stores
from opentoken.stores.memory import MemoryKeyStore, MemoryLedger

ADMIN_KEY = "admin-secret-for-tests"


@dataclass
class AdminHarness:
    http: httpx.AsyncClient
    stores: Stores
    changed: list[str] = field(default_factory=list)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {ADMIN_KEY}"}


def admin_app(services: AdminServices) -> Starlette:
    return Starlette(
        routes=admin_routes(services),
        exception_handlers={GatewayError: gateway_error_handler, HTTPException: http_exception_handler},
    )


@pytest.fixture(params=["memory", "sqlite"])
async def admin(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AdminHarness]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'admin.db'}"
    stores = await open_stores(url, migrate=True)
    changed: list[str] = []

    async def on_key_changed(key_id: str) -> None:
        changed.append(key_id)

    services = AdminServices(stores.keys, stores.ledger, admin_key=ADMIN_KEY, on_key_changed=on_key_changed)
    transport = httpx.ASGITransport(app=admin_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://admin.test") as http:
        yield AdminHarness(http, stores, changed)
    await stores.close()


def assert_error(resp: httpx.Response, status: int, code: str | None, param: str | None = None) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    error = resp.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == code and error["param"] == param and error["message"]
    return dict(error)


async def create(admin: AdminHarness, **body: Any) -> dict[str, Any]:
    resp = await admin.http.post("/admin/v1/keys", json={"name": "k", **body}, headers=admin.auth)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


async def test_disabled_without_an_admin_key() -> None:
    app = admin_app(AdminServices(MemoryKeyStore(), MemoryLedger(), admin_key=None))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        resp = await http.get("/admin/v1/keys", headers={"Authorization": "Bearer anything"})
    error = assert_error(resp, 403, "admin_disabled")
    assert "OPENTOKEN_ADMIN_KEY" in error["message"]


async def test_missing_or_wrong_admin_key_is_401(admin: AdminHarness) -> None:
    assert_error(await admin.http.get("/admin/v1/keys"), 401, "missing_api_key")
    assert_error(await admin.http.get("/admin/v1/keys", headers={"Authorization": "Basic x"}), 401, "missing_api_key")
    wrong = await admin.http.post("/admin/v1/keys", json={"name": "x"}, headers={"Authorization": "Bearer nope"})
    assert_error(wrong, 401, "invalid_api_key")
    assert await admin.stores.keys.list() == []


async def test_create_shows_the_secret_once(admin: AdminHarness) -> None:
    body = await create(
        admin,
        name="alice",
        owner="team-a",
        models=["google/*"],
        budget_usd="12.5",
        budget_period="monthly",
        rpm=60,
        tpm=100000,
        max_concurrent=3,
        expires_at="2030-01-01T00:00:00Z",
        metadata={"env": "prod"},
    )
    secret = body["key"]
    assert secret.startswith("ot-") and len(secret) == 43 and body["prefix"] == secret[:10]
    assert (body["name"], body["budget_usd"], body["rpm"], body["status"]) == ("alice", "12.5", 60, "active")
    stored = await admin.stores.keys.get_by_hash(hash_key(secret))
    assert stored is not None and stored.id == body["id"] and stored.budget_usd == Decimal("12.5")

    listed = await admin.http.get("/admin/v1/keys", headers=admin.auth)
    assert listed.status_code == 200 and secret not in listed.text
    (item,) = listed.json()["data"]
    assert "key" not in item and item["prefix"] == secret[:10] and item["id"] == body["id"]

    detail = (await admin.http.get(f"/admin/v1/keys/{body['id']}", headers=admin.auth)).json()
    assert "key" not in detail and secret not in str(detail)
    assert (detail["spend_usd"], detail["budget_remaining_usd"]) == ("0", "12.5")


async def test_detail_reports_spend_in_the_current_period(admin: AdminHarness) -> None:
    body = await create(admin, budget_usd=2, budget_period="daily")
    now = datetime.now(UTC)
    await admin.stores.ledger.append_many(
        [
            _record("r1", body["id"], now, Decimal("0.25")),
            _record("r2", body["id"], now - timedelta(days=2), Decimal("100")),  # an earlier period
        ]
    )
    detail = (await admin.http.get(f"/admin/v1/keys/{body['id']}", headers=admin.auth)).json()
    assert (detail["spend_usd"], detail["budget_remaining_usd"]) == ("0.25", "1.75")
    assert detail["period_start"] == now.strftime("%Y-%m-%dT00:00:00Z")


async def test_unknown_key_is_404(admin: AdminHarness) -> None:
    for method, path in [("GET", ""), ("PATCH", ""), ("POST", "/revoke"), ("POST", "/rotate")]:
        kwargs: dict[str, Any] = {"json": {"rpm": 1}} if method == "PATCH" else {}
        resp = await admin.http.request(method, f"/admin/v1/keys/key_nope{path}", headers=admin.auth, **kwargs)
        assert_error(resp, 404, "key_not_found")
    assert admin.changed == []


async def test_create_validation_names_the_field(admin: AdminHarness) -> None:
    async def post(body: Any) -> httpx.Response:
        return await admin.http.post("/admin/v1/keys", json=body, headers=admin.auth)

    assert_error(await post({}), 400, "invalid_request", "name")
    assert_error(await post({"name": "x", "rpm": 0}), 400, "invalid_request", "rpm")
    assert_error(await post({"name": "x", "rpm": "5"}), 400, "invalid_request", "rpm")
    assert_error(await post({"name": "x", "bogus": 1}), 400, "invalid_request", "bogus")
    assert_error(await post({"name": "x", "budget_period": "yearly"}), 400, "invalid_request", "budget_period")
    assert_error(await post({"name": "x", "expires_at": "2030-01-01T00:00:00"}), 400, "invalid_request", "expires_at")
    assert_error(await post({"name": "x", "budget_usd": "0.0000000001"}), 400, "invalid_request", "budget_usd")
    assert_error(await post({"name": "x", "budget_usd": -1}), 400, "invalid_request", "budget_usd")
    assert_error(await post({"name": "x", "models": ["ok", ""]}), 400, "invalid_request", "models[1]")
    assert_error(await post({"name": "x", "metadata": {"a": 1}}), 400, "invalid_request", "metadata")
    bad_json = await admin.http.post("/admin/v1/keys", content=b"{nope", headers=admin.auth)
    assert_error(bad_json, 400, "invalid_json")
    assert await admin.stores.keys.list() == []


async def test_patch_sets_clears_and_notifies(admin: AdminHarness) -> None:
    body = await create(admin, owner="o", rpm=5, models=["google/*"], budget_usd=3)
    url = f"/admin/v1/keys/{body['id']}"
    resp = await admin.http.patch(url, json={"rpm": 9, "owner": None, "models": None, "tpm": 1000}, headers=admin.auth)
    assert resp.status_code == 200, resp.text
    updated = resp.json()
    assert (updated["rpm"], updated["owner"], updated["models"], updated["tpm"]) == (9, None, [], 1000)
    assert updated["budget_usd"] == "3" and "key" not in updated
    assert admin.changed == [body["id"]]
    stored = await admin.stores.keys.get(body["id"])
    assert stored is not None and (stored.rpm, stored.owner, stored.models) == (9, None, ())

    assert_error(await admin.http.patch(url, json={"name": None}, headers=admin.auth), 400, "invalid_request", "name")
    assert_error(
        await admin.http.patch(url, json={"max_concurrent": -1}, headers=admin.auth),
        400,
        "invalid_request",
        "max_concurrent",
    )
    assert admin.changed == [body["id"]]


async def test_revoke_and_rotate(admin: AdminHarness) -> None:
    body = await create(admin)
    old_hash = hash_key(body["key"])
    rotated = await admin.http.post(f"/admin/v1/keys/{body['id']}/rotate", headers=admin.auth)
    assert rotated.status_code == 200
    new_secret = rotated.json()["key"]
    assert new_secret != body["key"] and rotated.json()["prefix"] == new_secret[:10]
    assert await admin.stores.keys.get_by_hash(old_hash) is None
    assert (await admin.stores.keys.get_by_hash(hash_key(new_secret))) is not None

    revoked = await admin.http.post(f"/admin/v1/keys/{body['id']}/revoke", headers=admin.auth)
    assert revoked.status_code == 200
    assert revoked.json()["status"] == "revoked" and revoked.json()["revoked_at"]
    stored = await admin.stores.keys.get_by_hash(hash_key(new_secret))
    assert stored is not None and stored.revoked_at is not None
    assert admin.changed == [body["id"], body["id"]]

    again = await admin.http.post(f"/admin/v1/keys/{body['id']}/rotate", headers=admin.auth)
    assert_error(again, 400, "key_revoked")


def _record(request_id: str, key_id: str, at: datetime, cost: Decimal, **fields: Any) -> UsageRecord:
    values: dict[str, Any] = {
        "model": "google/gemini-3-flash",
        "provider": "google",
        "upstream_model": "gemini-3-flash-preview",
        "status": 200,
        "stream": False,
        "input_tokens": 10,
        "output_tokens": 5,
        "cost_input": cost,
        **fields,
    }
    return UsageRecord(request_id=request_id, key_id=key_id, created_at=at, cost=cost, **values)


async def test_usage_groups_and_filters(admin: AdminHarness) -> None:
    day = datetime(2025, 7, 1, 12, tzinfo=UTC)
    await admin.stores.ledger.append_many(
        [
            _record("r1", "key_a", day, Decimal("0.1")),
            _record("r2", "key_a", day + timedelta(days=1), Decimal("0.2"), status=502, error_code="upstream_error"),
            _record("r3", "key_b", day, Decimal("0.3"), model="anthropic/claude-sonnet-4-5", provider="anthropic"),
        ]
    )
    resp = await admin.http.get("/admin/v1/usage?group_by=key,day", headers=admin.auth)
    assert resp.status_code == 200, resp.text
    data = resp.json()
    assert [(r["group"], r["requests"], r["cost"], r["errors"]) for r in data["data"]] == [
        ({"key": "key_a", "day": "2025-07-01"}, 1, "0.1", 0),
        ({"key": "key_a", "day": "2025-07-02"}, 1, "0.2", 1),
        ({"key": "key_b", "day": "2025-07-01"}, 1, "0.3", 0),
    ]
    assert (data["total"]["requests"], data["total"]["cost"], data["total"]["input_tokens"]) == (3, "0.6", 30)

    params = {"provider": "google", "since": "2025-07-02", "group_by": "model"}
    filtered = (await admin.http.get("/admin/v1/usage", params=params, headers=admin.auth)).json()
    assert [(r["group"], r["cost"]) for r in filtered["data"]] == [({"model": "google/gemini-3-flash"}, "0.2")]
    totals = (await admin.http.get("/admin/v1/usage?key_id=key_b&until=2025-07-02", headers=admin.auth)).json()
    assert totals["data"][0]["group"] == {} and totals["total"]["cost"] == "0.3"

    bad_group = await admin.http.get("/admin/v1/usage?group_by=key,week", headers=admin.auth)
    assert_error(bad_group, 400, "invalid_request", "group_by")
    assert_error(
        await admin.http.get("/admin/v1/usage?since=yesterday", headers=admin.auth), 400, "invalid_request", "since"
    )


async def test_recent_requests(admin: AdminHarness) -> None:
    t = datetime(2025, 7, 1, tzinfo=UTC)
    await admin.stores.ledger.append_many(
        [
            _record("r1", "key_a", t, Decimal("0.000000001"), latency_ms=120.5, ttft_ms=30.0),
            _record("r2", "key_b", t + timedelta(seconds=1), Decimal(0), status=504, error_code="timeout", stream=True),
            _record("r3", "key_a", t + timedelta(seconds=2), Decimal("1.5")),
        ]
    )
    data = (await admin.http.get("/admin/v1/requests?limit=2", headers=admin.auth)).json()["data"]
    assert [r["request_id"] for r in data] == ["r3", "r2"]
    assert (data[1]["status"], data[1]["error_code"], data[1]["stream"], data[1]["cost"]) == (504, "timeout", True, "0")
    only_a = (await admin.http.get("/admin/v1/requests?key_id=key_a", headers=admin.auth)).json()["data"]
    assert [r["request_id"] for r in only_a] == ["r3", "r1"]
    first = only_a[1]
    assert (first["latency_ms"], first["ttft_ms"], first["cost"]) == (120.5, 30.0, "0.000000001")
    assert first["cost_details"]["input"] == "0.000000001" and first["created_at"] == "2025-07-01T00:00:00Z"
    assert_error(
        await admin.http.get("/admin/v1/requests?limit=0", headers=admin.auth), 400, "invalid_request", "limit"
    )


def test_a_bad_metadata_key_names_the_param() -> None:
    """Found by the fuzz suite: an empty metadata key was a 400 without a param."""
    from opentoken.admin.schema import KeyCreate, decode
    from opentoken.core.errors import InvalidRequest

    with pytest.raises(InvalidRequest) as e:
        decode(b'{"name": "x", "metadata": {"": "a"}}', KeyCreate)
    assert e.value.param == "metadata" and "key" in e.value.message
