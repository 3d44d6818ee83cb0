"""The action pages: list, import with a preview report, detail (settings, auth, operations), the test
console; roles; secrets never in the HTML."""

from __future__ import annotations

import json

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from actions.models import Action, Operation

from .conftest import operation_named, target_spec
from .helpers import operation, spec

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.actions.urls")]

SECRET = "sk-page-test-5e1d7c9a3b20f4e6"
PETS = spec(
    {
        "/pets": {
            "get": operation(operationId="listPets", summary="List pets"),
            "post": operation(operationId="createPet"),
        },
        "/bad": {"get": operation(parameters=[{"name": "x", "in": "nowhere"}])},
    },
    servers=[{"url": "https://eu.example.com", "description": "EU"}, {"url": "https://us.example.com"}],
)


@pytest.fixture
def action(import_spec) -> Action:
    return import_spec(PETS)


def html(response) -> str:
    return response.content.decode()


def flashes(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_list_page(signed_in, action) -> None:
    page = signed_in.get(reverse("actions:action_list"))
    assert page.status_code == 200
    assert action.name in html(page) and "2 of 2 enabled" in html(page)


def test_import_preview_then_import(signed_in) -> None:
    url = reverse("actions:action_import")
    assert signed_in.get(url).status_code == 200
    preview = signed_in.post(url, {"spec": json.dumps(PETS), "step": "preview"})
    text = html(preview)
    assert preview.status_code == 200 and not Action.objects.exists()
    assert "Skipped" in text and "invalid location" in text and "https://us.example.com" in text
    token = preview.context["form"].initial["preview"]
    done = signed_in.post(
        url, {"preview": token, "name": "Pets", "server_url": "https://us.example.com", "step": "import"}
    )
    action = Action.objects.get()
    assert done.status_code == 302 and done["Location"] == reverse("actions:action_detail", args=[action.pk])
    assert action.name == "Pets" and action.server_url == "https://us.example.com"
    assert "Imported Pets: 2 operations" in flashes(done)[0]


def test_import_file_and_errors_on_the_page(signed_in) -> None:
    url = reverse("actions:action_import")
    bad = signed_in.post(url, {"spec": "openapi: [", "step": "import"})
    assert bad.status_code == 200 and "not valid YAML" in html(bad)
    upload = SimpleUploadedFile("pets.json", json.dumps(PETS).encode())
    done = signed_in.post(url, {"file": upload, "step": "import"})
    assert done.status_code == 302 and Action.objects.get().source_filename == "pets.json"


def test_detail_page_shows_operations_and_settings(signed_in, action) -> None:
    page = signed_in.get(reverse("actions:action_detail", args=[action.pk]))
    text = html(page)
    assert page.status_code == 200
    assert "listPets" in text and "createPet" in text and "https://eu.example.com" in text
    assert "As the spec says (ask)" in text
    searched = signed_in.get(reverse("actions:action_detail", args=[action.pk]) + "?q=createpet")
    assert "createPet" in html(searched) and "listPets" not in html(searched).split("<tbody>")[-1]


def test_auth_form_stores_secrets_and_never_renders_them(signed_in, action) -> None:
    url = reverse("actions:action_auth", args=[action.pk])
    response = signed_in.post(
        url, {"type": "api_key", "location": "header", "name": "X-Key", "prefix": "", "api_key": SECRET}
    )
    assert response.status_code == 302
    stored = Action.objects.get(pk=action.pk)
    assert stored.credential_values() == {"api_key": SECRET} and stored.auth_config["name"] == "X-Key"
    page = signed_in.get(reverse("actions:action_detail", args=[action.pk]))
    assert SECRET not in html(page) and "…f4e6" in html(page)
    # Saving again without typing the key keeps it.
    signed_in.post(url, {"type": "api_key", "location": "header", "name": "X-Other"})
    assert Action.objects.get(pk=action.pk).credential_values() == {"api_key": SECRET}
    signed_in.post(url, {"type": "api_key", "location": "header", "name": "X-Other", "remove_credentials": "on"})
    assert Action.objects.get(pk=action.pk).credential_values() == {}
    bad = signed_in.post(url, {"type": "api_key", "location": "header", "name": "Bad Name"})
    assert bad.status_code == 200 and "not a valid header name" in html(bad)


def test_auth_form_moves_an_api_key_to_the_query_without_its_prefix(signed_in, action) -> None:
    url = reverse("actions:action_auth", args=[action.pk])
    signed_in.post(
        url, {"type": "api_key", "location": "header", "name": "Authorization", "prefix": "Token", "api_key": SECRET}
    )
    # The page still holds the prefix in its (hidden) field when the key moves to the query string.
    response = signed_in.post(url, {"type": "api_key", "location": "query", "name": "key", "prefix": "Token"})
    assert response.status_code == 302, response.context["auth_form"].errors
    stored = Action.objects.get(pk=action.pk)
    assert stored.auth_config == {"location": "query", "name": "key", "prefix": ""}
    assert stored.credential_values() == {"api_key": SECRET}
    refused = signed_in.post(url, {"type": "api_key", "location": "query", "name": "key", "prefix": "Bearer"})
    assert refused.status_code == 200 and "only applies to an API key sent in a header" in html(refused)


def test_an_action_on_a_metadata_address_shows_why_it_cannot_be_called(signed_in, action) -> None:
    Action.objects.filter(pk=action.pk).update(server_url="http://169.254.169.254")
    listing = html(signed_in.get(reverse("actions:action_list")))
    assert "Cannot be called" in listing and ">Ready<" not in listing
    assert "169.254.169.254 is the cloud metadata service address" in listing
    detail = html(signed_in.get(reverse("actions:action_detail", args=[action.pk])))
    assert "Cannot be called" in detail and "can never be made" in detail and ">Ready<" not in detail


def test_settings_form_warns_about_private_base_urls(signed_in, action) -> None:
    response = signed_in.post(
        reverse("actions:action_settings", args=[action.pk]),
        {"name": "Renamed", "server_url": "http://10.0.0.7", "enabled": "on"},
    )
    assert response.status_code == 302
    assert any("10.0.0.7" in m and "private" in m for m in flashes(response))
    assert Action.objects.get(pk=action.pk).server_url == "http://10.0.0.7"


def test_operation_toggles(signed_in, action) -> None:
    listing = operation_named(action, "listPets")
    signed_in.post(reverse("actions:operation_toggle", args=[action.pk, listing.pk]))
    assert Operation.objects.get(pk=listing.pk).enabled is False
    signed_in.post(reverse("actions:operation_consequential", args=[action.pk, listing.pk]), {"confirm": "always"})
    assert Operation.objects.get(pk=listing.pk).consequential_override is True
    signed_in.post(reverse("actions:operation_consequential", args=[action.pk, listing.pk]), {"confirm": "default"})
    assert Operation.objects.get(pk=listing.pk).consequential_override is None
    signed_in.post(reverse("actions:operations_bulk", args=[action.pk]), {"enabled": "false"})
    assert not Operation.objects.filter(action=action, enabled=True).exists()


def test_test_console_page(signed_in, workspace, target, loopback_allowed, import_spec) -> None:
    document = target_spec(
        target.url,
        {
            "/pets/{id}": {
                "get": {
                    "operationId": "getPet",
                    "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                    "responses": {"200": {"description": "ok"}},
                }
            }
        },
    )
    action = import_spec(document, auth_data={"type": "bearer", "token": SECRET})
    op = operation_named(action, "getPet")
    url = reverse("actions:operation_test", args=[action.pk, op.pk])
    page = signed_in.get(url)
    assert page.status_code == 200 and json.loads(page.context["form"].initial["arguments"]) == {"id": ""}
    result = signed_in.post(url, {"arguments": '{"id": "7"}'})
    text = html(result)
    assert "GET " + target.url + "/pets/7" in text and "Bearer ••••••••" in text and "HTTP 200" in text
    assert SECRET not in text
    invalid = signed_in.post(url, {"arguments": '{"id": 7}'})
    assert "invalid_arguments" in html(invalid) and "is not of type" in html(invalid)
    broken = signed_in.post(url, {"arguments": "{"})
    assert "Not valid JSON" in html(broken)


def test_reimport_preview_and_update(signed_in, action) -> None:
    url = reverse("actions:action_reimport", args=[action.pk])
    assert signed_in.get(url).status_code == 200
    v2 = spec({"/pets": {"get": operation(operationId="listPets")}, "/toys": {"get": operation(operationId="toys")}})
    preview = signed_in.post(url, {"spec": json.dumps(v2), "step": "preview"})
    assert "1 added" in html(preview) and Operation.objects.filter(action=action).count() == 2
    token = preview.context["form"].initial["preview"]
    done = signed_in.post(url, {"preview": token, "step": "update"})
    assert done.status_code == 302
    assert sorted(Operation.objects.filter(action=action).values_list("name", flat=True)) == ["listPets", "toys"]


def test_report_page(signed_in, action) -> None:
    page = signed_in.get(reverse("actions:action_report", args=[action.pk]))
    assert page.status_code == 200 and "invalid location" in html(page)


def test_delete(signed_in, action) -> None:
    response = signed_in.post(reverse("actions:action_delete", args=[action.pk]))
    assert response.status_code == 302 and not Action.objects.exists()


def test_viewers_see_but_cannot_change(viewer_client, action) -> None:
    page = viewer_client.get(reverse("actions:action_detail", args=[action.pk]))
    assert page.status_code == 200 and "Save authentication" not in html(page)
    response = viewer_client.post(reverse("actions:action_auth", args=[action.pk]), {"type": "bearer", "token": SECRET})
    assert response.status_code == 403 and Action.objects.get(pk=action.pk).auth_type == "none"
    assert "Only editors, admins and owners change actions." in html(response)
    assert viewer_client.get(reverse("actions:action_import")).status_code == 403


def test_other_workspaces_actions_are_404(client, action) -> None:
    from tests.factories import WorkspaceFactory

    other = WorkspaceFactory()
    client.force_login(other.memberships.get().user)
    assert client.get(reverse("actions:action_detail", args=[action.pk])).status_code == 404
