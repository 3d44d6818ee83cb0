import pytest
from rest_framework.test import APIClient

from accounts.models import ApiKey, User, Workspace
from accounts.services import bootstrap_from_environment
from switchboard.config import ConfigError

pytestmark = pytest.mark.django_db

ENV = {
    "SWITCHBOARD_BOOTSTRAP_EMAIL": "Owner@Example.com",
    "SWITCHBOARD_BOOTSTRAP_PASSWORD": "a long enough password",
    "SWITCHBOARD_BOOTSTRAP_API_KEY": "sb-bootstrap-0123456789abcdefghijklmnop",
}


def test_bootstrap_creates_owner_workspace_and_key_with_exactly_that_secret():
    message = bootstrap_from_environment(ENV)
    assert "owner@example.com" in message
    owner = User.objects.get()
    assert owner.email == "owner@example.com" and owner.check_password(ENV["SWITCHBOARD_BOOTSTRAP_PASSWORD"])
    workspace = Workspace.objects.get()
    assert workspace.memberships.get().role == "owner"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {ENV['SWITCHBOARD_BOOTSTRAP_API_KEY']}")
    assert client.get("/api/v1/workspace").json()["id"] == workspace.id


def test_bootstrap_is_idempotent():
    bootstrap_from_environment(ENV)
    assert bootstrap_from_environment(ENV) is None
    assert (User.objects.count(), Workspace.objects.count(), ApiKey.objects.count()) == (1, 1, 1)


def test_bootstrap_never_runs_when_a_user_exists(django_user_model):
    django_user_model.objects.create_user(email="someone@example.com", password="x" * 12)
    assert bootstrap_from_environment(ENV) is None
    assert not User.objects.filter(email="owner@example.com").exists()
    assert ApiKey.objects.count() == 0


def test_bootstrap_without_variables_does_nothing():
    assert bootstrap_from_environment({}) is None
    assert User.objects.count() == 0


@pytest.mark.parametrize(
    "env, variable",
    [
        ({"SWITCHBOARD_BOOTSTRAP_EMAIL": "a@example.com"}, "SWITCHBOARD_BOOTSTRAP_PASSWORD"),
        ({**ENV, "SWITCHBOARD_BOOTSTRAP_API_KEY": "short"}, "SWITCHBOARD_BOOTSTRAP_API_KEY"),
    ],
)
def test_incomplete_bootstrap_settings_fail_naming_the_variable(env, variable):
    with pytest.raises(ConfigError, match=variable):
        bootstrap_from_environment(env)
    assert User.objects.count() == 0
