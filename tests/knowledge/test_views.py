"""The knowledge pages: list, create, upload and import, progress, document actions, chunks, hit testing."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Membership, Role
from knowledge.models import Chunk, Document, KnowledgeBase
from tests.factories import UserFactory
from tests.knowledge.conftest import SAMPLE_TEXT

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.knowledge.urls")]

FAQ = "# FAQ\n\n## Refunds\n\nRefunds reach the original card within five days.\n\n## Hours\n\nWe open at nine.\n"


def test_create_a_base_and_upload_and_import_documents(signed_in, workspace):
    page = signed_in.get("/knowledge/")
    assert page.status_code == 200 and b"No knowledge bases yet" in page.content
    form = signed_in.get("/knowledge/new/")
    assert b"Built-in neural embedder" in form.content and b"Built-in lexical embedder" in form.content
    response = signed_in.post(
        "/knowledge/new/",
        {
            "name": "Support",
            "description": "",
            "embedding_model": "local-hash-v1",
            "chunk_size": 256,
            "chunk_overlap": 32,
        },
    )
    base = KnowledgeBase.objects.get(workspace=workspace, name="Support")
    assert response.status_code == 302 and response.url == f"/knowledge/{base.pk}/"
    assert (base.chunk_size, base.chunk_overlap) == (256, 32)
    duplicate = signed_in.post(
        "/knowledge/new/",
        {"name": "Support", "embedding_model": "local-hash-v1", "chunk_size": 256, "chunk_overlap": 32},
    )
    assert duplicate.status_code == 200 and b"already exists" in duplicate.content

    response = signed_in.post(
        f"/knowledge/{base.pk}/upload/",
        {"files": [SimpleUploadedFile("a.txt", SAMPLE_TEXT), SimpleUploadedFile("b.exe", b"MZ")]},
        follow=True,
    )
    assert (
        b"Added 1 file" in response.content and b"b.exe: &#x27;.exe&#x27; files are not supported" in response.content
    )
    response = signed_in.post(f"/knowledge/{base.pk}/import/", {"url": "https://example.com/help"}, follow=True)
    assert b"Import started" in response.content
    assert signed_in.post(f"/knowledge/{base.pk}/import/", {"url": "ftp://x"}).status_code == 400

    # Queued documents show progress, and the table is polled while they are processed.
    detail = signed_in.get(f"/knowledge/{base.pk}/")
    assert b"<progress" in detail.content and b'data-processing="1"' in detail.content
    fragment = signed_in.get(f"/knowledge/{base.pk}/documents/")
    assert fragment.status_code == 200 and b"a.txt" in fragment.content and b"<html" not in fragment.content
    assert Document.objects.filter(knowledge_base=base).count() == 2


def test_document_actions_chunks_and_hit_testing(signed_in, workspace, make_base, ingest_now):
    base = make_base(workspace)
    doc = ingest_now(base, "faq.md", FAQ)
    detail = signed_in.get(f"/knowledge/{base.pk}/")
    assert b"Ready" in detail.content and b'data-processing="1"' not in detail.content

    page = signed_in.get(f"/knowledge/documents/{doc.pk}/")
    assert b"FAQ \xe2\x80\xba Refunds" in page.content and b"We open at nine." in page.content
    chunk = Chunk.objects.filter(document=doc).order_by("position").last()
    response = signed_in.post(f"/knowledge/chunks/chk_{chunk.pk}/edit/", {"text": "We open at eight now."})
    assert response.status_code == 302
    chunk.refresh_from_db()
    assert chunk.text == "We open at eight now." and chunk.edited_at

    result = signed_in.get(f"/knowledge/{base.pk}/test/", {"query": "when do you open", "top_k": 3})
    assert result.status_code == 200 and b"We open at eight now." in result.content
    assert b"vector: exact" in result.content and b"text: full-text" in result.content
    html = result.content.decode()
    # Both chunks are listed; the refunds chunk shares nothing with the question and is below the default.
    assert '1 of 2 hits passes the threshold 0.08 <span class="small muted">(default)</span>' in html
    assert html.count('data-passes="1"') == 1 and html.count('data-passes="0"') == 1
    assert html.index("We open at eight now.") < html.index('class="below-threshold"') < html.index("Refunds reach")
    assert "Nothing relevant found" not in html
    every = signed_in.get(
        f"/knowledge/{base.pk}/test/", {"query": "when do you open", "top_k": 3, "score_threshold": "0"}
    ).content.decode()
    assert '2 of 2 hits pass the threshold 0.0 <span class="small muted">(no minimum)</span>' in every
    none = signed_in.get(
        f"/knowledge/{base.pk}/test/", {"query": "zebra migration", "top_k": 3, "score_threshold": "0.9"}
    )
    assert b"Nothing relevant found above the threshold" in none.content and b"0 of 2 hits pass" in none.content
    bad = signed_in.get(f"/knowledge/{base.pk}/test/", {"query": "when", "score_threshold": "2"})
    assert bad.status_code == 200 and b"less than or equal to 1" in bad.content and b"hits pass" not in bad.content

    signed_in.post(f"/knowledge/documents/{doc.pk}/toggle/")
    doc.refresh_from_db()
    assert not doc.enabled
    signed_in.post(f"/knowledge/documents/{doc.pk}/reindex/")
    doc.refresh_from_db()
    assert doc.status == "queued"
    signed_in.post(f"/knowledge/documents/{doc.pk}/delete/")
    assert not Document.objects.filter(pk=doc.pk).exists()
    signed_in.post(f"/knowledge/{base.pk}/delete/")
    assert not KnowledgeBase.objects.filter(pk=base.pk).exists()


def test_viewers_see_and_test_but_cannot_change(client, workspace, make_base, ingest_now, other_workspace):
    base = make_base(workspace)
    doc = ingest_now(base, "faq.md", FAQ)
    viewer = UserFactory()
    Membership.objects.create(user=viewer, workspace=workspace, role=Role.VIEWER)
    client.force_login(viewer)
    page = client.get(f"/knowledge/{base.pk}/")
    assert page.status_code == 200 and b"Upload" not in page.content and b"Re-index" not in page.content
    assert client.get(f"/knowledge/{base.pk}/test/", {"query": "refunds", "top_k": 3}).status_code == 200
    response = client.post(f"/knowledge/documents/{doc.pk}/delete/")
    assert response.status_code == 403 and b"Only editors" in response.content
    assert Document.objects.filter(pk=doc.pk).exists()
    # Another workspace's base is not found.
    foreign = make_base(other_workspace)
    assert client.get(f"/knowledge/{foreign.pk}/").status_code == 404


def test_reindexing_a_base_with_another_embedder_shows_its_progress(signed_in, workspace, make_base, ingest_now):
    from knowledge import ingestion

    base = make_base(workspace, embedding_model_id="local-hash-v1")
    first = ingest_now(base, "faq.md", FAQ)
    second = ingest_now(base, "more.txt", SAMPLE_TEXT)
    detail = signed_in.get(f"/knowledge/{base.pk}/")
    assert b"Re-index with another embedder" in detail.content and b"Re-indexing with" not in detail.content
    assert b"weights: meaning 1.0, keywords 1.0" in detail.content

    response = signed_in.post(f"/knowledge/{base.pk}/reembed/", {"embedding_model": "use-multilingual-v3"})
    assert response.status_code == 302 and response.url == f"/knowledge/{base.pk}/"
    base.refresh_from_db()
    assert base.embedding_model_name == "use-multilingual-v3"
    fragment = signed_in.get(f"/knowledge/{base.pk}/documents/").content.decode()
    assert "Re-indexing with <code>use-multilingual-v3</code>" in fragment
    assert 'aria-label="Re-indexing progress">0%' in fragment and "0 of 2 documents done" in fragment
    assert ingestion.document_ingest(document_id=first.pk) == "ready"
    fragment = signed_in.get(f"/knowledge/{base.pk}/documents/").content.decode()
    assert "1 of 2 documents done" in fragment and 'value="50"' in fragment and "data-processing" in fragment
    assert ingestion.document_ingest(document_id=second.pk) == "ready"
    assert b"Re-indexing with" not in signed_in.get(f"/knowledge/{base.pk}/documents/").content

    bad = signed_in.post(f"/knowledge/{base.pk}/reembed/", {"embedding_model": "nope"})
    assert bad.status_code == 400 and b"Select a valid choice" in bad.content


def test_the_base_form_edits_the_retrieval_settings(signed_in, workspace, make_base):
    base = make_base(workspace)
    form = signed_in.get(f"/knowledge/{base.pk}/edit/").content.decode()
    assert 'name="vector_weight"' in form and 'name="fusion_k"' in form and 'name="rerank_model"' in form
    response = signed_in.post(
        f"/knowledge/{base.pk}/edit/",
        {
            "name": base.name,
            "embedding_model": "use-multilingual-v3",
            "chunk_size": 128,
            "chunk_overlap": 16,
            "vector_weight": 2,
            "text_weight": 0.5,
            "fusion_k": 30,
            "min_score": 0.1,
        },
    )
    assert response.status_code == 302
    base.refresh_from_db()
    assert (base.vector_weight, base.text_weight, base.fusion_k, base.min_score) == (2.0, 0.5, 30, 0.1)
    response = signed_in.post(
        f"/knowledge/{base.pk}/edit/",
        {
            "name": base.name,
            "embedding_model": "use-multilingual-v3",
            "chunk_size": 128,
            "chunk_overlap": 16,
            "vector_weight": 0,
            "text_weight": 0,
        },
    )
    assert response.status_code == 200 and b"must be above 0" in response.content
