"""The egress policy a workspace's requests run under: its entries, deployment extras, tolerance of bad rows."""

from __future__ import annotations

import ipaddress

import pytest

from network import selectors, services
from network.models import AllowlistEntry

pytestmark = pytest.mark.django_db


def test_the_policy_holds_the_workspace_entries_and_the_extras(workspace) -> None:
    services.allowlist_entry_create(workspace=workspace, value="10.20.0.0/16")
    services.allowlist_entry_create(workspace=workspace, value="wiki.corp.example:8443")
    policy = selectors.workspace_policy(
        workspace_id=workspace.pk, extra=("docs.corp.example",), total_timeout=7.0, max_response_bytes=1234
    )
    assert policy.allowed_networks == (ipaddress.ip_network("10.20.0.0/16"),)
    assert policy.is_host_allowlisted("wiki.corp.example", 8443)
    assert not policy.is_host_allowlisted("wiki.corp.example", 443)
    assert policy.is_host_allowlisted("docs.corp.example", 443)
    assert (policy.total_timeout, policy.max_response_bytes) == (7.0, 1234)


def test_another_workspaces_entries_do_not_count(workspace) -> None:
    from tests.factories import WorkspaceFactory

    services.allowlist_entry_create(workspace=WorkspaceFactory(), value="10.20.0.0/16")
    assert selectors.workspace_policy(workspace_id=workspace.pk).allowed_networks == ()


def test_a_malformed_stored_row_is_skipped_but_a_malformed_extra_is_an_error(workspace) -> None:
    AllowlistEntry.objects.create(workspace=workspace, value="not a host!")
    services.allowlist_entry_create(workspace=workspace, value="10.1.0.0/16")
    policy = selectors.workspace_policy(workspace_id=workspace.pk)
    assert policy.allowed_networks == (ipaddress.ip_network("10.1.0.0/16"),)
    with pytest.raises(ValueError):
        selectors.workspace_policy(workspace_id=workspace.pk, extra=("10.0.0.0/99",))


def test_allowlist_warnings_name_the_entry(workspace) -> None:
    broad = services.allowlist_entry_create(workspace=workspace, value="::/0", confirm_broad=True)
    services.allowlist_entry_create(workspace=workspace, value="10.1.0.0/16")
    warnings = selectors.allowlist_warnings(workspace_id=workspace.pk)
    assert [(w["entry_id"], w["value"], w["code"]) for w in warnings] == [(broad.pk, "::/0", "broad_entry")]
