"""The Members page: everyone sees who is in the workspace; admins and owners invite and manage;
a form posted directly by a role that may not use it gets 403 and changes nothing."""

import re

import pytest
from django.core import mail
from django.test import Client

from accounts.models import Invitation, Membership, Role
from accounts.services import invitation_create
from tests.factories import MembershipFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db

MEMBERS = "/settings/members/"


def html(response) -> str:
    return response.content.decode()


def test_owner_invites_and_sees_the_link_once(signed_in, workspace):
    response = signed_in.post(f"{MEMBERS}invite/", {"email": "Dana@Example.com", "role": "admin"})
    assert response.status_code == 200
    page = html(response)
    link = re.search(r"http://testserver/invitations/[\w-]+/", page).group(0)
    assert len(mail.outbox) == 1 and link in mail.outbox[0].body
    assert Invitation.objects.get().email == "dana@example.com"
    later = html(signed_in.get(MEMBERS))
    assert link not in later and "dana@example.com" in later  # pending, link not shown again


def signed_in_as(workspace, role: str) -> Client:
    browser = Client()
    browser.force_login(MembershipFactory(workspace=workspace, role=role).user)
    return browser


def test_owner_sees_management_controls_and_a_viewer_does_not(signed_in, workspace):
    viewer_client = signed_in_as(workspace, Role.VIEWER)
    owner_page = html(signed_in.get(MEMBERS))
    assert "Invite someone" in owner_page and "Pending invitations" in owner_page
    assert 'name="role"' in owner_page
    viewer_page = html(viewer_client.get(MEMBERS))
    assert "Invite someone" not in viewer_page and 'action="/settings/members/invite/"' not in viewer_page
    assert "/remove/" not in viewer_page and "/role/" not in viewer_page
    assert "Leave this workspace" in viewer_page


@pytest.mark.parametrize("fixture", ["viewer_client", "editor_client"])
def test_viewers_and_editors_posting_member_forms_get_403(request, fixture, workspace, owner):
    client = request.getfixturevalue(fixture)
    target = MembershipFactory(workspace=workspace, role=Role.VIEWER)
    invitation, _ = invitation_create(workspace=workspace, email="p@example.com", role="viewer", inviter_role="owner")
    for url, data in [
        (f"{MEMBERS}invite/", {"email": "sneaky@example.com", "role": "admin"}),
        (f"{MEMBERS}{target.pk}/role/", {"role": "admin"}),
        (f"{MEMBERS}{target.pk}/remove/", {}),
        (f"/settings/invitations/{invitation.pk}/revoke/", {}),
    ]:
        response = client.post(url, data)
        assert response.status_code == 403, url
        assert "Only workspace admins and owners manage members." in html(response)
    target.refresh_from_db()
    invitation.refresh_from_db()
    assert target.role == Role.VIEWER and invitation.status == "pending"
    assert not Invitation.objects.filter(email="sneaky@example.com").exists()
    assert mail.outbox == []


def test_bad_invitations_show_the_reason_on_the_form(signed_in, workspace, owner):
    bad_email = signed_in.post(f"{MEMBERS}invite/", {"email": "nope", "role": "editor"})
    assert bad_email.status_code == 400 and "is not a valid email address" in html(bad_email)
    bad_role = signed_in.post(f"{MEMBERS}invite/", {"email": "a@example.com", "role": "boss"})
    assert bad_role.status_code == 400 and "Select a valid choice" in html(bad_role)
    member = signed_in.post(f"{MEMBERS}invite/", {"email": owner.email, "role": "editor"})
    assert member.status_code == 400 and "already a member" in html(member)
    assert not Invitation.objects.exists()


def test_admins_may_not_invite_owners_or_touch_them(client, workspace, owner):
    admin = MembershipFactory(workspace=workspace, role=Role.ADMIN)
    client.force_login(admin.user)
    page = html(client.get(MEMBERS))
    assert '<option value="owner"' not in page  # the UI offers no owner role to an admin
    response = client.post(f"{MEMBERS}invite/", {"email": "boss@example.com", "role": "owner"})
    assert response.status_code == 400 and not Invitation.objects.exists()
    owner_membership = Membership.objects.get(user=owner, workspace=workspace)
    demote = client.post(f"{MEMBERS}{owner_membership.pk}/role/", {"role": "viewer"})
    assert demote.status_code == 403 and "Only owners" in html(demote)
    assert client.post(f"{MEMBERS}{owner_membership.pk}/remove/").status_code == 403
    owner_membership.refresh_from_db()
    assert owner_membership.role == Role.OWNER


