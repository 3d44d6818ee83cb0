"""Celery tasks of knowledge bases, on the `ingest` queue (settings route `knowledge.*` there) so
a bulk import never delays chat turns. Thin: ids in, one call, the retry policy."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from knowledge import chunk_store, embedding, ingestion
from switchboard.leases import held_or_retried

MAX_RETRIES = 5


@shared_task(
    name="knowledge.document_ingest",
    bind=True,
    # Retries are counted by `failures` (outages) or unlimited (waiting for a live lease holder);
    # Celery's default of three would make a copy give up while the holder may still die.
    max_retries=None,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.KNOWLEDGE_INGEST_TIME_LIMIT_SECONDS,
    time_limit=settings.KNOWLEDGE_INGEST_TIME_LIMIT_SECONDS + 60,
)
def document_ingest(self, document_id: str, failures: int = 0) -> str:
    """`failures`: how many earlier attempts met a provider or database outage."""
    # The lease keeps a redelivered copy of a slow ingestion from running beside it; when the
    # holder dies, the lease expires and the copy takes over (the run starts again, cleanly).
    try:
        with held_or_retried(self, f"knowledge-document:{document_id}", args=(document_id, failures)):
            return ingestion.document_ingest(document_id=document_id, final_attempt=failures >= MAX_RETRIES)
    except (embedding.EmbeddingError, OperationalError, InterfaceError) as exc:
        # Raised only while retries are left: a rate limit, a timeout, a provider or the database down.
        raise self.retry(
            countdown=min(300, settings.KNOWLEDGE_RETRY_DELAY_SECONDS * 2**failures),
            exc=exc,
            max_retries=None,
            args=(document_id, failures + 1),
        ) from exc


@shared_task(name="knowledge.vector_index_ensure", acks_late=True)
def vector_index_ensure(dims: int) -> bool:
    return chunk_store.vector_index_ensure(dims=dims)
