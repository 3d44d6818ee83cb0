"""Provider services: validation before any write, last-test bookkeeping, catalogue filling."""

from __future__ import annotations

from decimal import Decimal

import pytest

from providers import clients, services
from providers.models import ModelKind, Provider, ProviderKind, ProviderModel
from switchboard.api.errors import status_for
from switchboard.errors import DomainError
from tests.providers.conftest import PLAINTEXT_KEY

pytestmark = pytest.mark.django_db


def test_create_keeps_the_key_usable_on_the_returned_instance(workspace, make_provider):
    provider = make_provider(workspace)
    assert provider.api_key.reveal() == PLAINTEXT_KEY
    assert provider.api_key.hint == "…1234"
    assert Provider.objects.get(pk=provider.pk).api_key.reveal() == PLAINTEXT_KEY


def test_blank_key_is_stored_as_no_key(workspace, make_provider):
    provider = make_provider(workspace, api_key="   ")
    assert provider.api_key is None
    assert Provider.objects.get(pk=provider.pk).api_key is None


def test_rejected_update_writes_nothing(workspace, make_provider):
    provider = make_provider(
        workspace,
        name="Azure",
        kind=ProviderKind.AZURE_OPENAI,
        base_url="https://acme.openai.azure.com",
        api_version="2024-10-21",
    )
    with pytest.raises(DomainError) as raised:
        services.provider_update(provider=provider, name="Azure prod", api_key="sk-new-key-0000000000", api_version="")
    assert raised.value.param == "api_version"
    stored = Provider.objects.get(pk=provider.pk)
    assert (stored.name, stored.api_version, stored.api_key.reveal()) == ("Azure", "2024-10-21", PLAINTEXT_KEY)


def test_kind_can_change_when_the_new_kind_is_complete(workspace, make_provider):
    provider = make_provider(workspace)
    with pytest.raises(DomainError) as raised:
        services.provider_update(provider=Provider.objects.get(pk=provider.pk), kind=ProviderKind.OPENAI_COMPATIBLE)
    assert raised.value.param == "base_url"
    updated = services.provider_update(
        provider=Provider.objects.get(pk=provider.pk),
        kind=ProviderKind.OPENAI_COMPATIBLE,
        base_url="http://vllm:8000/v1/",
    )
    assert (updated.kind, updated.effective_base_url) == (ProviderKind.OPENAI_COMPATIBLE, "http://vllm:8000/v1")


def test_last_test_is_cleared_only_when_the_connection_settings_change(workspace, fake_provider):
    services.provider_test(provider=fake_provider)
    renamed = services.provider_update(
        provider=Provider.objects.get(pk=fake_provider.pk), name="Renamed", timeout_seconds=5
    )
    assert renamed.last_test_ok is True  # a new name does not change what the test proved
    same_key = services.provider_update(provider=Provider.objects.get(pk=fake_provider.pk), api_key="sk-fake-test-key")
    assert same_key.last_test_ok is True
    moved = services.provider_update(
        provider=Provider.objects.get(pk=fake_provider.pk), base_url="http://127.0.0.1:9/v1"
    )
    assert moved.last_test_ok is None and moved.last_tested_at is None and moved.last_test_message == ""
    assert Provider.objects.get(pk=fake_provider.pk).last_test_ok is None


def test_provider_test_records_the_outcome_on_the_instance_and_row(fake_provider):
    result = services.provider_test(provider=fake_provider)
    assert result.ok
    assert fake_provider.last_test_ok is True and fake_provider.last_tested_at is not None
    stored = Provider.objects.get(pk=fake_provider.pk)
    assert (stored.last_test_ok, stored.last_test_message) == (True, result.message)
    assert stored.updated_at == fake_provider.updated_at  # recording a test is not an edit


def test_a_key_echoed_by_the_server_is_masked_in_the_stored_message(workspace, make_provider, monkeypatch):
    provider = make_provider(workspace)

    def echoing(_provider):
        return clients.ConnectionTest(False, f"The provider answered HTTP 400: bad key {PLAINTEXT_KEY}", 1.0)

    monkeypatch.setattr(clients, "check_connection", echoing)
    result = services.provider_test(provider=provider)
    assert PLAINTEXT_KEY not in result.message and "…1234" in result.message
    assert PLAINTEXT_KEY not in Provider.objects.get(pk=provider.pk).last_test_message


def test_model_create_fills_a_dated_snapshot_from_its_base_entry(workspace, make_provider):
    entry = services.provider_model_create(provider=make_provider(workspace), model="gpt-4o-mini-2024-07-18")
    assert entry.context_window == 128_000
    assert (entry.input_price_per_million, entry.output_price_per_million) == (Decimal("0.15"), Decimal("0.60"))


def test_model_of_the_wrong_kind_gets_nothing_from_the_catalogue(workspace, make_provider):
    entry = services.provider_model_create(
        provider=make_provider(workspace), model="text-embedding-3-small", kind=ModelKind.CHAT
    )
    assert entry.embedding_dimensions is None and entry.context_window is None
    assert entry.input_price_per_million == 0


def test_model_update_refuses_a_duplicate_and_changes_nothing(workspace, make_provider):
    provider = make_provider(workspace)
    services.provider_model_create(provider=provider, model="gpt-4o")
    mini = services.provider_model_create(provider=provider, model="gpt-4o-mini")
    with pytest.raises(DomainError) as raised:
        services.provider_model_update(provider_model=mini, model="gpt-4o", display_name="Clash")
    assert status_for(raised.value) == 409
    stored = ProviderModel.objects.get(pk=mini.pk)
    assert (stored.model, stored.display_name) == ("gpt-4o-mini", "")


def test_model_delete(workspace, make_provider):
    entry = services.provider_model_create(provider=make_provider(workspace), model="gpt-4o")
    services.provider_model_delete(provider_model=entry)
    assert not ProviderModel.objects.exists()


def test_provider_delete_removes_the_catalogue(workspace, make_provider):
    provider = make_provider(workspace)
    services.provider_model_create(provider=provider, model="gpt-4o")
    services.provider_delete(provider=provider)
    assert not Provider.objects.exists() and not ProviderModel.objects.exists()