def test_the_last_owner_cannot_be_demoted_or_leave(signed_in, workspace, owner):
    me = Membership.objects.get(user=owner, workspace=workspace)
    page = html(signed_in.get(MEMBERS))
    assert "Leave this workspace" not in page and "You are the last owner" in page
    response = signed_in.post(f"{MEMBERS}{me.pk}/role/", {"role": "editor"}, follow=True)
    assert "last owner" in html(response)
    response = signed_in.post(f"{MEMBERS}leave/", follow=True)
    assert "last owner" in html(response)
    me.refresh_from_db()
    assert me.role == Role.OWNER


def test_a_role_that_does_not_exist_is_a_page_message(signed_in, workspace):
    member = MembershipFactory(workspace=workspace, role=Role.EDITOR)
    response = signed_in.post(f"{MEMBERS}{member.pk}/role/", {"role": "root"}, follow=True)
    assert "&#x27;root&#x27; is not a role" in html(response)
    member.refresh_from_db()
    assert member.role == Role.EDITOR


def test_owner_changes_a_role_and_removes_a_member(signed_in, workspace):
    member = MembershipFactory(workspace=workspace, role=Role.VIEWER)
    response = signed_in.post(f"{MEMBERS}{member.pk}/role/", {"role": "admin"}, follow=True)
    assert f"{member.user.email} is now admin." in html(response)
    response = signed_in.post(f"{MEMBERS}{member.pk}/remove/", follow=True)
    assert f"Removed {member.user.email}" in html(response)
    assert not Membership.objects.filter(pk=member.pk).exists()


def test_a_member_leaves_and_the_session_moves_on(client, workspace):
    member = MembershipFactory(workspace=workspace, role=Role.EDITOR)
    other = WorkspaceFactory(name="Elsewhere")
    Membership.objects.create(workspace=other, user=member.user, role=Role.VIEWER)
    client.force_login(member.user)
    client.post("/workspace/switch/", {"workspace": workspace.pk})
    response = client.post(f"{MEMBERS}leave/", follow=True)
    assert f"You left {workspace.name}." in html(response)
    assert not Membership.objects.filter(pk=member.pk).exists()
    assert "Members of Elsewhere" in html(client.get(MEMBERS))


def test_an_owner_with_a_fellow_owner_may_leave(signed_in, workspace, owner):
    MembershipFactory(workspace=workspace, role=Role.OWNER)
    assert "Leave this workspace" in html(signed_in.get(MEMBERS))
    signed_in.post(f"{MEMBERS}leave/")
    assert not Membership.objects.filter(user=owner, workspace=workspace).exists()


def test_another_workspaces_member_or_invitation_is_404(signed_in):
    elsewhere = WorkspaceFactory()
    stranger = elsewhere.memberships.get()
    invitation, _ = invitation_create(workspace=elsewhere, email="q@example.com", role="viewer", inviter_role="owner")
    assert signed_in.post(f"{MEMBERS}{stranger.pk}/role/", {"role": "viewer"}).status_code == 404
    assert signed_in.post(f"{MEMBERS}{stranger.pk}/remove/").status_code == 404
    assert signed_in.post(f"/settings/invitations/{invitation.pk}/revoke/").status_code == 404
    stranger.refresh_from_db()
    invitation.refresh_from_db()
    assert stranger.role == Role.OWNER and invitation.status == "pending"


def test_member_forms_need_csrf(workspace, owner):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(owner)
    assert strict.post(f"{MEMBERS}invite/", {"email": "c@example.com", "role": "viewer"}).status_code == 403
    assert not Invitation.objects.exists()


def test_member_names_are_escaped(signed_in, workspace):
    member = MembershipFactory(workspace=workspace, role=Role.VIEWER)
    member.user.name = "<script>alert(1)</script>"
    member.user.save()
    page = html(signed_in.get(MEMBERS))
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_header_shows_members_to_all_and_admin_links_to_admins(signed_in, workspace):
    viewer_client = signed_in_as(workspace, Role.VIEWER)
    owner_header = html(signed_in.get(MEMBERS))
    assert 'href="/settings/audit-log/"' in owner_header and 'href="/settings/api-keys/"' in owner_header
    viewer_header = html(viewer_client.get(MEMBERS))
    assert 'href="/settings/members/"' in viewer_header
    assert 'href="/settings/audit-log/"' not in viewer_header and 'href="/settings/api-keys/"' not in viewer_header


@pytest.mark.parametrize("fixture", ["viewer_client", "editor_client"])
def test_api_keys_page_refuses_non_admins_with_403(request, fixture):
    client = request.getfixturevalue(fixture)
    assert client.get("/settings/api-keys/").status_code == 403
    response = client.post("/settings/api-keys/", {"name": "sneaky", "scope": "full", "role": "admin"})
    assert response.status_code == 403
    from accounts.models import ApiKey

    assert not ApiKey.objects.exists()
