"""The network allowlist page: entries, refusals on the form, broad entries needing the checkbox and
a warning while they exist, roles."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import Role
from network import services
from network.models import AllowlistEntry
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def html(response) -> str:
    return response.content.decode()


def test_allowlist_page_adds_and_removes_entries(signed_in, workspace) -> None:
    url = reverse("network:allowlist")
    page = signed_in.get(url)
    assert "Nothing is allowlisted" in html(page) and "importing a document by URL" in html(page)
    added = signed_in.post(url, {"value": "10.20.0.0/16", "note": "intranet"})
    assert added.status_code == 302
    entry = AllowlistEntry.objects.get(workspace=workspace)
    bad = signed_in.post(url, {"value": "10.0.0.0/99"})
    assert "not a valid CIDR" in html(bad)
    signed_in.post(reverse("network:allowlist_delete", args=[entry.pk]))
    assert not AllowlistEntry.objects.exists()


def test_a_metadata_address_is_refused_on_the_form(signed_in) -> None:
    response = signed_in.post(reverse("network:allowlist"), {"value": "169.254.169.254"})
    assert response.status_code == 200 and not AllowlistEntry.objects.exists()
    assert response.context["form"].errors["value"][0].startswith("169.254.169.254 is the cloud metadata")
    assert "never connects to it" in html(response)


def test_a_broad_entry_needs_the_checkbox_and_is_warned_about(signed_in, workspace) -> None:
    url = reverse("network:allowlist")
    refused = signed_in.post(url, {"value": "0.0.0.0/0"})
    assert refused.status_code == 200 and not AllowlistEntry.objects.exists()
    assert "Confirm that this is intended" in refused.context["form"].errors["confirm_broad"][0]
    added = signed_in.post(url, {"value": "0.0.0.0/0", "confirm_broad": "on"})
    assert added.status_code == 302 and AllowlistEntry.objects.get().value == "0.0.0.0/0"
    page = html(signed_in.get(url))
    assert "0.0.0.0/0 opens 14 whole special-purpose ranges" in page and "Opens whole ranges" in page
    AllowlistEntry.objects.all().delete()
    assert "special-purpose" not in html(signed_in.get(url))


def test_an_entry_stored_before_it_was_refused_is_flagged(signed_in, workspace) -> None:
    AllowlistEntry.objects.create(workspace=workspace, value="169.254.169.254")  # as a migration would bring it
    page = html(signed_in.get(reverse("network:allowlist")))
    assert "Never effective" in page and "An entry for it would have no effect" in page


def test_only_admins_change_the_allowlist(client, workspace) -> None:
    entry = services.allowlist_entry_create(workspace=workspace, value="10.1.0.0/16")
    client.force_login(MembershipFactory(workspace=workspace, role=Role.EDITOR).user)
    response = client.post(reverse("network:allowlist"), {"value": "10.0.0.0/8"})
    assert response.status_code == 403 and "Only workspace admins" in html(response)
    client.post(reverse("network:allowlist_delete", args=[entry.pk]))
    assert list(AllowlistEntry.objects.values_list("value", flat=True)) == ["10.1.0.0/16"]
    assert "10.1.0.0/16" in html(client.get(reverse("network:allowlist")))


def test_another_workspaces_entry_cannot_be_removed(signed_in) -> None:
    from tests.factories import WorkspaceFactory

    other = services.allowlist_entry_create(workspace=WorkspaceFactory(), value="10.9.0.0/16")
    response = signed_in.post(reverse("network:allowlist_delete", args=[other.pk]))
    assert response.status_code == 404 and AllowlistEntry.objects.filter(pk=other.pk).exists()
