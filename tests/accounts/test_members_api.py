"""/api/v1/members and /api/v1/invitations: the OpenAI-style errors, the owner rules, tenancy."""

import pytest
from django.core import mail
from rest_framework.test import APIClient

from accounts.models import AuditEvent, Invitation, Membership, Role
from accounts.services import api_key_create
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


def key_client(workspace, role: str) -> APIClient:
    _, secret = api_key_create(workspace=workspace, name=f"{role} key", role=role)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def session_client(membership: Membership) -> APIClient:
    client = APIClient()
    client.force_login(membership.user)
    return client


def error(response) -> dict:
    return response.json()["error"]


def test_members_are_listed_with_roles_for_any_member(workspace, owner):
    MembershipFactory(workspace=workspace, role=Role.VIEWER, user=UserFactory(email="vera@example.com"))
    response = key_client(workspace, Role.VIEWER).get("/api/v1/members")
    assert response.status_code == 200
    rows = {row["email"]: row["role"] for row in response.json()["data"]}
    assert rows == {owner.email: "owner", "vera@example.com": "viewer"}
    assert response.json()["next_cursor"] is None


def test_invite_returns_a_single_use_link_and_emails_it(api, workspace):
    response = api.post("/api/v1/invitations", {"email": " Ed@Example.com ", "role": "editor"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["invitation"]["email"] == "ed@example.com" and body["invitation"]["status"] == "pending"
    assert body["accept_url"].startswith("http://testserver/invitations/")
    assert body["email_error"] is None
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ed@example.com"]
    assert body["accept_url"] in mail.outbox[0].body
    token = body["accept_url"].rstrip("/").rsplit("/", 1)[-1]
    stored = Invitation.objects.get()
    assert token not in stored.token_hash  # kept hashed only
    listing = api.get("/api/v1/invitations").content.decode()
    assert token not in listing and "ed@example.com" in listing


@pytest.mark.parametrize(
    "body, code, param",
    [
        ({"email": "not-an-email", "role": "editor"}, "invalid_email", "email"),
        ({"email": "", "role": "editor"}, "blank", "email"),
        ({"email": "x@example.com", "role": "boss"}, "invalid_choice", "role"),
    ],
)
def test_bad_invitations_are_explained_and_change_nothing(api, body, code, param):
    response = api.post("/api/v1/invitations", body, format="json")
    assert response.status_code == 400
    assert error(response)["code"] == code and error(response)["param"] == param
    assert error(response)["type"] == "invalid_request_error"
    if param == "role":
        assert "boss" in error(response)["message"] and "viewer" in error(response)["message"]
    assert not Invitation.objects.exists() and not AuditEvent.objects.filter(action="invitation.create").exists()
    assert mail.outbox == []


def test_inviting_a_member_or_a_pending_email_is_a_conflict(api, workspace, owner):
    response = api.post("/api/v1/invitations", {"email": owner.email.upper(), "role": "viewer"}, format="json")
    assert response.status_code == 409 and error(response)["code"] == "already_member"
    assert owner.email in error(response)["message"]

    assert api.post("/api/v1/invitations", {"email": "new@example.com"}, format="json").status_code == 201
    again = api.post("/api/v1/invitations", {"email": "new@example.com", "role": "admin"}, format="json")
    assert again.status_code == 409 and error(again)["code"] == "invitation_pending"
    assert Invitation.objects.get().role == "editor"


def test_an_admin_key_cannot_invite_an_owner(api):
    response = api.post("/api/v1/invitations", {"email": "boss@example.com", "role": "owner"}, format="json")
    assert response.status_code == 403 and error(response)["code"] == "insufficient_role"
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EDITOR])
def test_viewers_and_editors_cannot_invite_or_change_roles(workspace, owner, role):
    client = key_client(workspace, role)
    response = client.post("/api/v1/invitations", {"email": "x@example.com", "role": "viewer"}, format="json")
    assert response.status_code == 403 and error(response)["type"] == "permission_error"
    other = MembershipFactory(workspace=workspace, role=Role.VIEWER)
    patched = client.patch(f"/api/v1/members/{other.pk}", {"role": "admin"}, format="json")
    assert patched.status_code == 403 and error(patched)["code"] == "insufficient_role"
    removed = client.delete(f"/api/v1/members/{other.pk}")
    assert removed.status_code == 403
    other.refresh_from_db()
    assert other.role == Role.VIEWER and not Invitation.objects.exists()


