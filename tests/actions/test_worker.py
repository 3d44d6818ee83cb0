"""Tool calls through a real Celery worker on the `tools` queue."""

from __future__ import annotations

import json
import time

import pytest

from actions.tasks import tool_invoke

from .conftest import operation_named, target_spec
from .target_api import Reply

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_tool_call_runs_on_the_worker_and_failures_do_not_stop_it(
    celery_worker, workspace, target, loopback_allowed, import_spec
) -> None:
    action = import_spec(
        target_spec(
            target.url,
            {
                "/items/{id}": {
                    "get": {
                        "operationId": "getItem",
                        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                        "responses": {"200": {"description": "ok"}},
                    }
                },
                "/boom": {"get": {"operationId": "boom", "responses": {"200": {"description": "ok"}}}},
            },
        ),
        auth_data={"type": "bearer", "token": "tok-worker-1234567890"},
    )
    target.handlers["/boom"] = lambda seen: Reply(500, {"error": "boom"})
    get_item = operation_named(action, "getItem").pk
    boom = operation_named(action, "boom").pk

    failed = tool_invoke.delay(workspace.pk, boom, "{}").get(timeout=60)
    assert failed["ok"] is False and failed["error"] == "http_500"

    started = time.monotonic()
    results = [tool_invoke.delay(workspace.pk, get_item, json.dumps({"id": str(i)})) for i in range(4)]
    outcomes = [result.get(timeout=60) for result in results]
    assert all(outcome["ok"] for outcome in outcomes), outcomes
    assert sorted(json.loads(o["content"])["path"] for o in outcomes) == [f"/items/{i}" for i in range(4)]
    assert time.monotonic() - started < 30
    assert all("tok-worker-1234567890" not in json.dumps(o) for o in outcomes)
    assert target.calls_to("/items/0")[0].header("Authorization") == "Bearer tok-worker-1234567890"

    invalid = tool_invoke.delay(workspace.pk, get_item, '{"id": 1}').get(timeout=60)
    assert invalid["error"] == "invalid_arguments"
