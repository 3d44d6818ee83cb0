"""The REST API: bases, documents, chunks, hit testing; tenancy, roles and the OpenAPI schema."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.services import api_key_create
from knowledge.models import Chunk, Document
from tests.knowledge.conftest import SAMPLE_TEXT, upload_file

pytestmark = pytest.mark.django_db

FAQ = "# FAQ\n\n## Refunds\n\nRefunds reach the original card within five days.\n\n## Hours\n\nWe open at nine.\n"


def _client(workspace, role: str) -> APIClient:
    _, secret = api_key_create(workspace=workspace, name=f"{role} key", role=role)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def test_knowledge_base_lifecycle(api, workspace):
    response = api.post("/api/v1/knowledge-bases/", {"name": "Support", "description": "FAQ"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    # New bases embed with the built-in neural embedder and start with the recommended minimum score.
    assert body["embedding_model"] == "use-multilingual-v3" and body["embedding_dimensions"] == 512
    assert (body["vector_weight"], body["text_weight"], body["fusion_k"], body["min_score"]) == (1.0, 1.0, 60, 0.08)
    assert body["rerank_provider"] is None and body["rerank_model"] == "" and body["reindex"] is None
    assert (body["chunk_size"], body["chunk_overlap"], body["document_count"], body["chunk_count"]) == (512, 64, 0, 0)
    base_id = body["id"]
    assert api.post("/api/v1/knowledge-bases/", {"name": "Support"}, format="json").status_code == 409
    response = api.post(
        "/api/v1/knowledge-bases/", {"name": "Bad", "chunk_size": 100, "chunk_overlap": 80}, format="json"
    )
    assert (response.status_code, response.json()["error"]["param"]) == (400, "chunk_overlap")
    response = api.post("/api/v1/knowledge-bases/", {"name": "Bad", "embedding_model": "mdl_nope"}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "unknown_model")

    listed = api.get("/api/v1/knowledge-bases/").json()
    assert [b["id"] for b in listed["data"]] == [base_id] and listed["next_cursor"] is None
    response = api.patch(f"/api/v1/knowledge-bases/{base_id}", {"name": "Help", "chunk_size": 256}, format="json")
    assert response.status_code == 200 and response.json()["name"] == "Help" and response.json()["chunk_size"] == 256
    assert api.delete(f"/api/v1/knowledge-bases/{base_id}").status_code == 204
    assert api.get(f"/api/v1/knowledge-bases/{base_id}").status_code == 404


def test_documents_chunks_and_hit_testing(api, workspace, make_base, ingest_now):
    base = make_base(workspace)
    doc = ingest_now(base, "faq.md", FAQ)
    listed = api.get(f"/api/v1/knowledge-bases/{base.pk}/documents").json()["data"]
    assert listed[0]["id"] == doc.pk and listed[0]["status"] == "ready" and listed[0]["searchable"] is True
    assert listed[0]["progress"] == {"done": 2, "total": 2, "percent": 100} and listed[0]["error"] is None
    assert api.get(f"/api/v1/knowledge-bases/{base.pk}/documents?status=failed").json()["data"] == []
    bad = api.get(f"/api/v1/knowledge-bases/{base.pk}/documents?status=nope")
    assert bad.status_code == 400
    error = bad.json()["error"]
    assert (error["code"], error["param"]) == ("invalid_status", "status")
    assert error["message"].startswith("Unknown status 'nope'; use one of ")

    chunks = api.get(f"/api/v1/knowledge-bases/{base.pk}/chunks?limit=1").json()
    assert chunks["data"][0]["heading_path"] == ["FAQ", "Refunds"] and chunks["next_cursor"]
    second = api.get(f"/api/v1/knowledge-bases/{base.pk}/chunks?limit=1&cursor={chunks['next_cursor']}").json()
    assert second["data"][0]["heading_path"] == ["FAQ", "Hours"] and second["data"][0]["document_name"] == "faq.md"
    chunk_id = second["data"][0]["id"]

    result = api.post(
        f"/api/v1/knowledge-bases/{base.pk}/query", {"query": "when do you open?", "top_k": 1}, format="json"
    ).json()
    assert [hit["chunk_id"] for hit in result["data"]] == [chunk_id]
    hit = result["data"][0]
    assert set(hit) >= {"score", "vector_score", "text_score", "vector_rank", "text_rank", "heading_path", "text"}
    assert [c["strategy"] for c in result["channels"]] == ["exact", "full-text"] and "open" in result["terms"]
    assert result["translations"] == []  # "open" → 打开 …, in no passage of this English base
    assert api.post(f"/api/v1/knowledge-bases/{base.pk}/query", {"query": ""}, format="json").status_code == 400

    # Editing a chunk re-embeds and re-indexes it at once.
    response = api.patch(
        f"/api/v1/chunks/{chunk_id}", {"text": "Our shop is open from seven in the morning."}, format="json"
    )
    assert response.status_code == 200 and response.json()["edited_at"]
    result = api.post(
        f"/api/v1/knowledge-bases/{base.pk}/query", {"query": "seven morning", "top_k": 1}, format="json"
    ).json()
    assert result["data"][0]["chunk_id"] == chunk_id and result["data"][0]["text_rank"] == 1
    assert api.patch(f"/api/v1/chunks/{chunk_id}", {"enabled": False}, format="json").json()["enabled"] is False
    assert api.patch(f"/api/v1/chunks/{chunk_id}", {"text": "  "}, format="json").status_code == 400

    # Disable, re-index, delete the document.
    assert api.patch(f"/api/v1/documents/{doc.pk}", {"enabled": False}, format="json").json()["searchable"] is False
    assert (
        api.post(f"/api/v1/knowledge-bases/{base.pk}/query", {"query": "refunds"}, format="json").json()["data"] == []
    )
    response = api.post(f"/api/v1/documents/{doc.pk}/reindex")
    assert response.status_code == 202 and response.json()["status"] == "queued"
    assert api.delete(f"/api/v1/documents/{doc.pk}").status_code == 204
    assert not Chunk.objects.filter(document_id=doc.pk).exists()
    assert api.get(f"/api/v1/documents/{doc.pk}").status_code == 404


def test_hit_testing_marks_which_hits_pass_the_threshold(api, workspace, make_base, ingest_now):
    from knowledge.retrieval import DEFAULT_SCORE_THRESHOLD

    # The lexical embedder: a passage sharing no word with the question scores exactly 0.
    base = make_base(workspace, embedding_model_id="local-hash-v1", min_score=None)
    ingest_now(base, "faq.md", FAQ)
    ingest_now(base, "zh.md", "# 门店\n\n## 营业时间\n\n上海门店每天上午九点营业，晚上十点关门。\n")
    url = f"/api/v1/knowledge-bases/{base.pk}/query"

    result = api.post(url, {"query": "refunds to my card", "top_k": 10}, format="json").json()
    assert result["score_threshold"] == DEFAULT_SCORE_THRESHOLD
    hits = result["data"]
    assert len(hits) == 3  # every chunk listed, those below the threshold included
    assert hits[0]["passes_threshold"] is True and hits[0]["heading_path"] == ["FAQ", "Refunds"]
    below = [hit for hit in hits if not hit["passes_threshold"]]
    assert below and all(hit["score"] < DEFAULT_SCORE_THRESHOLD for hit in below)
    assert result["passing"] == len(hits) - len(below)
    # The Chinese chunk shares nothing with the question: 0, below the default.
    chinese = next(hit for hit in hits if hit["document_name"] == "zh.md")
    assert chinese["score"] == 0 and chinese["passes_threshold"] is False

    # A Chinese question passes on the Chinese chunk only.
    result = api.post(url, {"query": "上海门店几点营业？", "top_k": 10}, format="json").json()
    assert [hit["document_name"] for hit in result["data"] if hit["passes_threshold"]] == ["zh.md"]

    # 0 is no minimum: everything passes; a high threshold lists the hits, none passing.
    result = api.post(url, {"query": "refunds to my card", "score_threshold": 0}, format="json").json()
    assert result["score_threshold"] == 0 and result["passing"] == len(result["data"]) == 3
    result = api.post(url, {"query": "refunds to my card", "score_threshold": 0.99}, format="json").json()
    assert result["passing"] == 0 and len(result["data"]) == 3
    assert not any(hit["passes_threshold"] for hit in result["data"])

    for bad in (1.5, -0.1, "high"):
        response = api.post(url, {"query": "refunds", "score_threshold": bad}, format="json")
        assert response.status_code == 400, bad
        assert response.json()["error"]["param"] == "score_threshold"


def test_other_workspaces_ids_are_404(api, workspace, other_api, make_base, ingest_now):
    base = make_base(workspace)
    doc = ingest_now(base, "faq.md", FAQ)
    chunk = f"chk_{Chunk.objects.filter(document=doc).first().pk}"
    requests = [
        ("get", f"/api/v1/knowledge-bases/{base.pk}", None),
        ("patch", f"/api/v1/knowledge-bases/{base.pk}", {"name": "x"}),
        ("delete", f"/api/v1/knowledge-bases/{base.pk}", None),
        ("get", f"/api/v1/knowledge-bases/{base.pk}/documents", None),
        ("post", f"/api/v1/knowledge-bases/{base.pk}/documents", {"url": "https://example.com/"}),
        ("get", f"/api/v1/knowledge-bases/{base.pk}/chunks", None),
        ("post", f"/api/v1/knowledge-bases/{base.pk}/query", {"query": "refunds"}),
        ("get", f"/api/v1/documents/{doc.pk}", None),
        ("patch", f"/api/v1/documents/{doc.pk}", {"enabled": False}),
        ("delete", f"/api/v1/documents/{doc.pk}", None),
        ("post", f"/api/v1/documents/{doc.pk}/reindex", None),
        ("get", f"/api/v1/chunks/{chunk}", None),
        ("patch", f"/api/v1/chunks/{chunk}", {"enabled": False}),
    ]
    for method, path, data in requests:
        response = getattr(other_api, method)(path, data, format="json")
        assert response.status_code == 404, (method, path, response.status_code)
        assert response.json()["error"]["type"] == "not_found_error"
    assert other_api.get("/api/v1/knowledge-bases/").json()["data"] == []
    doc.refresh_from_db()
    assert doc.enabled and Chunk.objects.filter(document=doc).count() == 2
    assert api.get("/api/v1/chunks/chk_nope").status_code == 404


def test_viewers_read_and_hit_test_but_do_not_write(workspace, make_base, ingest_now):
    base = make_base(workspace)
    doc = ingest_now(base, "faq.md", FAQ)
    viewer = _client(workspace, Role.VIEWER)
    assert viewer.get(f"/api/v1/knowledge-bases/{base.pk}/documents").status_code == 200
    assert (
        viewer.post(f"/api/v1/knowledge-bases/{base.pk}/query", {"query": "refunds"}, format="json").status_code == 200
    )
    assert (
        viewer.post(
            f"/api/v1/knowledge-bases/{base.pk}/documents",
            {"file": upload_file("a.txt", SAMPLE_TEXT)},
            format="multipart",
        ).status_code
        == 403
    )
    assert viewer.delete(f"/api/v1/documents/{doc.pk}").status_code == 403
    assert viewer.post("/api/v1/knowledge-bases/", {"name": "x"}, format="json").status_code == 403
    editor = _client(workspace, Role.EDITOR)
    assert (
        editor.post(
            f"/api/v1/knowledge-bases/{base.pk}/documents",
            {"file": upload_file("a.txt", SAMPLE_TEXT)},
            format="multipart",
        ).status_code
        == 201
    )


def test_idempotency_key_repeats_return_the_first_document(api, workspace, make_base):
    base = make_base(workspace)
    path = f"/api/v1/knowledge-bases/{base.pk}/documents"
    first = api.post(path, {"file": upload_file("a.txt", SAMPLE_TEXT)}, format="multipart", HTTP_IDEMPOTENCY_KEY="k-1")
    again = api.post(path, {"file": upload_file("a.txt", SAMPLE_TEXT)}, format="multipart", HTTP_IDEMPOTENCY_KEY="k-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    url = api.post(path, {"url": "https://example.com/a"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    url_again = api.post(path, {"url": "https://example.com/a"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert (url.status_code, url_again.status_code, url_again.json()["id"]) == (201, 200, url.json()["id"])
    assert Document.objects.count() == 2


def test_the_routes_are_in_the_openapi_schema(client):
    schema = client.get("/api/schema/?format=json").json()
    paths = schema["paths"]
    for route, methods in {
        "/api/v1/knowledge-bases/": {"get", "post"},
        "/api/v1/knowledge-bases/{id}": {"get", "patch", "delete"},
        "/api/v1/knowledge-bases/{id}/documents": {"get", "post"},
        "/api/v1/knowledge-bases/{id}/chunks": {"get"},
        "/api/v1/knowledge-bases/{id}/query": {"post"},
        "/api/v1/documents/{id}": {"get", "patch", "delete"},
        "/api/v1/documents/{id}/reindex": {"post"},
        "/api/v1/chunks/{id}": {"get", "patch"},
    }.items():
        assert methods <= set(paths[route]), route
    upload = paths["/api/v1/knowledge-bases/{id}/documents"]["post"]
    assert {"multipart/form-data", "application/json"} <= set(upload["requestBody"]["content"])
    assert {"201", "400", "409", "413", "422"} <= set(upload["responses"])
