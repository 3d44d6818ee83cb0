"""Ingestion with a provider's embedding model through the real worker: provider errors, retries,
and a worker process killed in the middle of a document."""

from __future__ import annotations

import os
import signal
import time

import psutil
import pytest

from knowledge.models import Chunk, Document
from tests.fake_llm import ErrorReply, HangReply
from tests.knowledge.conftest import upload_file

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

LONG_TEXT = "\n\n".join(f"Paragraph {n}: the quarterly report lists revenue for region {n}." for n in range(60))


@pytest.fixture
def provider_base(workspace, fake_llm, make_base):
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
    return make_base(workspace, embedding_model_id=model.pk, chunk_size=32, chunk_overlap=0)


def _upload(api, base, name: str, content: str) -> str:
    response = api.post(
        f"/api/v1/knowledge-bases/{base.pk}/documents",
        {"file": upload_file(name, content.encode())},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def test_a_rejected_key_fails_the_document_and_a_rate_limit_is_retried(
    celery_worker, api, provider_base, fake_llm, wait
):
    fake_llm.script_embeddings(ErrorReply(401))
    refused = wait(_upload(api, provider_base, "a.txt", "First document about invoices."))
    assert refused.status == "failed" and refused.error_code == "provider_auth_error"
    assert "rejected the API key (401)" in refused.error_message
    fake_llm.script_embeddings(ErrorReply(429))
    retried = wait(_upload(api, provider_base, "b.txt", "Second document about receipts."), timeout=30)
    assert retried.status == "ready", retried.error_message
    assert len(fake_llm.embedding_requests) == 3


def test_a_worker_killed_mid_document_leaves_it_retryable(celery_worker, api, provider_base, fake_llm, wait):
    # The first embedding request hangs; the document is half-way when its worker process dies.
    fake_llm.script_embeddings(HangReply(30))
    document_id = _upload(api, provider_base, "report.txt", LONG_TEXT)
    deadline = time.monotonic() + 20
    while Document.objects.get(pk=document_id).status != "embedding" or not fake_llm.embedding_requests:
        assert time.monotonic() < deadline, Document.objects.get(pk=document_id).status
        time.sleep(0.05)
    for child in psutil.Process(celery_worker.ingest.pid).children():
        os.kill(child.pid, signal.SIGKILL)

    document = wait(document_id, timeout=45)
    assert document.status == "ready", document.error_message
    assert Chunk.objects.filter(document_id=document_id).count() == document.chunk_count == document.progress_total
    assert document.pending_generation is None
    assert celery_worker.ingest.running  # the worker itself kept serving
    later = wait(_upload(api, provider_base, "later.txt", "After the crash."))
    assert later.status == "ready"
