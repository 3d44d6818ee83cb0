"""The provider pages: add, list, edit, test, model catalogue; roles; the key never in the HTML."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages

from providers.models import ModelKind, Provider, ProviderKind, ProviderModel
from providers.services import provider_model_create
from tests.providers.conftest import PLAINTEXT_KEY

pytestmark = pytest.mark.django_db

LIST = "/providers/"
NEW = "/providers/new/"


def _html(response) -> str:
    return response.content.decode()


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_owner_adds_a_provider_and_sees_it_listed(signed_in):
    form = signed_in.get(NEW)
    assert form.status_code == 200
    assert 'type="password"' in _html(form) and "csrfmiddlewaretoken" in _html(form)

    response = signed_in.post(
        NEW,
        {
            "name": "DeepSeek",
            "kind": "openai_compatible",
            "base_url": "https://api.deepseek.com/v1",
            "api_key": PLAINTEXT_KEY,
            "api_version": "",
            "timeout_seconds": "60",
        },
    )
    provider = Provider.objects.get()
    assert response.status_code == 302 and response.url == f"/providers/{provider.pk}/"
    assert provider.api_key.reveal() == PLAINTEXT_KEY

    listing = signed_in.get(LIST)
    html = _html(listing)
    assert "DeepSeek" in html and "https://api.deepseek.com/v1" in html
    assert "…1234" in html and "Not tested" in html
    assert PLAINTEXT_KEY not in html


def test_the_key_appears_in_no_page(signed_in, workspace, make_provider):
    provider = make_provider(workspace)
    for url in (LIST, f"/providers/{provider.pk}/", f"/providers/{provider.pk}/edit/"):
        html = _html(signed_in.get(url))
        assert PLAINTEXT_KEY not in html, url
        assert "…1234" in html, url


def test_a_bad_form_shows_the_error_and_saves_nothing(signed_in):
    response = signed_in.post(
        NEW,
        {
            "name": "Ollama",
            "kind": "openai_compatible",
            "base_url": "",
            "api_key": PLAINTEXT_KEY,
            "timeout_seconds": "60",
        },
    )
    assert response.status_code == 200
    html = _html(response)
    assert "base_url is required for this kind of provider" in html
    assert PLAINTEXT_KEY not in html  # the password field is not filled back in
    assert 'value="Ollama"' in html  # the rest of the input is kept
    assert not Provider.objects.exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "azure_openai", "base_url": "https://acme.openai.azure.com"}, "api_version is required"),
        ({"kind": "openai_compatible", "base_url": "http://me:pw@localhost/v1"}, "not in the URL"),
        ({"kind": "gemini"}, "Select a valid choice"),
        ({"timeout_seconds": "0"}, "greater than or equal to 1"),
    ],
)
def test_form_validation_messages(signed_in, fields, message):
    data = {"name": "P", "kind": "openai", "base_url": "", "api_key": "", "timeout_seconds": "60", **fields}
    response = signed_in.post(NEW, data)
    assert response.status_code == 200
    assert message in _html(response)
    assert not Provider.objects.exists()


def test_duplicate_name_is_explained(signed_in, workspace, make_provider):
    make_provider(workspace, name="OpenAI")
    response = signed_in.post(NEW, {"name": "OpenAI", "kind": "openai", "timeout_seconds": "60"})
    assert "already exists" in _html(response)
    assert Provider.objects.count() == 1


def test_edit_keeps_the_key_when_left_empty_and_removes_it_on_request(signed_in, workspace, make_provider):
    provider = make_provider(workspace)
    url = f"/providers/{provider.pk}/edit/"
    page = _html(signed_in.get(url))
    assert "Leave empty to keep it" in page and 'value="OpenAI"' in page

    data = {
        "name": "OpenAI prod",
        "kind": "openai",
        "base_url": "",
        "api_key": "",
        "api_version": "",
        "timeout_seconds": "30",
        "is_enabled": "on",
    }
    assert signed_in.post(url, data).status_code == 302
    provider.refresh_from_db()
    assert (provider.name, provider.timeout_seconds, provider.api_key.reveal()) == ("OpenAI prod", 30, PLAINTEXT_KEY)

    assert signed_in.post(url, {**data, "remove_api_key": "on"}).status_code == 302
    provider.refresh_from_db()
    assert provider.api_key is None


def test_rejected_edit_changes_nothing(signed_in, workspace, make_provider):
    provider = make_provider(
        workspace, name="Local", kind=ProviderKind.OPENAI_COMPATIBLE, base_url="http://localhost:11434/v1"
    )
    response = signed_in.post(
        f"/providers/{provider.pk}/edit/",
        {
            "name": "Renamed",
            "kind": "openai_compatible",
            "base_url": "",
            "api_key": "sk-other-key-00000000",
            "timeout_seconds": "60",
            "is_enabled": "on",
        },
    )
    assert response.status_code == 200
    assert "base_url is required" in _html(response)
    provider.refresh_from_db()
    assert (provider.name, provider.base_url, provider.api_key.reveal()) == (
        "Local",
        "http://localhost:11434/v1",
        PLAINTEXT_KEY,
    )


def test_test_connection_button_shows_the_result(signed_in, fake_provider):
    detail = f"/providers/{fake_provider.pk}/"
    assert "Test connection" in _html(signed_in.get(detail))
    response = signed_in.post(f"/providers/{fake_provider.pk}/test/", follow=True)
    html = _html(response)
    assert "Connected. 2 models available: fake-chat, fake-embed." in html
    assert 'class="badge ok"' in html
    fake_provider.refresh_from_db()
    assert fake_provider.last_test_ok is True
    # The listed models are offered when adding one, except those already added.
    assert fake_provider.listed_models == ["fake-chat", "fake-embed"]
    html = _html(signed_in.get(detail))
    assert 'list="listed-models"' in html and "start typing" in html
    offered = re.findall(
        r'<option value="([^"]+)">', html.split('<datalist id="listed-models">')[1].split("</datalist>")[0]
    )
    already = set(fake_provider.models.values_list("model", flat=True))
    assert offered == [m for m in ["fake-chat", "fake-embed"] if m not in already]


def test_failed_test_is_shown_as_an_error(signed_in, workspace, make_provider):
    provider = make_provider(
        workspace, name="Nowhere", kind=ProviderKind.OPENAI_COMPATIBLE, base_url="http://127.0.0.1:9/v1"
    )
    response = signed_in.post(f"/providers/{provider.pk}/test/", follow=True)
    assert "Could not connect to http://127.0.0.1:9/v1" in _html(response)
    assert "Failing" in _html(signed_in.get(LIST))


def test_model_catalogue_add_toggle_delete(signed_in, workspace, make_provider):
    provider = make_provider(workspace)
    base = f"/providers/{provider.pk}"
    response = signed_in.post(f"{base}/models/", {"model": "gpt-4o-mini", "kind": "chat"}, follow=True)
    entry = ProviderModel.objects.get()
    assert entry.context_window == 128_000
    assert "gpt-4o-mini" in _html(response) and "128000" in _html(response)

    signed_in.post(f"{base}/models/{entry.pk}/toggle/")
    entry.refresh_from_db()
    assert entry.is_enabled is False
    signed_in.post(f"{base}/models/{entry.pk}/toggle/")
    entry.refresh_from_db()
    assert entry.is_enabled is True

    signed_in.post(f"{base}/models/{entry.pk}/delete/")
    assert not ProviderModel.objects.exists()


def test_model_form_errors_are_shown_and_nothing_is_added(signed_in, workspace, make_provider):
    provider = make_provider(workspace)
    response = signed_in.post(
        f"/providers/{provider.pk}/models/", {"model": "mxbai-embed-large", "kind": ModelKind.EMBEDDING}
    )
    assert response.status_code == 200
    assert "embedding_dimensions is required" in _html(response)
    assert 'value="mxbai-embed-large"' in _html(response)
    assert not ProviderModel.objects.exists()


def test_viewer_sees_providers_but_no_write_controls(viewer_client, workspace, make_provider):
    provider = make_provider(workspace)
    provider_model_create(provider=provider, model="gpt-4o-mini")
    listing = _html(viewer_client.get(LIST))
    assert "OpenAI" in listing and "Add provider" not in listing
    detail = _html(viewer_client.get(f"/providers/{provider.pk}/"))
    assert "gpt-4o-mini" in detail
    for control in ("Test connection", "Add a model", "Delete", "Disable"):
        assert control not in detail, control


def test_viewer_cannot_write_through_the_pages(viewer_client, workspace, make_provider):
    provider = make_provider(workspace)
    entry = provider_model_create(provider=provider, model="gpt-4o-mini")
    response = viewer_client.post(NEW, {"name": "Sneaky", "kind": "openai", "timeout_seconds": "60"})
    assert response.status_code == 403
    assert "Only workspace admins and owners change model providers." in response.content.decode()
    for url in (
        f"/providers/{provider.pk}/test/",
        f"/providers/{provider.pk}/delete/",
        f"/providers/{provider.pk}/models/{entry.pk}/toggle/",
        f"/providers/{provider.pk}/models/{entry.pk}/delete/",
    ):
        assert viewer_client.post(url).status_code == 403, url
    assert [p.name for p in Provider.objects.all()] == ["OpenAI"]
    entry.refresh_from_db()
    assert entry.is_enabled is True
    assert Provider.objects.get().last_tested_at is None


def test_owner_deletes_a_provider(signed_in, workspace, make_provider):
    provider = make_provider(workspace)
    response = signed_in.post(f"/providers/{provider.pk}/delete/")
    assert response.status_code == 302 and response.url == LIST
    assert not Provider.objects.exists()


def test_another_workspaces_provider_is_404(signed_in, other_workspace, make_provider):
    theirs = make_provider(other_workspace, name="Theirs")
    entry = provider_model_create(provider=theirs, model="gpt-4o")
    for url in (f"/providers/{theirs.pk}/", f"/providers/{theirs.pk}/edit/"):
        assert signed_in.get(url).status_code == 404, url
    for url in (
        f"/providers/{theirs.pk}/test/",
        f"/providers/{theirs.pk}/delete/",
        f"/providers/{theirs.pk}/models/",
        f"/providers/{theirs.pk}/models/{entry.pk}/delete/",
    ):
        assert signed_in.post(url).status_code == 404, url
    assert "Theirs" not in _html(signed_in.get(LIST))
    assert Provider.objects.filter(pk=theirs.pk).exists() and ProviderModel.objects.filter(pk=entry.pk).exists()


def test_pages_need_a_sign_in(client, db):
    response = client.get(LIST)
    assert response.status_code == 302 and "/login/" in response.url
