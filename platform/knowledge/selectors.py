"""Reads: knowledge bases, documents and chunks of a workspace."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, Q, QuerySet

from knowledge import embedding, retrieval
from knowledge.models import PROCESSING_STATUSES, Chunk, Document, DocumentStatus, KnowledgeBase, chunk_pk


def knowledge_bases_for_workspace(workspace_id: str, ids: Iterable[str]) -> list[KnowledgeBase]:
    """The bases among `ids` that belong to the workspace (others are silently absent), in the
    order the ids were given. Bots validate their configured base ids with this."""
    wanted = [str(value) for value in dict.fromkeys(ids)]
    if not wanted:
        return []
    found = {kb.pk: kb for kb in KnowledgeBase.objects.filter(workspace_id=workspace_id, pk__in=wanted)}
    return [found[pk] for pk in wanted if pk in found]


def knowledge_base_list(*, workspace_id: str) -> QuerySet[KnowledgeBase]:
    return (
        KnowledgeBase.objects.filter(workspace_id=workspace_id)
        .select_related("embedding_model__provider")
        .annotate(
            document_count=Count("documents"),
            processing_count=Count("documents", filter=Q(documents__status__in=PROCESSING_STATUSES)),
            failed_count=Count("documents", filter=Q(documents__status=DocumentStatus.FAILED)),
        )
        .order_by("name")
    )


def knowledge_base_get(*, workspace_id: str, knowledge_base_id: str, with_counts: bool = True) -> KnowledgeBase | None:
    """The base, with its document counts unless they are not needed (one aggregate fewer)."""
    bases = (
        knowledge_base_list(workspace_id=workspace_id)
        if with_counts
        else KnowledgeBase.objects.filter(workspace_id=workspace_id)
    )
    return bases.filter(pk=knowledge_base_id).first()


def document_list(*, knowledge_base: KnowledgeBase, status: str | None = None) -> QuerySet[Document]:
    documents = Document.objects.filter(knowledge_base=knowledge_base)
    if status:
        documents = documents.filter(status=status)
    return documents.order_by("-created_at")


def document_get(*, workspace_id: str, document_id: str) -> Document | None:
    return Document.objects.filter(workspace_id=workspace_id, pk=document_id).select_related("knowledge_base").first()


def chunk_list(
    *, knowledge_base: KnowledgeBase, document_id: str | None = None, include_pending: bool = False
) -> QuerySet[Chunk]:
    """The base's chunks in reading order: each document's live index (not a run in progress)."""
    chunks = Chunk.objects.filter(knowledge_base=knowledge_base).select_related("document")
    if document_id:
        chunks = chunks.filter(document_id=document_id)
    if not include_pending:
        chunks = chunks.exclude(
            generation__in=Document.objects.filter(
                knowledge_base=knowledge_base, pending_generation__isnull=False
            ).values("pending_generation")
        )
    return chunks.defer("embedding", "search_vector").order_by("id")


def knowledge_base_reindex_progress(*, knowledge_base: KnowledgeBase) -> dict | None:
    """How far re-embedding the base with its new model is (None when no document awaits it):
    documents done, failed (they answer through full-text search only) and in all, and a percent
    that counts the chunks already embedded of the documents in progress."""
    stale = Document.objects.filter(knowledge_base=knowledge_base, embedding_stale=True)
    waiting = list(stale.filter(status__in=PROCESSING_STATUSES).values_list("progress_done", "progress_total"))
    if not waiting:
        return None
    total = Document.objects.filter(knowledge_base=knowledge_base).count()
    failed = stale.filter(status=DocumentStatus.FAILED).count()
    done = total - len(waiting) - failed
    partial = sum(min(1.0, part / whole) for part, whole in waiting if whole)
    return {
        "total": total,
        "done": done,
        "failed": failed,
        "percent": int(100 * (done + failed + partial) / max(total, 1)),
    }


def any_processing(*, knowledge_base: KnowledgeBase) -> bool:
    return Document.objects.filter(knowledge_base=knowledge_base, status__in=PROCESSING_STATUSES).exists()


def chunk_get(*, workspace_id: str, chunk_id: str) -> Chunk | None:
    """The chunk with its document and base, without the index columns; None for a malformed id."""
    pk = chunk_pk(chunk_id)
    if pk is None:
        return None
    return (
        Chunk.objects.filter(workspace_id=workspace_id, pk=pk)
        .defer("embedding", "search_vector")
        .select_related("document", "knowledge_base")
        .first()
    )


def knowledge_base_hit_test(
    *, workspace_id: str, knowledge_base: KnowledgeBase, query: str, top_k: int, score_threshold: float | None
) -> retrieval.SearchResult:
    """A search of one base that also lists the hits below the threshold, to tune it by."""
    try:
        return retrieval.search(
            workspace_id=workspace_id,
            knowledge_base_ids=[knowledge_base.pk],
            query=query,
            top_k=top_k,
            score_threshold=score_threshold,
            include_below_threshold=True,
        )
    except embedding.EmbeddingError as exc:
        raise exc.as_domain_error("The query could not be embedded") from exc
