"""English and Chinese documents indexed by the real ingest worker with the default (neural) embedder,
then found across languages; a base re-embedded with another model through the worker."""

from __future__ import annotations

import pytest

from knowledge import selectors
from knowledge.models import Chunk, Document
from knowledge.retrieval import search
from tests.knowledge.conftest import upload_file

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

GUIDE_EN = b"""# Orbit guide

## Refunds

Yearly subscriptions can be refunded in full within 14 days of the first payment.

## Webhooks

If your endpoint does not answer within 5 seconds, we retry with exponential backoff for up to 24 hours.
"""

GUIDE_ZH = """# Orbit 指南

## 计划维护

我们在每月第二个星期日凌晨 2:00 到 4:00（北京时间）进行计划维护，
至少提前 72 小时通知。

## 发票

中国大陆客户可以申请增值税专用发票，纸质发票在 7 个工作日内寄出。
""".encode()


def _upload(api, base, name: str, content: bytes) -> str:
    response = api.post(
        f"/api/v1/knowledge-bases/{base.pk}/documents", {"file": upload_file(name, content)}, format="multipart"
    )
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def _best(base, query: str):
    result = search(workspace_id=base.workspace_id, knowledge_base_ids=[base.pk], query=query)
    assert result.hits, query
    return result.hits[0]


def test_the_worker_embeds_english_and_chinese_with_the_default_and_questions_cross_languages(
    celery_worker, workspace, api, make_base, wait
):
    base = make_base(workspace)
    assert base.embedding_model_name == "use-multilingual-v3"
    en = wait(_upload(api, base, "guide-en.md", GUIDE_EN))
    zh = wait(_upload(api, base, "guide-zh.md", GUIDE_ZH))
    assert (en.status, zh.status) == ("ready", "ready"), (en.error_message, zh.error_message)
    assert set(Chunk.objects.filter(knowledge_base=base).values_list("dims", flat=True)) == {512}

    # An English question about a Chinese passage, and the reverse.
    hit = _best(base, "When is the scheduled maintenance window?")
    assert hit.document_id == zh.pk and hit.heading_path[-1] == "计划维护" and hit.passes_threshold
    hit = _best(base, "年付订阅可以退款吗？")
    assert hit.document_id == en.pk and hit.heading_path[-1] == "Refunds" and hit.passes_threshold


def test_the_worker_reembeds_a_lexical_base_with_the_neural_embedder(celery_worker, workspace, api, make_base, wait):
    base = make_base(workspace, embedding_model_id="local-hash-v1")
    en = wait(_upload(api, base, "guide-en.md", GUIDE_EN))
    zh = wait(_upload(api, base, "guide-zh.md", GUIDE_ZH))
    assert (en.status, zh.status) == ("ready", "ready")
    lexical = search(workspace_id=workspace.pk, knowledge_base_ids=[base.pk], query="When is the maintenance window?")
    assert zh.pk not in {hit.document_id for hit in lexical.hits}  # the lexical embedder: no way across

    response = api.post(f"/api/v1/knowledge-bases/{base.pk}/reindex", {"embedding_model": "use-multilingual-v3"})
    assert response.status_code == 202 and response.json()["reindex"]["total"] == 2
    for document in (en, zh):
        assert wait(document.pk, statuses=("ready", "failed")).status == "ready"
    # A document turns ready and stops being stale in one transaction: nothing is left to re-embed.
    assert selectors.knowledge_base_reindex_progress(knowledge_base=base) is None
    assert not Document.objects.filter(knowledge_base=base, embedding_stale=True).exists()
    assert set(Chunk.objects.filter(knowledge_base=base).values_list("dims", flat=True)) == {512}
    assert _best(base, "When is the scheduled maintenance window?").document_id == zh.pk
