"""The providers REST API: CRUD, secrecy of the key, connection test, model catalogue, roles, tenancy."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from accounts.models import Role
from providers.models import ModelKind, Provider, ProviderKind, ProviderModel
from providers.services import provider_model_create
from tests.providers.conftest import PLAINTEXT_KEY

pytestmark = pytest.mark.django_db

PROVIDERS = "/api/v1/providers/"


def _body(response) -> str:
    return response.content.decode()


def _error(response) -> dict:
    return response.json()["error"]


def _create(api, **fields):
    payload = {"name": "OpenAI", "kind": "openai", "api_key": PLAINTEXT_KEY}
    payload.update(fields)
    return api.post(PROVIDERS, payload, format="json")


# -- CRUD -----------------------------------------------------------------------------------------


def test_provider_create_list_retrieve_update_delete(api, workspace):
    created = _create(api, name="DeepSeek", kind="openai_compatible", base_url="https://api.deepseek.com/v1/")
    assert created.status_code == 201, created.json()
    provider = created.json()
    assert provider["id"].startswith("prv_")
    assert provider["kind"] == "openai_compatible"
    assert provider["base_url"] == "https://api.deepseek.com/v1"  # trailing slash dropped
    assert provider["has_api_key"] is True
    assert provider["api_key_hint"] == "…1234"
    assert provider["last_test_ok"] is None
    assert "api_key" not in provider

    listed = api.get(PROVIDERS).json()
    assert [p["id"] for p in listed["data"]] == [provider["id"]]
    assert listed["next_cursor"] is None

    detail = api.get(f"{PROVIDERS}{provider['id']}")
    assert detail.status_code == 200
    assert detail.json()["name"] == "DeepSeek"

    patched = api.patch(
        f"{PROVIDERS}{provider['id']}",
        {"name": "DeepSeek main", "timeout_seconds": 30, "is_enabled": False},
        format="json",
    )
    assert patched.status_code == 200, patched.json()
    assert (patched.json()["name"], patched.json()["timeout_seconds"], patched.json()["is_enabled"]) == (
        "DeepSeek main",
        30,
        False,
    )
    stored = Provider.objects.get(pk=provider["id"])
    assert (stored.name, stored.timeout_seconds, stored.is_enabled) == ("DeepSeek main", 30, False)

    deleted = api.delete(f"{PROVIDERS}{provider['id']}")
    assert deleted.status_code == 204
    assert not Provider.objects.filter(pk=provider["id"]).exists()
    assert api.get(f"{PROVIDERS}{provider['id']}").status_code == 404


def test_openai_provider_defaults_to_the_openai_endpoint(api):
    provider = _create(api).json()
    assert provider["base_url"] == ""
    assert provider["effective_base_url"] == "https://api.openai.com/v1"


def test_deleting_a_provider_deletes_its_models(api, workspace, make_provider):
    provider = make_provider(workspace)
    provider_model_create(provider=provider, model="gpt-4o-mini")
    assert api.delete(f"{PROVIDERS}{provider.pk}").status_code == 204
    assert not ProviderModel.objects.filter(provider_id=provider.pk).exists()


def test_requests_without_an_api_key_are_401(client, db):
    response = client.get(PROVIDERS)
    assert response.status_code == 401
    assert _error(response)["type"] == "authentication_error"


# -- the API key ---------------------------------------------------------------------------------


def test_no_response_ever_contains_the_plaintext_key(api, fake_llm):
    created = _create(api, name="Fake", kind="openai_compatible", base_url=fake_llm.base_url)
    provider_id = created.json()["id"]
    responses = {
        "create": created,
        "list": api.get(PROVIDERS),
        "retrieve": api.get(f"{PROVIDERS}{provider_id}"),
        "patch": api.patch(f"{PROVIDERS}{provider_id}", {"name": "Fake 2"}, format="json"),
        "test": api.post(f"{PROVIDERS}{provider_id}/test"),  # the fake rejects this key: 401 path
    }
    for name, response in responses.items():
        assert response.status_code in (200, 201), (name, response.content)
        assert PLAINTEXT_KEY not in _body(response), name
        assert PLAINTEXT_KEY[4:-4] not in _body(response), name  # not even a large part of it
    assert responses["retrieve"].json()["api_key_hint"] == "…1234"
    # The key did reach the provider: it was sent (and rejected) on the wire.
    assert fake_llm.requests[-1].headers["authorization"] == f"Bearer {PLAINTEXT_KEY}"


def test_patch_without_api_key_keeps_it_and_empty_string_removes_it(api, workspace, make_provider):
    provider = make_provider(workspace)
    url = f"{PROVIDERS}{provider.pk}"

    kept = api.patch(url, {"name": "Renamed"}, format="json").json()
    assert kept["has_api_key"] is True
    assert Provider.objects.get(pk=provider.pk).api_key.reveal() == PLAINTEXT_KEY

    replaced = api.patch(url, {"api_key": "sk-another-key-000000005678"}, format="json").json()
    assert replaced["api_key_hint"] == "…5678"
    assert Provider.objects.get(pk=provider.pk).api_key.reveal() == "sk-another-key-000000005678"

    removed = api.patch(url, {"api_key": ""}, format="json").json()
    assert removed["has_api_key"] is False
    assert removed["api_key_hint"] is None
    assert Provider.objects.get(pk=provider.pk).api_key is None


# -- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "param", "words"),
    [
        ({"kind": "anthropic"}, "kind", "openai_compatible"),
        ({"kind": "openai_compatible"}, "base_url", "required"),
        ({"kind": "azure_openai", "base_url": "https://acme.openai.azure.com"}, "api_version", "required"),
        ({"kind": "openai_compatible", "base_url": "http://user:pass@localhost:11434/v1"}, "base_url", "api_key"),
        ({"kind": "openai_compatible", "base_url": "localhost:11434"}, "base_url", "http"),
        ({"name": "  "}, "name", ""),
        ({"timeout_seconds": 0}, "timeout_seconds", ""),
    ],
)
def test_invalid_provider_is_400_naming_the_field(api, payload, param, words):
    response = _create(api, **payload)
    assert response.status_code == 400, response.json()
    error = _error(response)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert words in error["message"]
    assert not Provider.objects.exists()


def test_duplicate_provider_name_is_409(api):
    assert _create(api, name="OpenAI").status_code == 201
    response = _create(api, name=" OpenAI ")
    assert response.status_code == 409
    assert _error(response)["param"] == "name"
    assert _error(response)["code"] == "duplicate_name"
    assert Provider.objects.count() == 1


def test_rejected_patch_changes_nothing(api, workspace, make_provider):
    provider = make_provider(
        workspace, name="Local", kind=ProviderKind.OPENAI_COMPATIBLE, base_url="http://localhost:11434/v1"
    )
    response = api.patch(f"{PROVIDERS}{provider.pk}", {"name": "Renamed", "base_url": ""}, format="json")
    assert response.status_code == 400
    assert _error(response)["param"] == "base_url"
    stored = Provider.objects.get(pk=provider.pk)
    assert (stored.name, stored.base_url) == ("Local", "http://localhost:11434/v1")


# -- connection test -------------------------------------------------------------------------------


def test_connection_test_succeeds_with_the_right_key(api, fake_provider):
    response = api.post(f"{PROVIDERS}{fake_provider.pk}/test")
    assert response.status_code == 200
    result = response.json()
    assert result["ok"] is True
    assert "fake-chat" in result["models"]
    assert result["message"].startswith("Connected")
    assert result["latency_ms"] >= 0
    provider = api.get(f"{PROVIDERS}{fake_provider.pk}").json()
    assert provider["last_test_ok"] is True
    assert provider["last_tested_at"] is not None
    assert provider["last_test_message"] == result["message"]


def test_connection_test_with_a_wrong_key_explains_the_401(api, workspace, fake_llm, make_provider):
    provider = make_provider(
        workspace,
        name="Fake",
        kind=ProviderKind.OPENAI_COMPATIBLE,
        base_url=fake_llm.base_url,
        api_key="sk-wrong-key-000000000000",
    )
    response = api.post(f"{PROVIDERS}{provider.pk}/test")
    assert response.status_code == 200  # the failure is the result
    result = response.json()
    assert result["ok"] is False
    assert "401" in result["message"] and "key" in result["message"]
    assert result["models"] == []
    stored = Provider.objects.get(pk=provider.pk)
    assert stored.last_test_ok is False
    assert stored.last_test_message == result["message"]


def test_connection_test_of_an_unreachable_server_says_so(api, workspace, make_provider):
    provider = make_provider(
        workspace, name="Nowhere", kind=ProviderKind.OPENAI_COMPATIBLE, base_url="http://127.0.0.1:9/v1"
    )
    result = api.post(f"{PROVIDERS}{provider.pk}/test").json()
    assert result["ok"] is False
    assert "Could not connect to http://127.0.0.1:9/v1" in result["message"]
    assert Provider.objects.get(pk=provider.pk).last_test_ok is False


def test_a_new_key_is_used_at_once_after_patch(api, workspace, fake_llm, make_provider):
    provider = make_provider(
        workspace,
        name="Fake",
        kind=ProviderKind.OPENAI_COMPATIBLE,
        base_url=fake_llm.base_url,
        api_key="sk-wrong-key-000000000000",
    )
    assert api.post(f"{PROVIDERS}{provider.pk}/test").json()["ok"] is False
    patched = api.patch(f"{PROVIDERS}{provider.pk}", {"api_key": "sk-fake-test-key"}, format="json").json()
    assert patched["last_test_ok"] is None  # the old result says nothing about the new key
    assert api.post(f"{PROVIDERS}{provider.pk}/test").json()["ok"] is True


# -- roles and tenancy ---------------------------------------------------------------------------


def test_viewer_can_read_but_not_write(viewer_api, workspace, make_provider):
    provider = make_provider(workspace)
    provider_model_create(provider=provider, model="gpt-4o-mini")
    assert viewer_api.get(PROVIDERS).status_code == 200
    assert viewer_api.get(f"{PROVIDERS}{provider.pk}").status_code == 200
    assert viewer_api.get(f"{PROVIDERS}{provider.pk}/models/").status_code == 200
    assert viewer_api.get("/api/v1/models/").status_code == 200

    refused = viewer_api.post(PROVIDERS, {"name": "X", "kind": "openai"}, format="json")
    assert refused.status_code == 403
    assert _error(refused)["code"] == "insufficient_role"
    assert viewer_api.patch(f"{PROVIDERS}{provider.pk}", {"name": "X"}, format="json").status_code == 403
    assert viewer_api.post(f"{PROVIDERS}{provider.pk}/test").status_code == 403
    assert viewer_api.post(f"{PROVIDERS}{provider.pk}/models/", {"model": "o4-mini"}, format="json").status_code == 403
    assert viewer_api.delete(f"{PROVIDERS}{provider.pk}").status_code == 403
    assert Provider.objects.get(pk=provider.pk).name == "OpenAI"
    assert Provider.objects.get(pk=provider.pk).last_tested_at is None


def test_editor_cannot_write_providers_either(api_for_role, workspace):
    editor = api_for_role(Role.EDITOR)
    assert editor.post(PROVIDERS, {"name": "X", "kind": "openai"}, format="json").status_code == 403
    assert not Provider.objects.exists()


def test_another_workspaces_provider_is_404_everywhere(api, other_workspace, make_provider):
    theirs = make_provider(other_workspace, name="Theirs")
    their_model = provider_model_create(provider=theirs, model="gpt-4o-mini")
    calls = [
        ("get", f"{PROVIDERS}{theirs.pk}", None),
        ("patch", f"{PROVIDERS}{theirs.pk}", {"name": "Mine now"}),
        ("delete", f"{PROVIDERS}{theirs.pk}", None),
        ("post", f"{PROVIDERS}{theirs.pk}/test", None),
        ("get", f"{PROVIDERS}{theirs.pk}/models/", None),
        ("post", f"{PROVIDERS}{theirs.pk}/models/", {"model": "o4-mini"}),
        ("get", f"{PROVIDERS}{theirs.pk}/models/{their_model.pk}", None),
        ("patch", f"{PROVIDERS}{theirs.pk}/models/{their_model.pk}", {"is_enabled": False}),
        ("delete", f"{PROVIDERS}{theirs.pk}/models/{their_model.pk}", None),
    ]
    for method, url, payload in calls:
        response = getattr(api, method)(url, payload, format="json")
        assert response.status_code == 404, (method, url, response.status_code)
        assert _error(response)["code"] == "not_found"
        assert "Theirs" not in _body(response) and PLAINTEXT_KEY not in _body(response)
    assert api.get(PROVIDERS).json()["data"] == []
    theirs.refresh_from_db()
    their_model.refresh_from_db()
    assert (theirs.name, theirs.last_tested_at, their_model.is_enabled) == ("Theirs", None, True)
    assert ProviderModel.objects.filter(provider=theirs).count() == 1


def test_a_model_id_under_the_wrong_provider_is_404(api, workspace, make_provider):
    first = make_provider(workspace, name="First")
    second = make_provider(workspace, name="Second")
    entry = provider_model_create(provider=first, model="gpt-4o-mini")
    assert api.get(f"{PROVIDERS}{second.pk}/models/{entry.pk}").status_code == 404
    assert api.get(f"{PROVIDERS}{first.pk}/models/{entry.pk}").status_code == 200


# -- model catalogue -------------------------------------------------------------------------------


def test_adding_a_known_model_fills_context_window_and_prices(api, workspace, make_provider):
    provider = make_provider(workspace)
    response = api.post(f"{PROVIDERS}{provider.pk}/models/", {"model": "gpt-4o-mini"}, format="json")
    assert response.status_code == 201, response.json()
    entry = response.json()
    assert entry["provider"] == provider.pk
    assert entry["kind"] == "chat"
    assert entry["context_window"] == 128_000
    assert entry["max_output_tokens"] == 16_384
    assert float(entry["input_price_per_million"]) == 0.15
    assert float(entry["output_price_per_million"]) == 0.60


def test_given_values_win_over_the_catalogue(api, workspace, make_provider):
    provider = make_provider(workspace)
    entry = api.post(
        f"{PROVIDERS}{provider.pk}/models/",
        {
            "model": "gpt-4o-mini",
            "context_window": 32_000,
            "input_price_per_million": "0",
        },
        format="json",
    ).json()
    assert entry["context_window"] == 32_000
    assert float(entry["input_price_per_million"]) == 0  # zero is a price, not "unset"
    assert float(entry["output_price_per_million"]) == 0.60


def test_embedding_model_unknown_to_the_catalogue_needs_dimensions(api, workspace, make_provider):
    provider = make_provider(
        workspace, name="Ollama", kind=ProviderKind.OPENAI_COMPATIBLE, base_url="http://localhost:11434/v1", api_key=""
    )
    url = f"{PROVIDERS}{provider.pk}/models/"
    refused = api.post(url, {"model": "mxbai-embed-large", "kind": "embedding"}, format="json")
    assert refused.status_code == 400
    assert _error(refused)["param"] == "embedding_dimensions"
    assert not ProviderModel.objects.exists()

    accepted = api.post(
        url, {"model": "mxbai-embed-large", "kind": "embedding", "embedding_dimensions": 1024}, format="json"
    )
    assert accepted.status_code == 201
    known = api.post(url, {"model": "nomic-embed-text:latest", "kind": "embedding"}, format="json")
    assert known.status_code == 201, known.json()
    assert known.json()["embedding_dimensions"] == 768


def test_model_validation_errors(api, workspace, make_provider):
    provider = make_provider(workspace)
    url = f"{PROVIDERS}{provider.pk}/models/"
    assert api.post(url, {"model": "gpt-4o"}, format="json").status_code == 201
    duplicate = api.post(url, {"model": "gpt-4o"}, format="json")
    assert duplicate.status_code == 409
    assert _error(duplicate)["param"] == "model"
    bad_kind = api.post(url, {"model": "dall-e-3", "kind": "image"}, format="json")
    assert bad_kind.status_code == 400
    assert _error(bad_kind)["param"] == "kind"
    negative = api.post(url, {"model": "x", "input_price_per_million": "-1"}, format="json")
    assert negative.status_code == 400
    assert _error(negative)["param"] == "input_price_per_million"
    assert ProviderModel.objects.count() == 1


def test_model_retrieve_update_delete(api, workspace, make_provider):
    provider = make_provider(workspace)
    entry = provider_model_create(provider=provider, model="gpt-4o-mini")
    url = f"{PROVIDERS}{provider.pk}/models/{entry.pk}"
    assert api.get(url).json()["model"] == "gpt-4o-mini"

    patched = api.patch(
        url, {"is_enabled": False, "output_price_per_million": "0.5", "context_window": None}, format="json"
    )
    assert patched.status_code == 200, patched.json()
    entry.refresh_from_db()
    assert entry.is_enabled is False
    assert str(entry.output_price_per_million) == "0.500000"
    assert entry.context_window is None
    assert entry.input_price_per_million == Decimal("0.15")

    assert api.delete(url).status_code == 204
    assert not ProviderModel.objects.filter(pk=entry.pk).exists()


def test_an_embedding_models_dimensions_cannot_be_cleared(api, workspace, make_provider):
    provider = make_provider(workspace)
    entry = provider_model_create(provider=provider, model="text-embedding-3-small", kind=ModelKind.EMBEDDING)
    response = api.patch(f"{PROVIDERS}{provider.pk}/models/{entry.pk}", {"embedding_dimensions": None}, format="json")
    assert response.status_code == 400
    assert _error(response)["param"] == "embedding_dimensions"
    entry.refresh_from_db()
    assert entry.embedding_dimensions == 1536


# -- the workspace's usable models -------------------------------------------------------------------


def test_usable_models_list_enabled_models_and_the_local_embedder(api, workspace, other_workspace, make_provider):
    openai = make_provider(workspace, name="OpenAI")
    provider_model_create(provider=openai, model="gpt-4o-mini")
    provider_model_create(provider=openai, model="text-embedding-3-small", kind=ModelKind.EMBEDDING)
    disabled = provider_model_create(provider=openai, model="gpt-4o")
    ProviderModel.objects.filter(pk=disabled.pk).update(is_enabled=False)
    off = make_provider(workspace, name="Switched off")
    provider_model_create(provider=off, model="o4-mini")
    Provider.objects.filter(pk=off.pk).update(is_enabled=False)
    provider_model_create(provider=make_provider(other_workspace, name="Theirs"), model="gpt-4.1")

    chat = api.get("/api/v1/models/", {"kind": "chat"}).json()
    assert [m["model"] for m in chat["data"]] == ["gpt-4o-mini"]
    assert chat["data"][0]["provider"] == openai.pk
    assert chat["data"][0]["provider_name"] == "OpenAI"
    assert chat["data"][0]["builtin"] is False
    assert chat["next_cursor"] is None

    embedding = api.get("/api/v1/models/", {"kind": "embedding"}).json()["data"]
    # The built-in embedders come first, the default (neural) one before the lexical one.
    assert [m["model"] for m in embedding] == ["use-multilingual-v3", "local-hash-v1", "text-embedding-3-small"]
    neural, lexical = embedding[0], embedding[1]
    assert neural["provider"] is None and neural["builtin"] is True and neural["embedding_dimensions"] == 512
    assert lexical["provider"] is None and lexical["builtin"] is True and lexical["embedding_dimensions"] == 384
    assert {neural["kind"], lexical["kind"]} == {"embedding"}
    assert embedding[2]["builtin"] is False

    everything = api.get("/api/v1/models/").json()["data"]
    assert {m["model"] for m in everything} == {
        "use-multilingual-v3",
        "local-hash-v1",
        "gpt-4o-mini",
        "text-embedding-3-small",
    }


def test_usable_models_rejects_an_unknown_kind(api):
    response = api.get("/api/v1/models/", {"kind": "image"})
    assert response.status_code == 400
    assert _error(response)["param"] == "kind"


# -- pagination and schema ---------------------------------------------------------------------------


def test_provider_and_model_lists_are_cursor_paginated(api, workspace, make_provider):
    for name in ("A", "B", "C"):
        make_provider(workspace, name=name)
    first = api.get(PROVIDERS, {"limit": 2}).json()
    assert len(first["data"]) == 2 and first["next_cursor"]
    second = api.get(PROVIDERS, {"limit": 2, "cursor": first["next_cursor"]}).json()
    assert len(second["data"]) == 1 and second["next_cursor"] is None
    names = [p["name"] for p in first["data"] + second["data"]]
    assert sorted(names) == ["A", "B", "C"]
    assert names == ["C", "B", "A"]  # newest first

    provider = Provider.objects.get(name="A")
    for model in ("gpt-4o", "gpt-4o-mini", "o4-mini"):
        provider_model_create(provider=provider, model=model)
    page = api.get(f"{PROVIDERS}{provider.pk}/models/", {"limit": 2}).json()
    rest = api.get(f"{PROVIDERS}{provider.pk}/models/", {"limit": 2, "cursor": page["next_cursor"]}).json()
    assert len({m["id"] for m in page["data"] + rest["data"]}) == 3
    assert rest["next_cursor"] is None

    bad = api.get(PROVIDERS, {"limit": 0})
    assert bad.status_code == 400 and _error(bad)["param"] == "limit"


def test_openapi_schema_documents_the_provider_routes(client, db):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = json.loads(response.content)
    paths = schema["paths"]
    for path, methods in {
        "/api/v1/providers/": {"get", "post"},
        "/api/v1/providers/{id}": {"get", "patch", "delete"},
        "/api/v1/providers/{id}/test": {"post"},
        "/api/v1/providers/{provider_id}/models/": {"get", "post"},
        "/api/v1/providers/{provider_id}/models/{model_id}": {"get", "patch", "delete"},
        "/api/v1/models/": {"get"},
    }.items():
        assert methods <= set(paths[path]), path
    provider_schema = schema["components"]["schemas"]["Provider"]["properties"]
    assert "api_key" not in provider_schema and "has_api_key" in provider_schema
    create_schema = schema["components"]["schemas"]["ProviderCreateInputRequest"]["properties"]
    assert "api_key" in create_schema
    assert schema["components"]["schemas"]["ProviderKind"]["enum"] == ProviderKind.values
