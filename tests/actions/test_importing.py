"""Import and re-import through the services: reports, servers, bad input, one transaction."""

from __future__ import annotations

import json

import pytest
import yaml

from actions import importing, services
from actions.importing import SpecSource, action_import, action_reimport
from actions.models import Action, AuthType, Operation, SourceKind
from switchboard.api.errors import status_for
from switchboard.errors import DomainError

from .conftest import operation_named
from .helpers import operation, spec
from .synthetic import synthetic_spec
from .target_api import Reply

pytestmark = pytest.mark.django_db


def text_source(document: dict | str) -> SpecSource:
    return SpecSource(kind=SourceKind.TEXT, text=document if isinstance(document, str) else json.dumps(document))


def statuses(report: dict) -> dict[str, str]:
    return {f"{e['method']} {e['path']}": e["status"] for e in report["operations"]}


# -- import -------------------------------------------------------------------------------------------


def test_import_stores_the_action_and_every_operation(workspace) -> None:
    document = spec(
        {
            "/pets": {
                "get": operation(operationId="listPets", summary="List pets"),
                "post": operation(operationId="createPet"),
            },
            "/pets/{id}": {
                "get": operation(
                    parameters=[{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}]
                )
            },
        }
    )
    outcome = action_import(workspace=workspace, source=text_source(document))
    action = outcome.action
    assert outcome.created and action.name == "Test API" and action.server_url == "https://api.example.com"
    operations = list(Operation.objects.filter(action=action).order_by("position"))
    assert [(o.method, o.path, o.name) for o in operations] == [
        ("GET", "/pets", "listPets"),
        ("POST", "/pets", "createPet"),
        ("GET", "/pets/{id}", "get_pets_by_id"),
    ]
    get_one = operations[2]
    assert get_one.arguments == {"id": {"in": "path", "name": "id"}}
    assert get_one.input_schema["properties"]["id"] == {"type": "integer"}
    assert [o.consequential_default for o in operations] == [False, True, False]
    assert all(o.enabled and o.workspace_id == workspace.pk for o in operations)
    assert outcome.report["counts"] == {"imported": 3, "imported_with_warnings": 0, "skipped": 0, "total": 3}
    stored = Action.objects.get(pk=action.pk)
    assert stored.import_report["counts"]["total"] == 3 and stored.import_counts["imported"] == 3
    assert stored.spec_text == json.dumps(document) and len(stored.spec_hash) == 64


def test_dry_run_reports_without_saving(workspace) -> None:
    outcome = action_import(workspace=workspace, source=text_source(spec({"/a": {"get": operation()}})), dry_run=True)
    assert outcome.action is None and outcome.dry_run and outcome.report["counts"]["imported"] == 1
    assert not Action.objects.exists() and not Operation.objects.exists()


def test_a_bad_operation_is_skipped_with_its_reason_and_the_rest_imported(workspace) -> None:
    document = spec(
        {
            "/good": {"get": operation(operationId="good")},
            "/bad": {"get": operation(parameters=[{"name": "x", "in": "body"}])},
            "/broken": {"get": operation(parameters=[{"$ref": "#/components/parameters/missing"}])},
        }
    )
    outcome = action_import(workspace=workspace, source=text_source(document))
    report = outcome.report
    assert statuses(report) == {"GET /good": "imported", "GET /bad": "skipped", "GET /broken": "skipped"}
    reasons = [e["reason"] for e in report["operations"] if e["status"] == "skipped"]
    assert "invalid location" in reasons[0] and "missing" in reasons[1]
    assert Operation.objects.filter(action=outcome.action).count() == 1


def test_operations_without_operation_id_are_named_after_their_path(workspace) -> None:
    outcome = action_import(
        workspace=workspace,
        source=text_source(
            spec(
                {
                    "/users/{user_id}/orders": {
                        "get": operation(
                            parameters=[
                                {"name": "user_id", "in": "path", "required": True, "schema": {"type": "string"}}
                            ]
                        )
                    }
                }
            )
        ),
    )
    assert Operation.objects.get(action=outcome.action).name == "get_users_by_user_id_orders"


def test_ref_cycle_imports_with_a_note(workspace) -> None:
    document = spec(
        {
            "/nodes": {
                "post": operation(
                    operationId="createNode",
                    requestBody={"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}}},
                )
            }
        },
        components={
            "schemas": {
                "Node": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
                    },
                }
            }
        },
    )
    outcome = action_import(workspace=workspace, source=text_source(document))
    entry = outcome.report["operations"][0]
    assert entry["status"] == "imported" and any("recursive" in note for note in entry["notes"])


