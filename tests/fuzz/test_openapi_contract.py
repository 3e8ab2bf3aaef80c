"""Schemathesis against the gateway's own OpenAPI document (``GET /openapi.json``).

For every documented operation, schemathesis generates requests from the document, valid ones and
invalid ones, and checks each answer of the real gateway process: never a 5xx, and what the document
says (status codes, content types, response bodies matching their schemas).

The checks that judge the *meaning* of a request are left out on purpose: ``positive_data_acceptance``
("a request valid against the schema is accepted") and ``negative_data_rejection`` ("an invalid one is
refused"). The schema cannot say that a model id must exist or a key id must be known, and the gateway
accepts and reports unknown fields by design.

(Schemathesis' own pytest plugin does not run under this pytest, so the cases are drawn with its
strategies and sent here, like the fuzz suite does: a fixed seed, the same cases on every run.)
"""

from __future__ import annotations

from typing import Any

import httpx2 as httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from opentoken.http.openapi import openapi_document
from support.servers import Gateway

CASES_PER_MODE = 8  # per operation, for valid and for invalid data
SCHEMA = schemathesis.openapi.from_dict(openapi_document())
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]  # type: ignore[union-attr]  # Err raises


def test_the_served_document_is_the_generated_one(gateway: Gateway) -> None:
    served = httpx.get(gateway.url + "/openapi.json")
    assert served.status_code == 200 and served.headers["content-type"] == "application/json"
    assert served.json() == openapi_document()


def draw(operation: Any, mode: GenerationMode) -> list[Any]:
    cases: list[Any] = []

    @settings(
        max_examples=CASES_PER_MODE,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.generate,),
    )
    @seed(20261207)
    @given(operation.as_strategy(generation_mode=mode))
    def collect(case: Any) -> None:
        cases.append(case)

    try:
        collect()
    except Unsatisfiable:  # an operation without parameters or body: there is no invalid data to send
        assert mode is GenerationMode.NEGATIVE
    return cases


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_the_gateway_answers_as_its_document_says(operation: Any, gateway: Gateway) -> None:
    secret = gateway.admin_key if operation.path.startswith(("/admin/", "/metrics")) else gateway.key
    failures: list[str] = []
    sent = 0
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        for case in draw(operation, mode):
            sent += 1
            try:
                case.call_and_validate(
                    base_url=gateway.url,
                    headers={"Authorization": f"Bearer {secret}"},
                    excluded_checks=[positive_data_acceptance, negative_data_rejection],
                    timeout=30,
                )
            except AssertionError as e:  # schemathesis reports failed checks as AssertionError subclasses
                failures.append(f"{mode.value}: {e}"[:3000])
    assert sent >= 1
    assert not failures, "\n\n".join(failures[:5])
