"""The audit log: who changed what and when, written by the services whatever the door (API key,
signed-in page, command), shown to admins and owners with filters and pages."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AuditEvent, Role
from accounts.services import api_key_create, audit_record
from tests.factories import MembershipFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


def actions(workspace) -> list[str]:
    return list(AuditEvent.objects.for_workspace(workspace).order_by("created_at").values_list("action", flat=True))


def test_bot_publish_and_delete_are_logged_with_the_api_key_as_actor(api, workspace, make_bot):
    bot = make_bot(publish=False)
    assert api.post(f"/api/v1/bots/{bot.pk}/publish", {"note": "first"}, format="json").status_code in (200, 201)
    assert api.delete(f"/api/v1/bots/{bot.pk}").status_code == 204
    publish, delete = AuditEvent.objects.filter(action__startswith="bot.").order_by("created_at")
    assert (publish.action, publish.details, publish.target_id) == ("bot.publish", {"version": 1}, bot.pk)
    assert delete.action == "bot.delete" and delete.target_label == str(bot)
    assert publish.actor_label == "API key tests (" + publish.actor_api_key.prefix + "…)"
    assert publish.actor is None and delete.actor_api_key_id == publish.actor_api_key_id


def test_a_publish_from_the_page_names_the_person(signed_in, owner, make_bot):
    bot = make_bot(publish=False)
    signed_in.post(f"/bots/{bot.pk}/publish/", {"note": "from the page"})
    event = AuditEvent.objects.get(action="bot.publish")
    assert event.actor == owner and event.actor_label == owner.email


def test_provider_credentials_are_logged_without_the_secret(api, workspace):
    created = api.post(
        "/api/v1/providers/", {"name": "OpenAI", "kind": "openai", "api_key": "sk-secret-value-1234"}, format="json"
    )
    assert created.status_code == 201, created.json()
    provider_id = created.json()["id"]
    assert api.patch(f"/api/v1/providers/{provider_id}", {"api_key": "sk-other-5678"}, format="json").status_code == 200
    assert api.delete(f"/api/v1/providers/{provider_id}").status_code == 204
    assert actions(workspace)[-3:] == ["provider.create", "provider.update", "provider.delete"]
    assert AuditEvent.objects.get(action="provider.create").details == {"api_key_set": True}
    assert AuditEvent.objects.get(action="provider.update").details == {"api_key_changed": True}
    stored = list(AuditEvent.objects.values_list("details", "target_label"))
    assert "sk-secret" not in str(stored) and "sk-other" not in str(stored)


def test_a_change_rolled_back_leaves_no_entry(workspace):
    from network.services import allowlist_entry_create

    with pytest.raises(RuntimeError), transaction.atomic():
        allowlist_entry_create(workspace=workspace, value="10.2.0.0/16")
        raise RuntimeError("a later step of the same change failed")
    assert actions(workspace) == []
    allowlist_entry_create(workspace=workspace, value="10.2.0.0/16")
    assert actions(workspace) == ["allowlist.add"]


def test_allowlist_and_api_key_changes_are_logged(api, workspace):
    entry = api.post("/api/v1/egress-allowlist/", {"value": "10.1.0.0/16"}, format="json").json()
    api.delete(f"/api/v1/egress-allowlist/{entry['id']}")
    key = api.post("/api/v1/api-keys/", {"name": "ci", "role": "viewer"}, format="json").json()["key"]
    api.delete(f"/api/v1/api-keys/{key['id']}")
    assert actions(workspace)[-4:] == ["allowlist.add", "allowlist.remove", "api_key.create", "api_key.revoke"]
    assert AuditEvent.objects.get(action="allowlist.add").target_label == "10.1.0.0/16"


def test_work_without_a_request_is_logged_as_the_system(workspace):
    event = audit_record(workspace=workspace, action="member.add")
    assert event.actor is None and event.actor_api_key is None and event.actor_label == "system"


# -- the API ---------------------------------------------------------------------------------------


def _events(workspace, owner):
    AuditEvent.objects.all().delete()  # the API key the client uses was logged when it was made
    other = MembershipFactory(workspace=workspace, role=Role.ADMIN).user
    old = audit_record(workspace=workspace, action="bot.publish", actor=owner)
    AuditEvent.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    audit_record(workspace=workspace, action="bot.delete", actor=owner)
    audit_record(workspace=workspace, action="bot.publish", actor=other)
    audit_record(workspace=WorkspaceFactory(), action="bot.publish", actor=owner)  # another workspace's
    return other


def test_audit_log_api_filters_by_actor_action_and_date(api, workspace, owner):
    other = _events(workspace, owner)
    everything = api.get("/api/v1/audit-log").json()["data"]
    assert [e["action"] for e in everything] == ["bot.publish", "bot.delete", "bot.publish"]  # newest first
    by_owner = api.get("/api/v1/audit-log", {"actor": owner.email.upper()}).json()["data"]
    assert {e["actor"] for e in by_owner} == {owner.email} and len(by_owner) == 2
    assert len(api.get("/api/v1/audit-log", {"actor": other.pk}).json()["data"]) == 1
    publishes = api.get("/api/v1/audit-log", {"action": "bot.publish"}).json()["data"]
    assert len(publishes) == 2
    since = (timezone.now() - timedelta(days=1)).isoformat()
    recent = api.get("/api/v1/audit-log", {"created_after": since}).json()["data"]
    assert len(recent) == 2
    page = api.get("/api/v1/audit-log", {"limit": 2}).json()
    assert len(page["data"]) == 2 and page["next_cursor"]
    rest = api.get("/api/v1/audit-log", {"limit": 2, "cursor": page["next_cursor"]}).json()
    assert len(rest["data"]) == 1 and rest["next_cursor"] is None


@pytest.mark.parametrize(
    "query, code, param",
    [
        ({"action": "bot.explode"}, "invalid_action", "action"),
        ({"created_after": "last tuesday"}, "invalid_date", "created_after"),
        ({"limit": "1000"}, "invalid_limit", "limit"),
    ],
)
def test_audit_log_api_explains_bad_filters(api, query, code, param):
    response = api.get("/api/v1/audit-log", query)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code and response.json()["error"]["param"] == param


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EDITOR])
def test_audit_log_api_is_for_admins(workspace, role):
    _, secret = api_key_create(workspace=workspace, name="k", role=role)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    response = client.get("/api/v1/audit-log")
    assert response.status_code == 403 and response.json()["error"]["code"] == "insufficient_role"


# -- the page --------------------------------------------------------------------------------------


def test_audit_page_filters_and_pages(signed_in, workspace, owner):
    other = _events(workspace, owner)
    page = signed_in.get("/settings/audit-log/").content.decode()
    assert page.count("<tr>") == 4  # header + three events of this workspace
    assert "Bot published" in page and "Bot deleted" in page
    by_other = signed_in.get("/settings/audit-log/", {"actor": other.pk}).content.decode()
    assert by_other.count("<tr>") == 2 and other.email in by_other
    deleted = signed_in.get("/settings/audit-log/", {"action": "bot.delete"}).content.decode()
    assert deleted.count("<tr>") == 2
    today = timezone.now().date()
    recent = signed_in.get("/settings/audit-log/", {"since": today.isoformat(), "until": today.isoformat()})
    assert recent.content.decode().count("<tr>") == 3


def test_audit_page_splits_long_logs_into_pages(signed_in, workspace, owner):
    for _ in range(55):
        audit_record(workspace=workspace, action="bot.publish", actor=owner)
    first = signed_in.get("/settings/audit-log/", {"action": "bot.publish"}).content.decode()
    assert first.count("<tr>") == 51 and "Page 1 of 2" in first
    assert "?action=bot.publish&amp;page=2" in first
    second = signed_in.get("/settings/audit-log/", {"action": "bot.publish", "page": 2}).content.decode()
    assert second.count("<tr>") == 6


def test_audit_page_explains_a_bad_filter(signed_in):
    response = signed_in.get("/settings/audit-log/", {"action": "bot.explode", "since": "not a date"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Select a valid choice" in page and "Enter a valid date" in page


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EDITOR])
def test_audit_page_is_for_admins(workspace, owner, role):
    audit_record(workspace=workspace, action="bot.publish", actor=owner)
    browser = Client()
    browser.force_login(MembershipFactory(workspace=workspace, role=role).user)
    response = browser.get("/settings/audit-log/")
    assert response.status_code == 403 and "Bot published" not in response.content.decode()