def test_multiple_servers_first_by_default_or_the_one_chosen(workspace) -> None:
    document = spec(
        {"/a": {"get": operation()}},
        servers=[
            {"url": "https://eu.api.example.com/v2", "description": "Europe"},
            {"url": "https://us.api.example.com/v2", "description": "US"},
        ],
    )
    first = action_import(workspace=workspace, source=text_source(document)).action
    assert first.server_url == "https://eu.api.example.com/v2"
    assert [s["url"] for s in first.servers] == ["https://eu.api.example.com/v2", "https://us.api.example.com/v2"]
    chosen = action_import(
        workspace=workspace, source=text_source(document), server_url="https://us.api.example.com/v2/"
    ).action
    assert chosen.server_url == "https://us.api.example.com/v2"


def test_missing_servers_is_a_warning_and_calls_say_so(workspace) -> None:
    document = spec({"/a": {"get": operation(operationId="a")}})
    del document["servers"]
    outcome = action_import(workspace=workspace, source=text_source(document))
    codes = [w["code"] for w in outcome.report["warnings"]]
    assert "missing_servers" in codes and outcome.action.server_url == ""
    from actions.tools import invoke_tool

    result = invoke_tool(
        workspace_id=workspace.pk, operation_id=operation_named(outcome.action, "a").pk, arguments_json="{}"
    )
    assert result.error == "no_server_url"


def test_server_url_on_a_private_address_is_a_warning_not_an_error(workspace) -> None:
    document = spec({"/a": {"get": operation()}}, servers=[{"url": "http://10.1.2.3:8080/api"}])
    outcome = action_import(workspace=workspace, source=text_source(document))
    warning = next(w for w in outcome.report["warnings"] if w["code"] == "server_url_blocked")
    assert "10.1.2.3" in warning["message"] and "private" in warning["message"]
    assert outcome.action.server_url == "http://10.1.2.3:8080/api"


def test_invalid_server_url_override_is_refused(workspace) -> None:
    with pytest.raises(DomainError) as caught:
        action_import(
            workspace=workspace,
            source=text_source(spec({"/a": {"get": operation()}})),
            server_url="ftp://files.example.com",
        )
    assert caught.value.code == "invalid_server_url"


@pytest.mark.parametrize(
    "text,code,status",
    [
        ("openapi: 3.0.0\ninfo: [unclosed", "malformed_yaml", 422),
        ('{"openapi": "3.0.0", "info": ', "malformed_json", 422),
        ("title: not a spec\n", "not_openapi", 422),
        ('{"swagger": "1.2"}', "unsupported_version", 422),
        ("", "empty", 422),
    ],
)
def test_unusable_specs_are_refused_with_a_specific_code(workspace, text, code, status) -> None:
    with pytest.raises(DomainError) as caught:
        action_import(workspace=workspace, source=text_source(text))
    assert (caught.value.code, status_for(caught.value)) == (code, status)
    assert not Action.objects.exists()


def test_a_spec_over_the_size_limit_is_413(workspace, settings) -> None:
    settings.ACTIONS_MAX_SPEC_BYTES = 1024 * 1024
    with pytest.raises(DomainError) as caught:
        action_import(workspace=workspace, source=text_source(" " * (1024 * 1024 + 1)))
    assert (caught.value.code, status_for(caught.value)) == ("spec_too_large", 413)


def test_two_thousand_operations_import_with_a_warning(workspace) -> None:
    outcome = action_import(workspace=workspace, source=text_source(synthetic_spec(operations=2000, schemas=50)))
    assert Operation.objects.filter(action=outcome.action).count() == 2000
    assert "too_many_operations" in [w["code"] for w in outcome.report["warnings"]]


def test_operations_over_the_limit_are_reported_as_skipped(workspace, settings) -> None:
    settings.ACTIONS_MAX_OPERATIONS = 3
    outcome = action_import(workspace=workspace, source=text_source(synthetic_spec(operations=5, schemas=5)))
    assert Operation.objects.filter(action=outcome.action).count() == 3
    skipped = [e for e in outcome.report["operations"] if e["status"] == "skipped"]
    assert len(skipped) == 2 and "at most 3" in skipped[0]["reason"]
    assert "operation_limit" in [w["code"] for w in outcome.report["warnings"]]


