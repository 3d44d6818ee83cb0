"""`manage.py createowner`: the first owner, a separate workspace by name, or joining an existing
one; never a second, confusingly named "Default workspace"."""

import io

import pytest
from django.core.management import CommandError, call_command

from accounts.models import AuditEvent, Membership, User, Workspace

pytestmark = pytest.mark.django_db

PASSWORD = "a long enough password"


def createowner(*args: str) -> str:
    out = io.StringIO()
    call_command("createowner", *args, stdout=out)
    return out.getvalue()


def test_first_owner_gets_the_default_workspace():
    output = createowner("--email", "First@Example.com", "--password", PASSWORD)
    user = User.objects.get()
    assert user.email == "first@example.com" and user.check_password(PASSWORD)
    workspace = Workspace.objects.get()
    assert workspace.name == "Default workspace" and workspace.memberships.get(user=user).role == "owner"
    assert workspace.pk in output and "/login/" in output


def test_a_second_person_without_a_target_is_told_what_to_do():
    createowner("--email", "first@example.com", "--password", PASSWORD)
    first = Workspace.objects.get()
    with pytest.raises(CommandError) as caught:
        createowner("--email", "second@example.com", "--password", PASSWORD)
    message = str(caught.value)
    assert "--join" in message and "--workspace" in message and first.pk in message
    assert Workspace.objects.count() == 1 and not User.objects.filter(email="second@example.com").exists()


def test_a_second_person_gets_a_workspace_of_their_own_by_name():
    createowner("--email", "first@example.com", "--password", PASSWORD)
    createowner("--email", "second@example.com", "--password", PASSWORD, "--workspace", "Research")
    research = Workspace.objects.get(name="Research")
    assert research.memberships.get().user.email == "second@example.com"


def test_joining_an_existing_workspace_with_a_role():
    createowner("--email", "first@example.com", "--password", PASSWORD)
    workspace = Workspace.objects.get()
    output = createowner(
        "--email", "ed@example.com", "--password", PASSWORD, "--join", workspace.pk, "--role", "editor"
    )
    assert "editor" in output
    assert Membership.objects.get(user__email="ed@example.com").workspace == workspace
    assert Workspace.objects.count() == 1
    assert AuditEvent.objects.filter(workspace=workspace, action="member.add").get().actor_label == "system"


def test_an_existing_account_joins_another_workspace_without_a_password():
    createowner("--email", "first@example.com", "--password", PASSWORD)
    createowner("--email", "second@example.com", "--password", PASSWORD, "--workspace", "Research")
    research = Workspace.objects.get(name="Research")
    createowner("--email", "first@example.com", "--join", research.pk, "--role", "viewer")
    assert Membership.objects.get(user__email="first@example.com", workspace=research).role == "viewer"
    assert User.objects.get(email="first@example.com").check_password(PASSWORD)


@pytest.mark.parametrize(
    "args, words",
    [
        (["--email", "not-an-email", "--password", PASSWORD], "not a valid email"),
        (["--email", "x@example.com", "--password", "short"], "at least 8"),
        (["--email", "x@example.com", "--password", PASSWORD, "--join", "ws_nope"], "No workspace 'ws_nope'"),
        (["--email", "x@example.com", "--password", PASSWORD, "--role", "viewer"], "--role applies to --join"),
    ],
)
def test_bad_arguments_change_nothing(args, words):
    with pytest.raises(CommandError, match=words):
        createowner(*args)
    assert not User.objects.exists() and not Workspace.objects.exists()


def test_joining_twice_is_refused():
    createowner("--email", "first@example.com", "--password", PASSWORD)
    workspace = Workspace.objects.get()
    with pytest.raises(CommandError, match="already a member"):
        createowner("--email", "first@example.com", "--join", workspace.pk, "--role", "viewer")
    assert Membership.objects.get().role == "owner"


def test_an_unknown_role_is_refused_by_the_parser():
    with pytest.raises(CommandError):
        createowner("--email", "x@example.com", "--password", PASSWORD, "--join", "ws_x", "--role", "boss")
    assert not User.objects.exists()
