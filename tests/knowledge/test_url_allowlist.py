"""Import by URL runs under the workspace's network allowlist (the one actions use), plus the
deployment's SWITCHBOARD_KNOWLEDGE_URL_ALLOWLIST; refusals say what is wrong and what would help."""

from __future__ import annotations

import pytest

from knowledge import ingestion, services
from knowledge.models import Document
from tests.knowledge.conftest import SAMPLE_HTML, SAMPLE_TEXT

pytestmark = pytest.mark.django_db

ALLOWLIST = "/api/v1/egress-allowlist/"


def _import(api, base, url: str) -> Document:
    """Queue the import through the API, then ingest it here (the test transaction never commits,
    so no task reaches a worker)."""
    response = api.post(f"/api/v1/knowledge-bases/{base.pk}/documents", {"url": url}, format="json")
    assert response.status_code == 201, response.json()
    ingestion.document_ingest(document_id=response.json()["id"])
    return Document.objects.get(pk=response.json()["id"])


def test_an_address_on_the_workspace_allowlist_can_be_imported(api, workspace, make_base, doc_server):
    base = make_base(workspace)
    doc_server.add("/intranet.html", SAMPLE_HTML, "text/html")
    url = doc_server.url("/intranet.html", host="127.0.0.1")  # the deployment allows only localhost:<port>

    refused = _import(api, base, url)
    assert (refused.status, refused.error_code) == ("failed", "url_blocked_address")
    assert "127.0.0.1 is a loopback address" in refused.error_message
    assert "a workspace admin can allow it under Network allowlist" in refused.error_message

    assert api.post(ALLOWLIST, {"value": "127.0.0.1"}, format="json").status_code == 201
    services.document_reindex(document=refused)
    assert ingestion.document_ingest(document_id=refused.pk) == "ready"
    document = Document.objects.get(pk=refused.pk)
    assert document.status == "ready" and document.chunk_count == 1 and not document.error_message


def test_another_workspaces_allowlist_does_not_count(api, workspace, make_base, doc_server):
    from network import services as network_services
    from tests.factories import WorkspaceFactory

    network_services.allowlist_entry_create(workspace=WorkspaceFactory(), value="127.0.0.1")
    doc_server.add("/theirs.html", SAMPLE_HTML, "text/html")
    document = _import(api, make_base(workspace), doc_server.url("/theirs.html", host="127.0.0.1"))
    assert (document.status, document.error_code) == ("failed", "url_blocked_address")


def test_an_allowlisted_metadata_address_is_refused_with_the_reason(api, workspace, make_base):
    assert api.post(ALLOWLIST, {"value": "169.254.0.0/16"}, format="json").status_code == 201
    document = _import(api, make_base(workspace), "http://169.254.169.254/latest/meta-data/")
    assert (document.status, document.error_code) == ("failed", "url_blocked_address")
    message = document.error_message
    assert "169.254.169.254 is the cloud metadata service address" in message
    assert "it is allowlisted, but the platform never connects to such addresses" in message
    assert "credentials" in message and "can allow it" not in message


def test_the_deployment_allowance_still_applies(api, workspace, make_base, doc_server):
    doc_server.add("/deployment.txt", SAMPLE_TEXT, "text/plain")
    document = _import(api, make_base(workspace), doc_server.url("/deployment.txt"))  # localhost:<port>
    assert document.status == "ready", document.error_message
