"""Accepting an invitation: a signed-in person, or a new one who chooses a password; once only,
before it expires."""

from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from accounts.models import AuditEvent, Invitation, Membership, Role, User
from accounts.services import invitation_accept, invitation_create
from switchboard.errors import Conflict
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a long enough passphrase 42"


def invite(workspace, email="new@example.com", role=Role.EDITOR) -> tuple[Invitation, str]:
    invitation, token = invitation_create(workspace=workspace, email=email, role=role, inviter_role=Role.OWNER)
    return invitation, f"/invitations/{token}/"


def test_a_new_person_sets_a_password_joins_and_is_signed_in(workspace):
    invitation, url = invite(workspace, role=Role.VIEWER)
    browser = Client()
    page = browser.get(url)
    assert page.status_code == 200
    assert workspace.name in page.content.decode() and "Choose a password" in page.content.decode()

    response = browser.post(url, {"name": "Nia", "password": PASSWORD, "password_again": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    user = User.objects.get(email="new@example.com")
    assert user.check_password(PASSWORD) and user.name == "Nia"
    assert Membership.objects.get(user=user, workspace=workspace).role == Role.VIEWER
    assert browser.get("/settings/members/").status_code == 200  # signed in, in the new workspace
    invitation.refresh_from_db()
    assert invitation.accepted_by == user and invitation.status == "accepted"
    event = AuditEvent.objects.get(action="invitation.accept")
    assert event.actor == user and event.details["role"] == "viewer"


def test_a_used_link_cannot_be_used_again(workspace):
    _, url = invite(workspace)
    Client().post(url, {"password": PASSWORD, "password_again": PASSWORD})
    again = Client().post(url, {"password": PASSWORD + "x", "password_again": PASSWORD + "x"})
    assert again.status_code == 410 and "already been used" in again.content.decode()
    assert User.objects.get(email="new@example.com").check_password(PASSWORD)
    assert Membership.objects.filter(workspace=workspace).count() == 2


def test_an_expired_link_is_refused(workspace):
    invitation, url = invite(workspace)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    response = Client().post(url, {"password": PASSWORD, "password_again": PASSWORD})
    assert response.status_code == 410 and "expired" in response.content.decode()
    assert not User.objects.filter(email="new@example.com").exists()


def test_an_unknown_link_is_404():
    response = Client().get("/invitations/not-a-real-token/")
    assert response.status_code == 404 and "not valid" in response.content.decode()


@override_settings(ACCOUNTS_INVITATION_EXPIRY_DAYS=2)
def test_invitations_expire_after_the_configured_days(workspace):
    invitation, _ = invite(workspace)
    assert timedelta(days=2) - (invitation.expires_at - timezone.now()) < timedelta(minutes=1)


def test_an_expired_invitation_can_be_renewed(workspace):
    invitation, _ = invite(workspace)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    renewed, _ = invite(workspace)
    invitation.refresh_from_db()
    assert invitation.status == "revoked" and renewed.status == "pending"


def test_a_weak_or_mismatched_password_is_explained_and_nothing_is_made(workspace):
    _, url = invite(workspace)
    weak = Client().post(url, {"password": "123", "password_again": "123"})
    assert weak.status_code == 400 and "too short" in weak.content.decode()
    differ = Client().post(url, {"password": PASSWORD, "password_again": PASSWORD + "!"})
    assert differ.status_code == 400 and "differ" in differ.content.decode()
    assert not User.objects.filter(email="new@example.com").exists()
    assert Invitation.objects.get().status == "pending"


def test_a_signed_in_person_joins_a_second_workspace_and_switches(workspace, owner):
    from tests.factories import WorkspaceFactory

    other = WorkspaceFactory(name="Other team")
    _, url = invite(other, email=owner.email, role=Role.EDITOR)
    browser = Client()
    browser.force_login(owner)
    page = browser.get(url)
    assert "Join Other team" in page.content.decode()
    assert browser.post(url).status_code == 302
    assert Membership.objects.get(user=owner, workspace=other).role == Role.EDITOR
    header = browser.get("/settings/members/").content.decode()
    assert "Members of Other team" in header  # the session holds the joined workspace
    assert 'data-testid="workspace-switcher"' in header and workspace.name in header
    browser.post("/workspace/switch/", {"workspace": workspace.pk})
    assert f"Members of {workspace.name}" in browser.get("/settings/members/").content.decode()


def test_a_signed_in_person_with_another_email_cannot_accept(workspace):
    _, url = invite(workspace, email="invited@example.com")
    someone = UserFactory(email="someone@example.com")
    browser = Client()
    browser.force_login(someone)
    assert "invited@example.com" in browser.get(url).content.decode()
    response = browser.post(url)
    assert response.status_code == 400 and "signed in as someone@example.com" in response.content.decode()
    assert not Membership.objects.filter(user=someone).exists()


def test_an_existing_account_is_asked_to_sign_in(workspace):
    UserFactory(email="known@example.com")
    _, url = invite(workspace, email="known@example.com")
    page = Client().get(url).content.decode()
    assert "sign in as known@example.com" in page and "/login/?next=" in page
    Client().post(url, {"password": PASSWORD, "password_again": PASSWORD})
    assert not Membership.objects.filter(user__email="known@example.com").exists()


def test_joining_twice_is_a_conflict(workspace):
    invitation, token = invitation_create(
        workspace=workspace, email="twice@example.com", role=Role.ADMIN, inviter_role=Role.OWNER
    )
    user = UserFactory(email="twice@example.com")
    Membership.objects.create(workspace=workspace, user=user, role=Role.VIEWER)
    with pytest.raises(Conflict) as caught:
        invitation_accept(token=token, user=user)
    assert caught.value.code == "already_member"
    invitation.refresh_from_db()
    assert invitation.status == "pending"
    assert Membership.objects.get(user=user).role == Role.VIEWER
