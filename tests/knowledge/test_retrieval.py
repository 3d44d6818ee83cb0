"""Hybrid retrieval on the real PostgreSQL: ordering, fusion, filters and visibility."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from django.db import connection

from knowledge import chunk_store, ingestion, services
from knowledge.chunking import chunk_blocks, search_text
from knowledge.models import Chunk, Document, DocumentStatus, KnowledgeBase
from knowledge.parsing import parse
from knowledge.retrieval import (
    DEFAULT_SCORE_THRESHOLD,
    RECOMMENDED_MIN_SCORE,
    Hit,
    effective_threshold,
    retrieve,
    search,
)
from providers import local_embedder
from tests.knowledge.conftest import upload_file

pytestmark = pytest.mark.django_db

FAQ = """# Help centre

## Refunds

Refunds are paid back to the original card within five working days after we receive the parcel.

## Shipping

Parcels leave our warehouse every weekday at four o'clock. Express shipping costs nine euros.

## Accounts

To reset a forgotten password, open the login page and choose "Forgot password".
"""

ZH = """# 客服手册

## 退款

收到退货后，我们会在五个工作日内把钱退回原来的银行卡。

## 发票

电子发票会在付款后二十四小时内发送到您的邮箱。
"""


def _ids(hits: list[Hit]) -> list[str]:
    return [hit.document_id for hit in hits]


def test_ranked_hits_carry_both_channels_and_citations(workspace, make_base, ingest_now):
    # The lexical embedder's relevance is its cosine similarity (no background to subtract).
    base = make_base(workspace, embedding_model_id="local-hash-v1")
    doc = ingest_now(base, "faq.md", FAQ)
    hits = retrieve(workspace_id=workspace.pk, knowledge_base_ids=[base.pk], query="How do I reset my password?")
    best = hits[0]
    assert best.heading_path == ("Help centre", "Accounts") and best.document_name == "faq.md"
    assert best.vector_rank == 1 and best.text_rank == 1
    assert 0 < best.vector_score <= 1 and 0 < best.text_score <= 1
    assert best.score == pytest.approx((best.vector_score + best.text_score) / 2)
    assert all(a.score >= b.score for a, b in itertools.pairwise(hits))
    chunk = Chunk.objects.get(pk=int(best.chunk_id.removeprefix("chk_")))
    assert chunk.text == best.text
    citation = best.citation()
    assert citation == {
        "document_id": doc.pk,
        "document_name": "faq.md",
        "chunk_id": best.chunk_id,
        "position": chunk.position,
        "page": None,
        "score": round(best.score, 4),
        "snippet": best.text[:200],
    }


def test_chinese_questions_find_chinese_passages_through_both_channels(workspace, make_base, ingest_now):
    base = make_base(workspace)
    ingest_now(base, "faq.md", FAQ)
    ingest_now(base, "zh.md", ZH)
    result = search(workspace_id=workspace.pk, knowledge_base_ids=[base.pk], query="发票什么时候发送？")
    best = result.hits[0]
    assert best.heading_path == ("客服手册", "发票") and best.text_rank == 1 and best.vector_rank == 1
    assert {"发票", "发送"} <= set(result.terms)  # CJK bigrams reached the text channel


def test_fusion_lets_the_text_channel_rescue_what_vectors_miss(workspace, make_base, ingest_now):
    base = make_base(workspace)
    ingest_now(base, "faq.md", FAQ)
    ingest_now(base, "codes.txt", "Error E4711 means the payment terminal lost its network connection.")
    hits = retrieve(workspace_id=workspace.pk, knowledge_base_ids=[base.pk], query="what is E4711", top_k=3)
    assert hits[0].text.startswith("Error E4711") and hits[0].text_rank == 1


def test_score_threshold_applies_to_the_fused_score(workspace, make_base, ingest_now):
    base = make_base(workspace)
    ingest_now(base, "faq.md", FAQ)
    everything = retrieve(
        workspace_id=workspace.pk,
        knowledge_base_ids=[base.pk],
        query="express shipping price",
        top_k=10,
        score_threshold=0,
    )
    assert len(everything) >= 2
    cut = (everything[0].score + everything[1].score) / 2
    kept = retrieve(
        workspace_id=workspace.pk,
        knowledge_base_ids=[base.pk],
        query="express shipping price",
        top_k=10,
        score_threshold=cut,
    )
    assert [hit.chunk_id for hit in kept] == [everything[0].chunk_id]
    assert (
        retrieve(
            workspace_id=workspace.pk,
            knowledge_base_ids=[base.pk],
            query="quantum chromodynamics lattice",
            score_threshold=0.3,
        )
        == []
    )


def test_by_default_passages_unrelated_to_the_question_are_left_out(workspace, make_base, ingest_now):
    base = make_base(workspace, embedding_model_id="local-hash-v1", min_score=None)
    ingest_now(base, "faq.md", FAQ)
    zh = ingest_now(base, "zh.md", ZH)
    everything = retrieve(
        workspace_id=workspace.pk,
        knowledge_base_ids=[base.pk],
        top_k=20,
        query="How do I reset my password?",
        score_threshold=0,
    )
    # Without a minimum, the Chinese passages come back although they share nothing with the question.
    unrelated = [hit for hit in everything if hit.document_id == zh.pk]
    assert unrelated and all(hit.score == 0 and hit.text_rank is None for hit in unrelated)
    assert len(everything) == Chunk.objects.filter(knowledge_base=base).count()

    default = retrieve(
        workspace_id=workspace.pk, knowledge_base_ids=[base.pk], top_k=20, query="How do I reset my password?"
    )
    assert default[0].heading_path == ("Help centre", "Accounts")
    assert all(hit.score >= DEFAULT_SCORE_THRESHOLD for hit in default)
    assert zh.pk not in _ids(default) and len(default) < len(everything)
    # The default applies the same way to Chinese: the invoice passage stays, English ones go.
    chinese = retrieve(workspace_id=workspace.pk, knowledge_base_ids=[base.pk], top_k=20, query="发票什么时候发送？")
    assert chinese[0].heading_path == ("客服手册", "发票")
    assert set(_ids(chinese)) == {zh.pk}


def test_the_effective_threshold_is_the_default_for_none_and_zero_means_none():
    assert effective_threshold(None) == DEFAULT_SCORE_THRESHOLD > 0
    assert effective_threshold(0) == 0.0
    assert effective_threshold(0.3) == 0.3
    assert effective_threshold(-1) == 0.0


def test_hit_testing_lists_the_hits_below_the_threshold_marked(workspace, make_base, ingest_now):
    base = make_base(workspace)
    ingest_now(base, "faq.md", FAQ)
    ingest_now(base, "zh.md", ZH)
    result = search(
        workspace_id=workspace.pk,
        knowledge_base_ids=[base.pk],
        query="reset password",
        top_k=20,
        include_below_threshold=True,
    )
    # A new base's own minimum score applies when the caller sets none.
    assert result.score_threshold == base.min_score == RECOMMENDED_MIN_SCORE
    flags = [hit.passes_threshold for hit in result.hits]
    assert flags[0] and not flags[-1]
    assert flags == sorted(flags, reverse=True)  # the passing hits are the best ones
    assert all(hit.passes_threshold == (hit.score >= RECOMMENDED_MIN_SCORE) for hit in result.hits)
    used = retrieve(workspace_id=workspace.pk, knowledge_base_ids=[base.pk], query="reset password", top_k=20)
    assert [hit.chunk_id for hit in result.passing] == [hit.chunk_id for hit in used]
    # top_k counts every hit listed, as it counts the hits a bot gets.
    two = search(
        workspace_id=workspace.pk,
        knowledge_base_ids=[base.pk],
        query="reset password",
        top_k=2,
        score_threshold=0.99,
        include_below_threshold=True,
    )
    assert len(two.hits) == 2 and two.passing == [] and two.score_threshold == 0.99


def test_only_the_requested_bases_of_the_callers_workspace_answer(workspace, other_workspace, make_base, ingest_now):
    bases = [make_base(workspace) for _ in range(4)]
    docs = [
        ingest_now(base, f"faq-{i}.md", FAQ.replace("Help centre", f"Help centre {i}")) for i, base in enumerate(bases)
    ]
    foreign = make_base(other_workspace)
    ingest_now(foreign, "foreign.md", FAQ)
    hits = retrieve(workspace_id=workspace.pk, knowledge_base_ids=[bases[2].pk, foreign.pk], query="refund card")
    assert hits and set(_ids(hits)) == {docs[2].pk}
    assert retrieve(workspace_id=workspace.pk, knowledge_base_ids=[foreign.pk], query="refund card") == []
    assert retrieve(workspace_id=workspace.pk, knowledge_base_ids=[], query="refund card") == []
    assert retrieve(workspace_id=workspace.pk, knowledge_base_ids=[bases[0].pk], query="   ") == []


def test_disabled_documents_and_chunks_are_invisible(workspace, make_base, ingest_now):
    base = make_base(workspace)
    faq = ingest_now(base, "faq.md", FAQ)
    zh = ingest_now(base, "zh.md", ZH)
    services.document_set_enabled(document=faq, enabled=False)
    # No minimum score: every visible chunk answers, whatever its relevance.
    assert set(
        _ids(retrieve(workspace_id=workspace.pk, knowledge_base_ids=[base.pk], query="refund", score_threshold=0))
    ) == {zh.pk}
    services.document_set_enabled(document=faq, enabled=True)
    hits = retrieve(workspace_id=workspace.pk, knowledge_base_ids=[base.pk], query="refund original card")
    top = Chunk.objects.get(pk=int(hits[0].chunk_id[4:]))
    services.chunk_update(chunk=top, enabled=False)
    again = retrieve(workspace_id=workspace.pk, knowledge_base_ids=[base.pk], query="refund original card", top_k=20)
    assert hits[0].chunk_id not in [hit.chunk_id for hit in again]


def test_a_document_mid_ingestion_is_invisible_until_it_is_complete(workspace, make_base, ingest_now):
    base = make_base(workspace, chunk_size=32, chunk_overlap=0)
    ingest_now(base, "faq.md", FAQ)
    document, _ = services.document_create_from_upload(
        knowledge_base=base, file=upload_file("warehouse.txt", b"The warehouse robot Zorblax sorts parcels. " * 30)
    )
    run = ingestion._start(document.pk)
    chunks = chunk_blocks(
        parse(b"The warehouse robot Zorblax sorts parcels. " * 30, "txt").blocks, chunk_tokens=32, overlap_tokens=0
    )
    half = chunks[: len(chunks) // 2]
    chunk_store.write_chunks(
        workspace_id=workspace.pk,
        knowledge_base_id=base.pk,
        document_id=document.pk,
        generation=run.generation,
        dims=384,
        rows=ingestion._rows(half),
        vectors=local_embedder.embed([search_text(c.text, c.heading_path) for c in half]),
    )
    assert Chunk.objects.filter(document=document).count() == len(half)
    assert document.pk not in _ids(
        retrieve(workspace_id=workspace.pk, knowledge_base_ids=[base.pk], query="Zorblax warehouse robot", top_k=20)
    )
    # A worker dying here leaves the run's chunks behind; the next run starts clean and completes.
    assert ingestion.document_ingest(document_id=document.pk) == DocumentStatus.READY
    document.refresh_from_db()
    assert Chunk.objects.filter(document=document).count() == document.chunk_count == len(chunks)
    assert document.pending_generation is None and document.live_generation != run.generation
    hits = retrieve(workspace_id=workspace.pk, knowledge_base_ids=[base.pk], query="Zorblax warehouse robot")
    assert hits[0].document_id == document.pk


def test_a_reindex_swaps_the_whole_index_at_once(workspace, make_base, ingest_now):
    base = make_base(workspace)
    doc = ingest_now(base, "faq.md", FAQ)
    before = set(Chunk.objects.filter(document=doc).values_list("id", flat=True))
    services.document_reindex(document=doc)
    doc.refresh_from_db()
    assert doc.status == "queued" and doc.ingest_request == 2
    # Still answering from the old index while queued.
    assert retrieve(workspace_id=workspace.pk, knowledge_base_ids=[base.pk], query="refund")
    assert ingestion.document_ingest(document_id=doc.pk) == DocumentStatus.READY
    after = set(Chunk.objects.filter(document=doc).values_list("id", flat=True))
    assert after and not after & before
    assert KnowledgeBase.objects.get(pk=base.pk).chunk_count == len(after)
    # A repeated delivery of the finished task does nothing.
    assert ingestion.document_ingest(document_id=doc.pk) == "skipped"


def test_large_bases_use_the_hnsw_index_with_filters(workspace, make_base, ingest_now, settings):
    settings.KNOWLEDGE_EXACT_SEARCH_MAX_CHUNKS = 0
    settings.KNOWLEDGE_LOCAL_EXACT_SEARCH_MAX_CHUNKS = 0
    base, other = make_base(workspace), make_base(workspace)
    ingest_now(base, "faq.md", FAQ)
    ingest_now(other, "zh.md", ZH)
    result = search(workspace_id=workspace.pk, knowledge_base_ids=[base.pk], query="reset password")
    assert [c.strategy for c in result.channels] == ["hnsw", "full-text"]
    assert result.hits[0].heading_path == ("Help centre", "Accounts")
    assert {hit.knowledge_base_id for hit in result.hits} == {base.pk}
    # The scan's settings went with it (local to the transaction, which here is the test's).
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('hnsw.ef_search'), current_setting('hnsw.iterative_scan')")
        assert cursor.fetchone() == (str(settings.KNOWLEDGE_HNSW_EF_SEARCH), "relaxed_order")


def test_bases_with_different_embedding_models_are_searched_together(workspace, make_base, ingest_now, fake_llm):
    from providers import services as provider_services
    from providers.models import ModelKind

    provider = provider_services.provider_create(
        workspace=workspace,
        name="Fake",
        kind="openai_compatible",
        base_url=fake_llm.base_url,
        api_key="sk-fake-test-key",
    )
    model = provider_services.provider_model_create(
        provider=provider, model="fake-embed", kind=ModelKind.EMBEDDING, embedding_dimensions=8
    )
    remote = make_base(workspace, embedding_model_id=model.pk)
    local = make_base(workspace, embedding_model_id="local-hash-v1")
    assert (remote.embedding_dimensions, remote.embedding_model_name) == (8, "fake-embed")
    remote_doc = ingest_now(remote, "faq.md", FAQ)
    ingest_now(local, "zh.md", ZH)
    assert np.asarray(Chunk.objects.filter(document=remote_doc).first().embedding).shape == (8,)
    assert fake_llm.embedding_requests  # the provider embedded the chunks
    result = search(workspace_id=workspace.pk, knowledge_base_ids=[remote.pk, local.pk], query="reset password")
    assert sorted(c.name for c in result.channels) == ["text", "vector:fake-embed", "vector:local-hash-v1"]
    assert result.hits[0].document_id == remote_doc.pk  # the text channel agrees whatever the fake vectors say


def test_document_rows_record_the_live_index(workspace, make_base, ingest_now):
    base = make_base(workspace)
    doc = ingest_now(base, "faq.md", FAQ)
    assert doc.status == "ready" and doc.live_generation is not None and doc.pending_generation is None
    assert doc.chunk_count == Chunk.objects.filter(document=doc).count() == 3
    assert doc.token_count == sum(Chunk.objects.filter(document=doc).values_list("token_count", flat=True))
    services.document_delete(document=doc)
    assert not Chunk.objects.filter(knowledge_base=base).exists()
    assert KnowledgeBase.objects.get(pk=base.pk).chunk_count == 0
    assert not Document.objects.filter(pk=doc.pk).exists()