def test_role_change_and_removal_are_logged(api, workspace):
    member = MembershipFactory(workspace=workspace, role=Role.VIEWER)
    response = api.patch(f"/api/v1/members/{member.pk}", {"role": "editor"}, format="json")
    assert response.status_code == 200 and response.json()["role"] == "editor"
    assert api.delete(f"/api/v1/members/{member.pk}").status_code == 204
    assert not Membership.objects.filter(pk=member.pk).exists()
    events = list(AuditEvent.objects.for_workspace(workspace).order_by("created_at").values_list("action", "details"))
    assert events[-2:] == [
        ("member.role_change", {"email": member.user.email, "from": "viewer", "to": "editor"}),
        ("member.remove", {"email": member.user.email, "role": "editor"}),
    ]
    assert AuditEvent.objects.filter(action="member.remove").get().actor_label.startswith("API key tests")


def test_an_unknown_role_is_refused(api, workspace):
    member = MembershipFactory(workspace=workspace, role=Role.VIEWER)
    response = api.patch(f"/api/v1/members/{member.pk}", {"role": "superuser"}, format="json")
    assert response.status_code == 400 and error(response)["param"] == "role"
    member.refresh_from_db()
    assert member.role == Role.VIEWER


def test_admins_cannot_touch_owners_and_the_last_owner_stays(workspace, owner):
    admin = MembershipFactory(workspace=workspace, role=Role.ADMIN)
    owner_membership = Membership.objects.get(user=owner, workspace=workspace)
    as_admin = session_client(admin)
    demote = as_admin.patch(f"/api/v1/members/{owner_membership.pk}", {"role": "viewer"}, format="json")
    assert demote.status_code == 403 and "owner" in error(demote)["message"]
    promote = as_admin.patch(f"/api/v1/members/{admin.pk}", {"role": "owner"}, format="json")
    assert promote.status_code == 403

    as_owner = session_client(owner_membership)
    last = as_owner.patch(f"/api/v1/members/{owner_membership.pk}", {"role": "admin"}, format="json")
    assert last.status_code == 409 and error(last)["code"] == "last_owner"
    leave = as_owner.delete(f"/api/v1/members/{owner_membership.pk}")
    assert leave.status_code == 409 and error(leave)["code"] == "last_owner"
    owner_membership.refresh_from_db()
    assert owner_membership.role == Role.OWNER

    # With a second owner, the first may step down.
    assert as_owner.patch(f"/api/v1/members/{admin.pk}", {"role": "owner"}, format="json").status_code == 200
    assert as_owner.patch(f"/api/v1/members/{owner_membership.pk}", {"role": "admin"}, format="json").status_code == 200


def test_any_member_may_leave_through_their_own_membership(workspace):
    viewer = MembershipFactory(workspace=workspace, role=Role.VIEWER)
    response = session_client(viewer).delete(f"/api/v1/members/{viewer.pk}")
    assert response.status_code == 204
    assert not Membership.objects.filter(pk=viewer.pk).exists()
    assert AuditEvent.objects.get(action="member.leave").actor == viewer.user


def test_another_workspaces_member_and_invitation_are_404(api, workspace):
    elsewhere = WorkspaceFactory()
    stranger = elsewhere.memberships.get()
    invitation = Invitation.objects.create(
        workspace=elsewhere, email="x@example.com", token_hash="0" * 64, expires_at="2099-01-01T00:00:00Z"
    )
    for method, path in [
        ("get", f"/api/v1/members/{stranger.pk}"),
        ("patch", f"/api/v1/members/{stranger.pk}"),
        ("delete", f"/api/v1/members/{stranger.pk}"),
        ("get", f"/api/v1/invitations/{invitation.pk}"),
        ("delete", f"/api/v1/invitations/{invitation.pk}"),
    ]:
        response = getattr(api, method)(path, {"role": "viewer"}, format="json")
        assert response.status_code == 404, (method, path)
        assert error(response)["code"] == "not_found"
    assert Membership.objects.get(pk=stranger.pk).role == Role.OWNER
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


def test_revoking_an_invitation_stops_its_link(api, client):
    created = api.post("/api/v1/invitations", {"email": "late@example.com"}, format="json").json()
    response = api.delete(f"/api/v1/invitations/{created['invitation']['id']}")
    assert response.status_code == 200 and response.json()["status"] == "revoked"
    page = client.get(created["accept_url"])
    assert page.status_code == 410 and "withdrawn" in page.content.decode()
    # A new invitation to the same address is now possible.
    assert api.post("/api/v1/invitations", {"email": "late@example.com"}, format="json").status_code == 201


def test_chat_keys_reach_none_of_it(workspace):
    _, secret = api_key_create(workspace=workspace, name="chat", scope="chat")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    for path in ("/api/v1/members", "/api/v1/invitations", "/api/v1/audit-log"):
        response = client.get(path)
        assert response.status_code == 403 and error(response)["code"] == "insufficient_scope", path
