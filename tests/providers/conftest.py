"""Fixtures for the provider tests: providers built through the services, other workspaces, roles."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.services import api_key_create
from providers import services
from providers.models import ProviderKind

PLAINTEXT_KEY = "sk-proj-very-secret-plaintext-9f3a7c1234"
"""A provider API key long enough to have a hint (…1234) and distinctive enough to search for."""


@pytest.fixture
def make_provider():
    def make(workspace, **overrides):
        fields = {"name": "OpenAI", "kind": ProviderKind.OPENAI, "api_key": PLAINTEXT_KEY}
        fields.update(overrides)
        return services.provider_create(workspace=workspace, **fields)

    return make


@pytest.fixture
def fake_provider(workspace, fake_llm, make_provider):
    """An OpenAI-compatible provider pointing at the fake LLM with the right key."""
    return make_provider(
        workspace,
        name="Fake",
        kind=ProviderKind.OPENAI_COMPATIBLE,
        base_url=fake_llm.base_url,
        api_key="sk-fake-test-key",
    )


@pytest.fixture
def other_workspace(db):
    from tests.factories import WorkspaceFactory

    return WorkspaceFactory()


@pytest.fixture
def api_for_role(workspace):
    def make(role: str) -> APIClient:
        _, secret = api_key_create(workspace=workspace, name=f"{role} key", role=role)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        return client

    return make


@pytest.fixture
def viewer_api(api_for_role) -> APIClient:
    return api_for_role(Role.VIEWER)
