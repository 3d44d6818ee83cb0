"""Fixtures for the action tests: a real local HTTP server as the target API, a workspace allowed to
call it (loopback is allowlisted on purpose), and imports through the real services."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from actions import services
from actions.importing import SpecSource, action_import
from actions.models import Action, Operation, SourceKind

from .target_api import TargetAPI


@pytest.fixture(scope="session")
def _target_server() -> Iterator[TargetAPI]:
    with TargetAPI() as server:
        yield server


@pytest.fixture
def target(_target_server: TargetAPI) -> Iterator[TargetAPI]:
    _target_server.reset()
    yield _target_server
    _target_server.reset()


@pytest.fixture
def loopback_allowed(workspace):
    """Loopback is a private address: the test workspace allowlists it explicitly, as an admin would."""
    return services.allowlist_entry_create(workspace=workspace, value="127.0.0.1", note="local test API")


@pytest.fixture
def import_spec(workspace):
    def make(document: dict[str, Any] | str, **kwargs: Any) -> Action:
        text = document if isinstance(document, str) else json.dumps(document)
        outcome = action_import(
            workspace=kwargs.pop("workspace", workspace), source=SpecSource(kind=SourceKind.TEXT, text=text), **kwargs
        )
        assert outcome.action is not None
        return outcome.action

    return make


def operation_named(action: Action, name: str) -> Operation:
    return Operation.objects.select_related("action").get(action=action, name=name)


def target_spec(base_url: str, paths: dict[str, Any], **extra: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": "Target API", "version": "1.0"},
        "servers": [{"url": base_url}],
        "paths": paths,
    }
    document.update(extra)
    return document