def test_import_is_one_transaction(workspace, monkeypatch) -> None:
    def broken_bulk_create(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Operation.objects, "bulk_create", broken_bulk_create)
    with pytest.raises(RuntimeError):
        action_import(workspace=workspace, source=text_source(spec({"/a": {"get": operation()}})))
    assert not Action.objects.exists()


def test_auth_is_taken_from_the_spec_without_secrets(workspace) -> None:
    document = spec(
        {"/a": {"get": operation()}},
        security=[{"key": []}],
        components={"securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "X-Key"}}},
    )
    outcome = action_import(workspace=workspace, source=text_source(document))
    action = outcome.action
    assert action.auth_type == AuthType.API_KEY and action.auth_config["name"] == "X-Key"
    assert not action.has_credentials
    assert "credentials_needed" in [w["code"] for w in outcome.report["warnings"]]
    assert outcome.report["auth_suggestion"]["name"] == "X-Key"


def test_auth_given_at_import_wins(workspace) -> None:
    outcome = action_import(
        workspace=workspace,
        source=text_source(spec({"/a": {"get": operation()}})),
        auth_data={"type": "bearer", "token": "tok-1234567890"},
    )
    action = Action.objects.get(pk=outcome.action.pk)
    assert action.auth_type == "bearer" and action.credential_values() == {"token": "tok-1234567890"}


def test_idempotency_key_returns_the_first_import(workspace) -> None:
    source = text_source(spec({"/a": {"get": operation()}}))
    first = action_import(workspace=workspace, source=source, idempotency_key="import-1")
    again = action_import(workspace=workspace, source=source, idempotency_key="import-1")
    assert again.action.pk == first.action.pk and not again.created
    assert Action.objects.count() == 1


# -- by URL, through egress ---------------------------------------------------------------------------


def test_import_by_url_resolves_a_relative_server(workspace, target, loopback_allowed) -> None:
    document = spec({"/a": {"get": operation()}}, servers=[{"url": "/api/v3"}])
    target.handlers["/specs/openapi.yaml"] = lambda seen: Reply(
        200, yaml.safe_dump(document), {"Content-Type": "application/yaml"}
    )
    outcome = action_import(
        workspace=workspace, source=SpecSource(kind=SourceKind.URL, url=f"{target.url}/specs/openapi.yaml")
    )
    action = outcome.action
    assert action.server_url == f"{target.url}/api/v3" and action.source_url.endswith("/specs/openapi.yaml")
    assert "server_url_resolved" in [w["code"] for w in outcome.report["warnings"]]


def test_import_by_url_refuses_private_addresses_without_the_allowlist(workspace, target) -> None:
    with pytest.raises(DomainError) as caught:
        action_import(workspace=workspace, source=SpecSource(kind=SourceKind.URL, url=f"{target.url}/openapi.json"))
    assert caught.value.code == "url_not_allowed" and "loopback" in caught.value.message
    assert target.seen == []


def test_import_by_url_reports_http_errors(workspace, target, loopback_allowed) -> None:
    target.handlers["/missing.json"] = lambda seen: Reply(404, {"error": "nope"})
    with pytest.raises(DomainError) as caught:
        action_import(workspace=workspace, source=SpecSource(kind=SourceKind.URL, url=f"{target.url}/missing.json"))
    assert caught.value.code == "spec_fetch_failed" and "404" in caught.value.message


# -- re-import ----------------------------------------------------------------------------------------

V1 = spec(
    {
        "/pets": {"get": operation(operationId="listPets"), "post": operation(operationId="createPet")},
        "/pets/{id}": {
            "delete": operation(
                operationId="deletePet",
                parameters=[{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            )
        },
        "/legacy": {"get": operation(operationId="legacy")},
    }
)
V2 = spec(
    {
        "/pets": {
            "get": operation(
                operationId="listPets", parameters=[{"name": "limit", "in": "query", "schema": {"type": "integer"}}]
            ),
            "post": operation(operationId="createPet"),
        },
        "/animals/{id}": {
            "delete": operation(
                operationId="deletePet",
                parameters=[{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            )
        },
        "/toys": {"get": operation(operationId="listToys")},
    }
)


def test_reimport_keeps_ids_and_settings_and_reports_changes(workspace) -> None:
    action = action_import(workspace=workspace, source=text_source(V1)).action
    before = {op.name: op for op in Operation.objects.filter(action=action)}
    services.operation_update(operation=before["createPet"], enabled=False)
    services.operation_update(operation=before["listPets"], consequential_override=True)
    outcome = action_reimport(action=action, source=text_source(V2))
    after = {op.name: op for op in Operation.objects.filter(action=action)}
    assert set(after) == {"listPets", "createPet", "deletePet", "listToys"}
    for name in ("listPets", "createPet", "deletePet"):
        assert after[name].pk == before[name].pk
    assert after["createPet"].enabled is False
    assert after["listPets"].consequential_override is True
    assert "limit" in after["listPets"].input_schema["properties"]
    assert after["deletePet"].path == "/animals/{id}"  # matched by operationId
    assert outcome.report["changes"] == {"added": 1, "updated": 2, "unchanged": 1, "removed": 1}
    assert outcome.report["removed"] == [{"method": "GET", "path": "/legacy", "name": "legacy"}]
    changes = {e["name"]: e["change"] for e in outcome.report["operations"]}
    assert changes == {"listPets": "updated", "createPet": "unchanged", "deletePet": "updated", "listToys": "added"}
    assert Action.objects.get(pk=action.pk).import_report["changes"]["added"] == 1


def test_reimport_dry_run_changes_nothing(workspace) -> None:
    action = action_import(workspace=workspace, source=text_source(V1)).action
    outcome = action_reimport(action=action, source=text_source(V2), dry_run=True)
    assert outcome.report["changes"]["removed"] == 1
    assert sorted(Operation.objects.filter(action=action).values_list("name", flat=True)) == [
        "createPet",
        "deletePet",
        "legacy",
        "listPets",
    ]


def test_reimport_can_swap_tool_names(workspace) -> None:
    first = spec({"/a": {"get": operation(operationId="alpha")}, "/b": {"get": operation(operationId="beta")}})
    swapped = spec({"/a": {"get": operation(operationId="beta")}, "/b": {"get": operation(operationId="alpha")}})
    action = action_import(workspace=workspace, source=text_source(first)).action
    ids = dict(Operation.objects.filter(action=action).values_list("path", "pk"))
    action_reimport(action=action, source=text_source(swapped))
    after = {op.path: (op.pk, op.name) for op in Operation.objects.filter(action=action)}
    assert after == {"/a": (ids["/a"], "beta"), "/b": (ids["/b"], "alpha")}


def test_reimport_keeps_the_chosen_server_and_auth(workspace) -> None:
    action = action_import(
        workspace=workspace,
        source=text_source(V1),
        server_url="https://staging.example.com",
        auth_data={"type": "bearer", "token": "tok-abcdefghijkl"},
    ).action
    action_reimport(action=action, source=text_source(V2))
    action = Action.objects.get(pk=action.pk)
    assert action.server_url == "https://staging.example.com"
    assert action.credential_values() == {"token": "tok-abcdefghijkl"}


def test_reimport_from_the_source_url(workspace, target, loopback_allowed) -> None:
    current = {"doc": V1}
    target.handlers["/openapi.json"] = lambda seen: Reply(200, current["doc"])
    action = action_import(
        workspace=workspace, source=SpecSource(kind=SourceKind.URL, url=f"{target.url}/openapi.json")
    ).action
    current["doc"] = V2
    outcome = action_reimport(action=action)
    assert outcome.report["changes"]["added"] == 1 and len(target.calls_to("/openapi.json")) == 2


def test_reimport_of_pasted_text_needs_the_new_text(workspace) -> None:
    action = action_import(workspace=workspace, source=text_source(V1)).action
    with pytest.raises(DomainError) as caught:
        action_reimport(action=action)
    assert caught.value.code == "source_required"


def test_reimport_of_a_broken_spec_changes_nothing(workspace) -> None:
    action = action_import(workspace=workspace, source=text_source(V1)).action
    with pytest.raises(DomainError):
        action_reimport(action=action, source=text_source("{broken"))
    assert Operation.objects.filter(action=action).count() == 4


def test_operation_values_are_json_only() -> None:
    from actions.spec import parse_spec

    parsed = parse_spec(V1)
    values = importing.operation_values(parsed.operations[0], source_url="")
    json.dumps(values)
    assert (
        values["fingerprint"] == importing.operation_values(parse_spec(V1).operations[0], source_url="")["fingerprint"]
    )
