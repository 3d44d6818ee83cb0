"""Fixtures for bots that call actions: a real local HTTP server as the target API."""

from __future__ import annotations

import json

import pytest

from actions import services as action_services
from actions.importing import SpecSource, action_import
from actions.models import Operation, SourceKind
from tests.actions.target_api import TargetAPI


@pytest.fixture(scope="module")
def _target():
    with TargetAPI() as server:
        yield server


@pytest.fixture
def target(_target):
    _target.reset()
    yield _target
    _target.reset()


@pytest.fixture
def operations(workspace, target):
    """getWeather (GET) and createOrder (POST, so consequential), imported from a spec."""
    action_services.allowlist_entry_create(workspace=workspace, value="127.0.0.1", note="the test target")
    spec = {
        "openapi": "3.0.3",
        "info": {"title": "Shop", "version": "1"},
        "servers": [{"url": target.url}],
        "paths": {
            "/weather": {
                "get": {
                    "operationId": "getWeather",
                    "summary": "Weather in a city",
                    "parameters": [{"name": "city", "in": "query", "required": True, "schema": {"type": "string"}}],
                    "responses": {"200": {"description": "ok"}},
                }
            },
            "/orders": {
                "post": {
                    "operationId": "createOrder",
                    "summary": "Order an item",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["item"],
                                    "properties": {"item": {"type": "string"}},
                                }
                            }
                        },
                    },
                    "responses": {"201": {"description": "created"}},
                }
            },
        },
    }
    outcome = action_import(workspace=workspace, source=SpecSource(kind=SourceKind.TEXT, text=json.dumps(spec)))
    ops = {op.name: op for op in Operation.objects.filter(action=outcome.action)}
    return ops
