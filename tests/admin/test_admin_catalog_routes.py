"""The catalog admin API: list and show, add and change models (errors name the field), price history that is
never rewritten, disable / enable, and sync against the sandbox's model lists."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from opentoken.admin.catalog_service import CatalogAdmin
from opentoken.admin.routes import AdminServices
from opentoken.catalog.registry import load_base
from opentoken.providers.registry import all_providers
from opentoken.stores.factory import Stores, open_stores
from opentoken.upstream.client import Deployment, UpstreamClient
from opentoken.upstream.models import Listing, listings
from opentoken_sandbox.app import running_sandbox

from .test_admin_routes import ADMIN_KEY, admin_app, assert_error

FLASH, HAIKU = "google/gemini-3-flash", "anthropic/claude-haiku-4-5"
NEW = {
    "id": "anthropic/claude-next",
    "context_window": 300000,
    "max_output_tokens": 32000,
    "prices": {"input": "2", "output": "10"},
}


@dataclass
class Harness:
    http: httpx.AsyncClient
    stores: Stores
    sandbox: str
    changes: list[str] = field(default_factory=list)

    async def call(self, method: str, path: str, status: int = 200, **kw: Any) -> Any:
        resp = await self.http.request(
            method, "/admin/v1" + path, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, **kw
        )
        assert resp.status_code == status, resp.text
        return resp.json()

    async def error(self, method: str, path: str, status: int, code: str | None, param: str | None, **kw: Any) -> str:
        resp = await self.http.request(
            method, "/admin/v1" + path, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, **kw
        )
        return str(assert_error(resp, status, code, param)["message"])


@pytest.fixture(params=["memory", "sqlite"])
async def admin(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'catalog.db'}"
    stores = await open_stores(url, migrate=True)
    providers = all_providers()
    client = UpstreamClient()
    async with running_sandbox() as sandbox:
        changes: list[str] = []

        async def on_change() -> None:
            changes.append("catalog")

        async def lister() -> list[Listing]:
            return await listings(client, [Deployment(f"{n}-sb", p, sandbox, "k") for n, p in providers.items()])

        catalog = CatalogAdmin(stores.catalog, load_base(), "successor", frozenset(providers), on_change, lister)
        app = admin_app(AdminServices(stores.keys, stores.ledger, admin_key=ADMIN_KEY, catalog=catalog))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://admin.test") as http:
            yield Harness(http, stores, sandbox, changes)
    await client.close()
    await stores.close()


async def test_the_catalog_needs_the_admin_key(admin: Harness) -> None:
    resp = await admin.http.get("/admin/v1/models", headers={"Authorization": "Bearer wrong"})
    assert_error(resp, 401, "invalid_api_key")


async def test_list_and_show(admin: Harness) -> None:
    models = {m["id"]: m for m in (await admin.call("GET", "/models"))["data"]}
    sonnet = models["anthropic/claude-sonnet-4-5"]
    assert (sonnet["state"], sonnet["source"], sonnet["lifecycle"]["retired"]) == ("retired", "packaged", "2026-11-30")
    assert models[FLASH]["prices"] == {"input": "0.5", "output": "3", "cache_read": "0.05", "cache_write": "0"}
    detail = await admin.call("GET", f"/models/{HAIKU}")
    assert detail["price_history"] == [
        {
            "effective_from": None,
            "prices": {"input": "1", "output": "5", "cache_read": "0.1", "cache_write": "1.25"},
            "source": "packaged",
            "in_force": True,
            "created_at": None,
        }
    ]
    message = await admin.error("GET", "/models/claude-haiku-4-5", 404, "model_not_found", "model")
    assert HAIKU in message  # an alias: the answer names the id
    await admin.error("GET", "/models/anthropic/nope", 404, "model_not_found", "model")


async def test_add_a_model(admin: Harness) -> None:
    created = await admin.call(
        "POST", "/models", 201, json={**NEW, "aliases": ["claude-next"], "reasoning": "anthropic_adaptive"}
    )
    assert (created["state"], created["source"], created["upstream_model"]) == ("active", "database", "claude-next")
    assert created["prices"] == {"input": "2", "output": "10", "cache_read": "0", "cache_write": "0"}
    assert created["reasoning"] == "adaptive" and created["default_max_tokens"] == 32000
    assert admin.changes == ["catalog"]
    await admin.error("POST", "/models", 400, "model_exists", "id", json=NEW)
    await admin.error("POST", "/models", 400, "model_exists", "id", json={**NEW, "id": HAIKU})


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({k: v for k, v in NEW.items() if k != "prices"}, "prices"),
        ({**NEW, "context_window": None}, "context_window"),
        ({k: v for k, v in NEW.items() if k != "max_output_tokens"}, "max_output_tokens"),
        ({**NEW, "id": "openai/gpt-9"}, "id"),
        ({**NEW, "id": "no-slash"}, "id"),
        ({**NEW, "aliases": ["claude-haiku-4-5"]}, "aliases[0]"),
        ({**NEW, "successor": "anthropic/nope"}, "successor"),
        ({**NEW, "fallbacks": [HAIKU, "google/nope"]}, "fallbacks[1]"),
        ({**NEW, "default_max_tokens": 64000}, "default_max_tokens"),
        ({**NEW, "reasoning": "no-preset"}, "reasoning"),
        ({**NEW, "prices": {"input": "1.0000000001", "output": "1"}}, "prices.input"),
        ({**NEW, "prices": {"input": "-1", "output": "1"}}, "prices.input"),
        ({**NEW, "capabilities": {"telepathy": True}}, "capabilities.telepathy"),
        ({**NEW, "colour": "blue"}, "colour"),
    ],
)
async def test_a_bad_model_is_refused_naming_the_field(admin: Harness, body: dict[str, Any], param: str) -> None:
    await admin.error("POST", "/models", 400, "invalid_request", param, json=body)
    assert admin.changes == [] and await admin.stores.catalog.get_entry(body.get("id", "")) is None


async def test_change_merge_and_reset(admin: Harness) -> None:
    await admin.call("PATCH", f"/models/{FLASH}", json={"capabilities": {"vision": False}, "aliases": ["flash"]})
    changed = await admin.call(
        "PATCH", f"/models/{FLASH}", json={"capabilities": {"audio": False}, "deprecated": "2027-01-01"}
    )
    assert changed["capabilities"]["vision"] is False and changed["capabilities"]["audio"] is False  # merged
    assert set(changed["overridden"]) == {"capabilities", "aliases", "deprecated"} and changed["aliases"] == ["flash"]
    reset = await admin.call("PATCH", f"/models/{FLASH}", json={"reset": ["capabilities", "aliases"]})
    assert reset["capabilities"]["vision"] is True and reset["aliases"] == [] and reset["overridden"] == ["deprecated"]
    await admin.error(
        "PATCH", f"/models/{FLASH}", 400, "invalid_request", "reset", json={"aliases": ["x"], "reset": ["aliases"]}
    )
    await admin.error("PATCH", f"/models/{FLASH}", 400, "invalid_request", "reset", json={"reset": ["prices"]})
    await admin.error(
        "PATCH", f"/models/{FLASH}", 400, "invalid_request", "max_output_tokens", json={"max_output_tokens": None}
    )
    await admin.error("PATCH", "/models/google/nope", 404, "model_not_found", "model", json={"name": "x"})
    kept = await admin.call("PATCH", "/models/anthropic/claude-sonnet-4-5", json={"retired": None})
    assert kept["state"] == "active" and kept["lifecycle"]["retired"] is None  # the operator keeps it


async def test_price_history_is_appended_never_rewritten(admin: Harness) -> None:
    later = datetime.now(UTC) + timedelta(days=30)
    now_price = await admin.call("POST", f"/models/{FLASH}/prices", 201, json={"input": "0.6", "output": "3.5"})
    assert [p["in_force"] for p in now_price["data"]] == [False, True]
    assert now_price["data"][1]["prices"]["cache_read"] == "0.05"  # a cache price left out is kept
    scheduled = await admin.call(
        "POST", f"/models/{FLASH}/prices", 201, json={"input": 1, "output": 4, "effective_from": later.isoformat()}
    )
    assert [(p["prices"]["input"], p["in_force"]) for p in scheduled["data"]] == [
        ("0.5", False),
        ("0.6", True),
        ("1", False),
    ]
    model = await admin.call("GET", f"/models/{FLASH}")
    assert model["prices"]["input"] == "0.6" and [s["prices"]["input"] for s in model["scheduled"]] == ["1"]
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    await admin.error(
        "POST",
        f"/models/{FLASH}/prices",
        400,
        "invalid_request",
        "effective_from",
        json={"input": 1, "output": 1, "effective_from": past},
    )
    await admin.error(
        "POST",
        f"/models/{FLASH}/prices",
        400,
        "duplicate_price",
        "effective_from",
        json={"input": 2, "output": 2, "effective_from": later.isoformat()},
    )
    await admin.error("POST", f"/models/{FLASH}/prices", 400, "invalid_request", "output", json={"input": 1})
    in_force = now_price["data"][1]["effective_from"]
    await admin.error(
        "DELETE",
        f"/models/{FLASH}/prices",
        404,
        "price_not_found",
        "effective_from",
        params={"effective_from": in_force},
    )
    cancelled = await admin.call("DELETE", f"/models/{FLASH}/prices", params={"effective_from": later.isoformat()})
    assert [p["prices"]["input"] for p in cancelled["data"]] == ["0.5", "0.6"]
    assert (await admin.call("GET", f"/models/{FLASH}/prices"))["data"] == cancelled["data"]


async def test_disable_and_enable(admin: Harness) -> None:
    assert (await admin.call("POST", f"/models/{HAIKU}/disable"))["state"] == "disabled"
    assert (await admin.call("POST", f"/models/{HAIKU}/enable"))["state"] == "active"
    assert admin.changes == ["catalog", "catalog"]


async def test_sync_reports_and_applies_what_is_confirmed(admin: Harness) -> None:
    assert await admin.call("GET", "/catalog/sync") == {
        "providers": [
            {"provider": "anthropic", "deployment": "anthropic-sb", "listed": 5, "error": None},
            {"provider": "google", "deployment": "google-sb", "listed": 6, "error": None},
        ],
        "new": [],
        "unlisted": [],
        "added": [],
        "disabled": [],
        "object": "catalog.sync",
    }
    async with httpx.AsyncClient(base_url=admin.sandbox) as sandbox:
        anthropic = (await sandbox.get("/_sandbox/models")).json()["anthropic"]
    opus_47 = {
        "type": "model",
        "id": "claude-opus-4-7",
        "display_name": "Claude Opus 4.7",
        "created_at": "2026-12-01T00:00:00Z",
    }
    without_opus_41 = [m for m in anthropic if m["id"] != "claude-opus-4-1-20250805"]
    async with httpx.AsyncClient(base_url=admin.sandbox) as sandbox:
        assert (
            await sandbox.put("/_sandbox/models", json={"anthropic": [opus_47, *without_opus_41]})
        ).status_code == 200
    report = await admin.call("GET", "/catalog/sync")
    assert [(n["id"], n["display_name"]) for n in report["new"]] == [("anthropic/claude-opus-4-7", "Claude Opus 4.7")]
    assert [u["id"] for u in report["unlisted"]] == ["anthropic/claude-opus-4-1"]
    await admin.error("POST", "/catalog/sync", 400, "invalid_request", "add[0]", json={"add": [HAIKU]})
    done = await admin.call(
        "POST", "/catalog/sync", json={"add": ["anthropic/claude-opus-4-7"], "disable": ["anthropic/claude-opus-4-1"]}
    )
    assert (done["added"], done["disabled"]) == (["anthropic/claude-opus-4-7"], ["anthropic/claude-opus-4-1"])
    added = await admin.call("GET", "/models/anthropic/claude-opus-4-7")
    assert (added["state"], added["enabled"], added["prices"], added["upstream_model"]) == (
        "disabled",
        False,
        None,
        "claude-opus-4-7",
    )
    assert "catalog sync" in added["description"]
    await admin.error("POST", "/models/anthropic/claude-opus-4-7/enable", 400, "model_unpriced", "model")
    await admin.call("POST", "/models/anthropic/claude-opus-4-7/prices", 201, json={"input": "5", "output": "25"})
    assert (await admin.call("POST", "/models/anthropic/claude-opus-4-7/enable"))["state"] == "active"
    assert (await admin.call("GET", "/models/anthropic/claude-opus-4-1"))["state"] == "disabled"
    assert (await admin.call("GET", "/catalog/sync"))["new"] == [] and (await admin.call("GET", "/catalog/sync"))[
        "unlisted"
    ] == []
